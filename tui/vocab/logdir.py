"""Logdir specs: ``path``, ``name:path`` (TensorBoard's ``--logdir_spec`` form), or a URL.

One parser for every room (discovery, ``status``, the status cache, the app), so a spec means
the same thing everywhere:

- A URL (``s3://bucket/x``, ``gs://…``; any ``scheme://``) is a remote logdir, except
  ``file://``, which is a local path.
- ``name:path`` names a logdir, unless the whole spec is an existing path (a directory with a
  ``:`` in its name), the name is empty or holds a path separator, or it looks like a Windows
  drive (``C:\\runs``, ``C:/runs`` on Windows).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import NamedTuple

_URL = re.compile(r"^[a-zA-Z][0-9a-zA-Z.+-]*://")
_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")


def is_url(path: str) -> bool:
    """A remote logdir (``s3://…``, ``gs://…``, ``memory://…``); ``file://`` is local."""
    return bool(_URL.match(path)) and not path.lower().startswith("file://")


class Spec(NamedTuple):
    """A logdir spec split into its name (None when unnamed) and its path or URL (as given)."""

    name: str | None
    path: str


def _is_drive(spec: str) -> bool:
    # ``C:\runs`` is a drive on any system (a POSIX path never starts with a backslash after
    # one letter); ``C:/runs`` only on Windows, where it is the usual spelling.
    return bool(_DRIVE.match(spec)) and (spec[2] == "\\" or os.name == "nt")


def parse_spec(spec: str, exists: Callable[[str], bool] = os.path.exists) -> Spec:
    """``path`` or ``name:path`` -> `Spec` (see the module docstring for the rule).

    Args:
        spec: as given on the command line.
        exists: whether a local path exists (injectable for tests).
    """
    if ":" not in spec or _URL.match(spec) or _is_drive(spec) or exists(spec):
        return Spec(None, spec)
    head, _, tail = spec.partition(":")
    if not head or not tail or "/" in head or "\\" in head or os.sep in head:
        return Spec(None, spec)
    return Spec(head, tail)


def spec_path(spec: str, exists: Callable[[str], bool] = os.path.exists) -> str:
    """The path or URL part of a spec (``name:path`` -> ``path``)."""
    return parse_spec(spec, exists).path


def spec_is_url(spec: str) -> bool:
    """Whether a spec's path is a URL (``runs:s3://b/x`` is)."""
    return is_url(spec_path(spec))
