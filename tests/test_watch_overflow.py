"""The kernel's inotify queue overflowing (events lost) makes the watcher ask for a rescan."""

from __future__ import annotations

import logging
import sys

import pytest
from test_watcher import Recorder

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _overflow(w) -> None:
    """What watchdog's reading thread does when the kernel reports IN_Q_OVERFLOW (wd -1)."""
    from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent

    w._observer._inotify_fd.handle_event(InotifyEvent(-1, InotifyConstants.IN_Q_OVERFLOW, 0, b""))


def test_an_overflow_asks_for_a_rescan_and_the_watcher_goes_on(tmp_path):
    from tui.live.watch_inotify import WATCHDOG_LOG, InotifyWatcher

    (tmp_path / "run").mkdir()
    rec = Recorder()
    with InotifyWatcher([str(tmp_path)], rec) as w:
        assert w.running and rec.rescans == 0
        logging.getLogger(WATCHDOG_LOG).warning("something else")
        assert w.overflows == 0  # not an overflow: nothing asked
        _overflow(w)
        assert rec.wait_for(lambda r: r.rescans >= 1)
        assert w.overflows >= 1 and w.running
        rec.reset()
        (tmp_path / "run" / "events.out.tfevents.1.host").write_bytes(b"")  # still watching
        assert rec.wait_for(lambda r: any(p.endswith("events.out.tfevents.1.host") for p in r.dirty))
    assert not any(type(h).__name__ == "_Overflow" for h in logging.getLogger(WATCHDOG_LOG).handlers), \
        "a stopped watcher stops listening"
