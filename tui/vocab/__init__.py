"""The shared vocabulary every room speaks: severities and verdicts, the one run-state rule,
number / step / duration formatting, logdir specs, exit codes, user regexes (`compile_regex`), and the one way to make
untrusted text safe to show.

A leaf: it imports nothing heavy (no numpy, no Textual), so `status` and the look budget can
use it and still start fast. Everything is re-exported here::

    from tui.vocab import Severity, Verdict, run_state, fmt_step, safe_terminal, parse_spec, EXIT_USAGE
"""

from typing import TYPE_CHECKING

from tui.vocab.exits import EXIT_DAMAGED, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE
from tui.vocab.fmt import fmt_age, fmt_duration, fmt_num, fmt_step, plural
from tui.vocab.lazy import lazy_names
from tui.vocab.logdir import Spec, is_url, parse_spec, spec_is_url, spec_path
from tui.vocab.natural import natural_key
from tui.vocab.regex import PatternError, compile_regex, regex_error
from tui.vocab.safe import has_controls, safe_terminal, safe_tmux

if TYPE_CHECKING:
    from tui.vocab.runstate import (
        DEFAULT_RULE,
        ENDED_AFTER,
        STALL_ALARM,
        STALL_FLOOR,
        STALL_WARN,
        Liveness,
        RunState,
        StallRule,
        liveness,
        run_state,
    )
    from tui.vocab.severity import WORDS, Severity, Verdict, worst

# Imported when first asked for: `ls` uses neither the run-state rule nor severities, and
# making their classes costs ~2 ms of its start-up.
_LAZY = {**dict.fromkeys(("DEFAULT_RULE", "ENDED_AFTER", "STALL_ALARM", "STALL_FLOOR", "STALL_WARN", "Liveness",
                          "RunState", "StallRule", "liveness", "run_state"), "runstate"),
         **dict.fromkeys(("WORDS", "Severity", "Verdict", "worst"), "severity")}
__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "DEFAULT_RULE", "ENDED_AFTER", "EXIT_DAMAGED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE",
    "STALL_ALARM", "STALL_FLOOR", "STALL_WARN", "WORDS",
    "Liveness", "PatternError", "RunState", "Severity", "Spec", "StallRule", "Verdict",
    "compile_regex", "fmt_age", "fmt_duration", "fmt_num", "fmt_step", "has_controls", "is_url", "liveness", "natural_key", "parse_spec",
    "plural", "regex_error", "run_state", "safe_terminal", "safe_tmux", "spec_is_url", "spec_path", "worst",
]
