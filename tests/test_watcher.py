"""The file watcher: inotify and polling report new files, appends and new runs; fallback."""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from eventfiles import Writer

from tui.live import watch_inotify
from tui.live.watcher import Watcher

WAIT = 10.0  # generous upper bound for an event to arrive; tests finish as soon as it does


class Recorder:
    """Collects on_change calls; waits for a condition on what was seen."""

    def __init__(self) -> None:
        self.dirty: set[str] = set()
        self.rescans = 0
        self.calls = 0
        self._cond = threading.Condition()

    def __call__(self, dirty: set[str], rescan: bool) -> None:
        with self._cond:
            self.calls += 1
            self.dirty |= dirty
            self.rescans += bool(rescan)
            self._cond.notify_all()

    def wait_for(self, pred, timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: pred(self), timeout)

    def reset(self) -> None:
        with self._cond:
            self.dirty.clear()
            self.rescans = 0


def _one_event_file(d: Path) -> str:
    files = [p for p in d.iterdir() if "tfevents" in p.name]
    assert len(files) == 1, files
    return str(files[0])


MODES = [pytest.param(None, id="inotify"), pytest.param(0.05, id="polling")]


def _watcher(paths, rec, poll, **kw) -> Watcher:
    # A short directory check so polling tests see new directories quickly.
    return Watcher([str(p) for p in paths], rec, poll_interval=poll,
                   rescan_interval=0.1 if poll else None, **kw)


@pytest.mark.parametrize("poll", MODES)
def test_new_event_file_and_append_are_reported(tmp_path, poll):
    run = tmp_path / "run1"
    run.mkdir()
    rec = Recorder()
    with _watcher([tmp_path], rec, poll) as w:
        assert w.mode == ("polling" if poll else "inotify")
        assert w.fallback_reason is None
        wr = Writer(run)
        wr.scalar("loss", 1.0, 1)
        wr.flush()
        path = _one_event_file(run)
        assert rec.wait_for(lambda r: path in r.dirty and r.rescans), (rec.dirty, rec.rescans)
        rec.reset()
        wr.scalar("loss", 0.5, 2)
        wr.flush()  # an append to a known file: dirty, and no rescan needed
        assert rec.wait_for(lambda r: path in r.dirty)
        assert rec.rescans == 0
        wr.close()
    assert os.path.isabs(path)


@pytest.mark.parametrize("poll", MODES)
def test_new_run_directory_asks_for_rescan(tmp_path, poll):
    (tmp_path / "old").mkdir()
    rec = Recorder()
    with _watcher([tmp_path], rec, poll):
        with Writer(tmp_path / "group" / "new_run") as wr:  # nested: mkdir -p then a file
            wr.scalar("x", 1.0, 0)
        path = _one_event_file(tmp_path / "group" / "new_run")
        assert rec.wait_for(lambda r: r.rescans and path in r.dirty), (rec.dirty, rec.rescans)


@pytest.mark.parametrize("poll", MODES)
def test_vanished_run_and_other_files(tmp_path, poll):
    run = tmp_path / "run"
    with Writer(run) as wr:
        wr.scalar("x", 1.0, 0)
    rec = Recorder()
    with _watcher([tmp_path], rec, poll):
        (run / "notes.txt").write_text("not an event file")
        time.sleep(0.3)  # give a wrong report the time to show up
        assert rec.dirty == set() and rec.rescans == 0
        shutil.rmtree(run)
        assert rec.wait_for(lambda r: r.rescans)


@pytest.mark.parametrize("poll", MODES)
def test_logdir_that_appears_later(tmp_path, poll):
    logdir = tmp_path / "not_yet"
    rec = Recorder()
    with _watcher([logdir], rec, poll) as w:
        with Writer(logdir / "run") as wr:
            wr.scalar("x", 1.0, 0)
        assert rec.wait_for(lambda r: r.rescans)
        rec.reset()
        # Once it exists, its files are watched like any other.
        with Writer(logdir / "run", suffix=".2") as wr:
            wr.scalar("x", 2.0, 1)
        assert rec.wait_for(lambda r: any(p.endswith(".2") for p in r.dirty)), (w.mode, rec.dirty)


def test_burst_of_appends_is_coalesced(tmp_path):
    run = tmp_path / "run"
    wr = Writer(run)
    wr.scalar("x", 0.0, 0)
    wr.flush()
    rec = Recorder()
    with _watcher([tmp_path], rec, None):
        for i in range(200):
            wr.scalar("x", float(i), i + 1)
            wr.flush()
        path = _one_event_file(run)
        assert rec.wait_for(lambda r: path in r.dirty)
    wr.close()
    assert rec.calls < 200  # 200 flushes did not become 200 callbacks


def test_forced_polling_reports_mode_and_no_fallback_reason(tmp_path):
    w = Watcher([str(tmp_path)], Recorder(), poll_interval=2.5)
    w.start()
    w.stop()
    assert (w.mode, w.fallback_reason, w.interval) == ("polling", None, 2.5)


class _FailingObserver:
    """Stands in for watchdog's observer when the kernel refuses watches."""

    def __init__(self, err: int) -> None:
        self.err = err

    def schedule(self, *a, **kw):
        raise OSError(self.err, "inotify watch limit reached")

    def start(self):
        raise AssertionError("not reached")

    def stop(self):
        pass

    def is_alive(self):
        return False


@pytest.mark.parametrize("err, word", [(errno.ENOSPC, "max_user_watches"), (errno.EMFILE, "max_user_instances")])
def test_falls_back_to_polling_when_inotify_fails(tmp_path, err, word):
    run = tmp_path / "run"
    run.mkdir()
    rec = Recorder()
    w = Watcher([str(tmp_path)], rec, observer_factory=lambda: _FailingObserver(err),
                fallback_poll_interval=0.05, rescan_interval=0.1)
    with w:
        assert w.mode == "polling"
        assert "limit" in w.fallback_reason and word in w.fallback_reason
        assert "sysctl" in w.fallback_reason  # says what to do
        with Writer(run) as wr:
            wr.scalar("x", 1.0, 0)
        path = _one_event_file(run)
        assert rec.wait_for(lambda r: path in r.dirty)  # and polling works


def test_falls_back_when_watch_limit_is_hit_silently(tmp_path, monkeypatch):
    # watchdog skips subdirectories it cannot watch without raising; the watcher notices
    # by counting its inotify watches against the directories.
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.setattr(watch_inotify, "_inotify_watch_count", lambda: 1)
    rec = Recorder()
    with Watcher([str(tmp_path)], rec, fallback_poll_interval=0.05) as w:
        assert w.mode == "polling" and "watch limit" in w.fallback_reason


def test_falls_back_while_running_when_new_dirs_exceed_the_limit(tmp_path, monkeypatch):
    rec = Recorder()
    with Watcher([str(tmp_path)], rec, fallback_poll_interval=0.05, rescan_interval=0.1) as w:
        assert w.mode == "inotify"
        monkeypatch.setattr(watch_inotify, "_inotify_watch_count", lambda: 1)
        (tmp_path / "new_run").mkdir()
        assert rec.wait_for(lambda r: w.mode == "polling" and r.rescans)
        assert "watch limit" in w.fallback_reason
        rec.reset()
        with Writer(tmp_path / "new_run") as wr:
            wr.scalar("x", 1.0, 0)
        path = _one_event_file(tmp_path / "new_run")
        assert rec.wait_for(lambda r: path in r.dirty)


def test_real_watch_count_covers_the_directories(tmp_path):
    for i in range(3):
        (tmp_path / f"r{i}" / "sub").mkdir(parents=True)
    with Watcher([str(tmp_path)], Recorder()) as w:
        count = watch_inotify._inotify_watch_count()
        if count is None:
            pytest.skip("no /proc inotify accounting on this platform")
        assert w.mode == "inotify"
        assert count >= 7  # root + 3 runs + 3 subdirs


def test_stop_is_idempotent_joins_and_cannot_restart(tmp_path):
    w = Watcher([str(tmp_path)], Recorder())
    w.stop()  # before start: fine
    with pytest.raises(RuntimeError, match="cannot be restarted"):
        w.start()
    w2 = Watcher([str(tmp_path)], Recorder())
    w2.start()
    w2.start()
    threads = [t for t in threading.enumerate() if t.name == "tbpeek-watcher"]
    w2.stop()
    w2.stop()
    assert all(not t.is_alive() for t in threads)


def test_stop_from_inside_on_change_does_not_deadlock(tmp_path):
    done = threading.Event()
    holder: dict = {}

    def on_change(dirty, rescan):
        holder["w"].stop()
        done.set()

    w = holder["w"] = Watcher([str(tmp_path)], on_change, poll_interval=0.05, rescan_interval=0.05)
    w.start()
    (tmp_path / "run").mkdir()
    assert done.wait(WAIT)
    w.stop()


def test_a_failing_callback_is_logged_and_watching_goes_on(tmp_path, caplog):
    seen = []

    def on_change(dirty, rescan):
        seen.append(dirty)
        if len(seen) == 1:
            raise ValueError("boom")

    run = tmp_path / "run"
    wr = Writer(run)
    with Watcher([str(tmp_path)], on_change, poll_interval=0.05, rescan_interval=0.05) as w:
        wr.scalar("x", 1.0, 0)
        wr.flush()
        deadline = time.monotonic() + WAIT
        while len(seen) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        wr.scalar("x", 2.0, 1)
        wr.flush()
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    wr.close()
    assert len(seen) >= 2 and w.errors == 1
    assert "on_change failed" in caplog.text


def test_bad_poll_interval_is_refused(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        Watcher([str(tmp_path)], Recorder(), poll_interval=0)


# ---- the strategies on their own ----------------------------------------------------------------
def test_each_strategy_is_its_own_class_without_a_mode_flag(tmp_path):
    from tui.live.watch_base import WatcherBase
    from tui.live.watch_inotify import InotifyWatcher
    from tui.live.watch_poll import PollWatcher

    assert issubclass(PollWatcher, WatcherBase) and issubclass(InotifyWatcher, WatcherBase)
    assert (PollWatcher.mode, InotifyWatcher.mode) == ("polling", "inotify")  # class constants
    w = Watcher([str(tmp_path)], Recorder())
    with w:
        assert isinstance(w.strategy, InotifyWatcher)
    with Watcher([str(tmp_path)], Recorder(), poll_interval=0.05) as p:
        assert isinstance(p.strategy, PollWatcher)


def test_poll_watcher_alone_reports_new_files_and_appends(tmp_path):
    from tui.live.watch_poll import PollWatcher

    rec = Recorder()
    with PollWatcher([str(tmp_path)], rec, 0.05, rescan_interval=0.1) as w:
        wr = Writer(tmp_path / "run")
        wr.scalar("x", 1.0, 0)
        wr.flush()
        path = _one_event_file(tmp_path / "run")
        assert rec.wait_for(lambda r: path in r.dirty and r.rescans)
        rec.reset()
        wr.scalar("x", 2.0, 1)
        wr.flush()
        assert rec.wait_for(lambda r: path in r.dirty)
        wr.close()
    assert not w.running


def test_inotify_watcher_alone_says_why_it_cannot_start(tmp_path):
    from tui.live.watch_inotify import InotifyUnavailable, InotifyWatcher

    w = InotifyWatcher([str(tmp_path)], Recorder(), observer_factory=lambda: _FailingObserver(errno.ENOSPC))
    with pytest.raises(InotifyUnavailable, match=r"max_user_watches.*sysctl"):
        w.start()
    assert not w.running


def test_a_very_deep_tree_falls_back_to_polling_and_still_sees_writes(tmp_path):
    # watchdog walks the tree recursively; 1 500 levels exceed Python's recursion limit.
    deep = tmp_path / "deep"
    deep.mkdir()
    for _ in range(1500):
        deep = deep / "d"
        deep.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    rec = Recorder()
    w = Watcher([str(tmp_path)], rec, fallback_poll_interval=0.05, rescan_interval=0.1)
    try:
        _deep_tree_watched(w, rec, run)
    finally:  # shutil.rmtree (pytest's clean-up) recurses too: take it down from the bottom
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


def _deep_tree_watched(w: Watcher, rec: Recorder, run: Path) -> None:
    with w:
        if w.mode == "polling":
            assert "too deep" in w.fallback_reason
        else:  # this watchdog walks iteratively: nothing to fall back from
            assert w.fallback_reason is None
        with Writer(run) as wr:
            wr.scalar("x", 1.0, 0)
        path = _one_event_file(run)
        assert rec.wait_for(lambda r: path in r.dirty)


def _slow_observer(gate: threading.Event):
    """watchdog's real observer, handed over only once `gate` is set (a slow setup)."""
    def make():
        from watchdog.observers import Observer

        assert gate.wait(WAIT)
        return Observer()
    return make


def test_start_in_background_returns_at_once_then_asks_for_a_rescan(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rec, gate = Recorder(), threading.Event()
    w = Watcher([str(tmp_path)], rec, observer_factory=_slow_observer(gate))
    t = w.start_in_background()
    try:
        assert t.is_alive() and not w.running and rec.calls == 0  # still placing the watches
        with Writer(run) as wr:  # written before any watch: only the catch-up can tell
            wr.scalar("x", 1.0, 0)
        gate.set()
        assert rec.wait_for(lambda r: r.rescans == 1)  # watching is in place: "rescan"
        assert w.mode == "inotify" and w.running
        with Writer(run, suffix=".2") as wr:  # from now on, changes are reported as they happen
            wr.scalar("x", 2.0, 1)
        assert rec.wait_for(lambda r: any(p.endswith(".2") for p in r.dirty))
    finally:
        w.stop()
        t.join(WAIT)


def test_stopped_before_the_background_start_began_watches_nothing(tmp_path):
    rec, gate = Recorder(), threading.Event()
    w = Watcher([str(tmp_path)], rec, observer_factory=_slow_observer(gate))
    w.stop()
    t = w.start_in_background()
    gate.set()
    t.join(WAIT)
    assert not t.is_alive() and not w.running and rec.calls == 0


def test_stop_does_not_wait_for_the_watches_being_placed(tmp_path):
    """Quitting while watchdog still places the watches of a big logdir (seconds at 30 000
    runs) returns at once; the setup, once done, stops what it started."""
    from watchdog.observers import Observer

    (tmp_path / "run").mkdir()
    rec, gate = Recorder(), threading.Event()

    def slow():  # the setup lasts until the test ends it (longer than the test waits for stop)
        gate.wait(3 * WAIT)
        return Observer()

    w = Watcher([str(tmp_path)], rec, observer_factory=slow)
    t = w.start_in_background()
    stopper = threading.Thread(target=w.stop)
    try:
        stopper.start()
        stopper.join(WAIT)
        assert not stopper.is_alive() and not gate.is_set(), "stop waited for the setup"
    finally:
        gate.set()
    t.join(WAIT)
    stopper.join(WAIT)
    assert not t.is_alive() and not w.running and rec.calls == 0
