"""The shared vocabulary every room speaks: severities and verdicts, the one run-state rule,
number / step / duration formatting, logdir specs, exit codes, and the one way to make
untrusted text safe to show.

A leaf: it imports nothing heavy (no numpy, no Textual), so `status` and the look budget can
use it and still start fast.
"""
