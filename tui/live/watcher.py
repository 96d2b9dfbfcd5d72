"""The watcher the live session uses: native notifications, polling when they can't serve.

`Watcher` is not a strategy itself: it holds one (`tui.live.watch_inotify.InotifyWatcher` or
`tui.live.watch_poll.PollWatcher`, both `tui.live.watch_base.WatcherBase`) and swaps the
first for the second when native notifications can't start (no inotify, the instance limit
``EMFILE``, the watch limit ``ENOSPC``) or when the watch limit is hit later, as new run
directories appear. The reason, with what to do about it, is in `Watcher.fallback_reason`.

Start the watcher *before* the first full read of the logdirs: every change after
`Watcher.start` returns is reported, so nothing written in between is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from tui.live.watch_base import OnChange, WatcherBase, is_event_file, log
from tui.live.watch_inotify import InotifyUnavailable, InotifyWatcher, ObserverFactory
from tui.live.watch_poll import PollWatcher

__all__ = ["DEFAULT_FALLBACK_POLL_INTERVAL", "OnChange", "Watcher", "is_event_file"]

DEFAULT_FALLBACK_POLL_INTERVAL = 1.0  # seconds, when native notifications are not available


class Watcher:
    """Watch logdirs recursively and report changed event files.

    Args:
        paths: logdir directories (need not exist yet; they are picked up when they appear).
        on_change: called as ``on_change(dirty_event_files, rescan_needed)`` from a watcher
            thread, never concurrently with itself (see `tui.live.watch_base`). An exception it
            raises is logged and watching goes on.
        poll_interval: poll every this many seconds instead of using native notifications.
        rescan_interval: polling only: seconds between directory checks (default
            ``max(2 × poll_interval, 2)``); a full walk happens every 10 of them.
        observer_factory: makes the watchdog observer (tests inject failing ones).
        fallback_poll_interval: the polling interval used after a fallback.

    Attributes:
        fallback_reason: why native notifications are not used, or None. Set when polling was
            not asked for; it can change while running (read it in ``on_change``).
    """

    def __init__(
        self,
        paths: Iterable[str],
        on_change: OnChange,
        poll_interval: float | None = None,
        *,
        rescan_interval: float | None = None,
        observer_factory: ObserverFactory | None = None,
        fallback_poll_interval: float = DEFAULT_FALLBACK_POLL_INTERVAL,
    ) -> None:
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(f"poll interval must be a positive number of seconds, not {poll_interval!r}")
        if rescan_interval is not None and not rescan_interval > 0:
            raise ValueError(f"rescan interval must be positive, not {rescan_interval!r}")
        self.paths = list(paths)
        self.on_change = on_change
        self.poll_interval = poll_interval
        self.fallback_reason: str | None = None
        self._rescan_interval = rescan_interval
        self._observer_factory = observer_factory
        self._fallback_interval = fallback_poll_interval
        self._lock = threading.Lock()  # the strategy in use, started / stopped
        self._serial = threading.Lock()  # on_change never runs twice at once, even mid-swap
        self._strategies: list[WatcherBase] = []  # every one started; the last is in use
        self._started = self._stopped = False

    @property
    def strategy(self) -> WatcherBase | None:
        """The strategy in use (None before `start`)."""
        return self._strategies[-1] if self._strategies else None

    @property
    def mode(self) -> str:
        """``"inotify"`` (native notifications) or ``"polling"``."""
        s = self.strategy
        if s is not None:
            return s.mode
        return PollWatcher.mode if self.poll_interval is not None else InotifyWatcher.mode

    @property
    def interval(self) -> float:
        """The polling interval in use (or that a fallback would use)."""
        return self.poll_interval if self.poll_interval is not None else self._fallback_interval

    @property
    def errors(self) -> int:
        """``on_change`` calls that raised."""
        return sum(s.errors for s in self._strategies)

    @property
    def running(self) -> bool:
        return any(s.running for s in self._strategies)

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (returns once watching is in place). A second call does nothing."""
        with self._lock:
            if self._started:
                if self._stopped:
                    raise RuntimeError("a stopped Watcher cannot be restarted: make a new one")
                return
            self._started = True
            if self.poll_interval is not None:
                self._begin(self._poller(self.poll_interval))
                return
        native = InotifyWatcher(self.paths, self._deliver, on_limit=self._limit_hit,
                                observer_factory=self._observer_factory,
                                fallback_interval=self._fallback_interval)
        # Placing the watches takes seconds on a big logdir (30 000 runs: watchdog walks 60 000
        # directories): outside the lock, so `stop` (the app quitting) doesn't wait for it.
        try:
            native.start()
        except InotifyUnavailable as e:
            with self._lock:
                if not self._stopped:
                    self._fall_back(e.reason, rescan=False)
            return
        with self._lock:
            if not self._stopped:
                self._strategies.append(native)
                return
        native.stop()  # stopped meanwhile: nothing to watch

    def start_in_background(self) -> threading.Thread:
        """Start watching from a thread and return at once; once watching is in place, one
        ``on_change(set(), rescan=True)`` says that anything may have changed meanwhile.

        Placing a watch on every directory of a big logdir takes a while (3 000 runs: about
        0.5 s), and the caller (the app, before its first frame) should not wait for it; the
        catch-up call makes up for writes made before a directory's watch was in place.
        """
        def run() -> None:
            try:
                self.start()
            except RuntimeError:  # stopped before it began: nothing to watch
                return
            with self._lock:
                if self._stopped:
                    return
            self._deliver(set(), True)

        t = threading.Thread(target=run, name="tbpeek-watcher-setup", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        """Stop watching and join the threads. Idempotent; safe to call from ``on_change``."""
        with self._lock:
            self._stopped = self._started = True
            strategies = list(self._strategies)
        for s in strategies:
            s.stop()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- strategies ----------------------------------------------------------------------
    def _poller(self, interval: float) -> PollWatcher:
        return PollWatcher(self.paths, self._deliver, interval, rescan_interval=self._rescan_interval)

    def _begin(self, strategy: WatcherBase) -> None:
        strategy.start()
        self._strategies.append(strategy)

    def _fall_back(self, reason: str, rescan: bool) -> None:
        """Switch to polling (under `_lock`); `rescan`: events may have been missed."""
        log.warning("tbpeek watcher: %s", reason)
        self.fallback_reason = reason
        poller = self._poller(self._fallback_interval)
        if rescan:
            poller.mark((), rescan=True)
        self._begin(poller)

    def _limit_hit(self, reason: str) -> None:
        """The native strategy ran out of watches (its own thread; it stops after this)."""
        with self._lock:
            if not self._stopped:
                self._fall_back(reason, rescan=True)

    def _deliver(self, dirty: set[str], rescan: bool) -> None:
        with self._serial:
            self.on_change(dirty, rescan)
