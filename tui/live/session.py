"""The live session: the ingestor, the watcher, the judge and the look budget, without Textual.

Threads:

- the watcher's thread only records dirty paths and wakes the ingest loop (`Watcher`);
- one ingest loop (`LiveSession.ingest_loop`, run by the app in a thread worker) reads files
  into the store, judges the runs that changed and emits events (`tui.live.events`);
- the UI thread hands each event back to `LiveSession.receive`, which moves `version` (screens
  redraw when it moves) and feeds the look budget; everything the screens read is either
  replaced whole under a lock (the judge's views) or changed only on the UI thread.

Nothing here touches a widget, so the whole flow is tested without a terminal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from itertools import pairwise
from typing import Protocol

from tui.health import HealthOptions, RunHealth
from tui.live.alerts import Alerter
from tui.live.events import IngestProblem, LiveEvent, RunsChanged, WatchModeChanged
from tui.live.gate import GateController, GateUI
from tui.live.model import thousands
from tui.live.run_notes import RunNotes
from tui.live.view_state import ViewState
from tui.live.views import Judge
from tui.live.watcher import Watcher
from tui.looks.policy import LookBudget
from tui.looks.settings import BudgetSettings
from tui.notes import Note
from tui.report.review_model import Review
from tui.store import Store
from tui.vocab import spec_is_url

URL_POLL = 10.0  # seconds between polls of logdirs that can't be watched (object stores)
REJUDGE_EVERY = 30.0  # seconds: re-judge idle runs so age-based verdicts (stalls) appear
IDLE_WAIT = 5.0  # seconds the loop sleeps when nothing wakes it (it re-judges on the way)
LOAD_STEPS = 20  # the first read is done in about this many parts, each shown as progress
LOAD_MIN_RUNS = 50  # runs per part at least (few parts: bulk reading stays fast)
FIRST_PART = 50  # the first part is small: a screenful of rows, read and judged first

Emit = Callable[[LiveEvent], None]


class IngestorLike(Protocol):
    """What the session needs of `tui.ingest.Ingestor` (tests pass small fakes)."""

    def watch_paths(self) -> list[str]: ...

    def rescan(self) -> Iterable[str]: ...

    def poll(self, paths: Iterable[str] | None = None) -> object: ...


@dataclass(frozen=True)
class ReviewResult:
    """A review built off the UI thread, or the error that stopped it (what and where)."""

    review: Review | None = None
    error: str | None = None


class LiveSession:
    """One live view of some logdirs.

    Args:
        store: the store the screens read; a prefilled one runs without disk.
        ingestor: reads the logdirs into `store`; None: nothing is read or watched.
        logdirs: the logdirs (given to the look budget and the ``--on-alarm`` command).
        health: the health engine's options.
        clock: "now" in epoch seconds (tests freeze it).
        poll: poll every this many seconds instead of using native notifications.
        emit: where events go (any thread); the app posts them to its UI thread.

    Attributes:
        version: moves whenever what the screens show changed: runs judged, the watch mode,
            the notes. The one counter screens compare to decide to redraw.
        view: what the person chose to see (sort, picks, folding); its own `version`.
        notes: the run notes.
        gate: the look budget's controller (after `start_budget`), or None.
        watch_mode / watch_reason: "inotify" or "polling", and why it fell back.
        loading: (runs read, of how many) while the first read runs, else None (see
            `loading_status`).
        logdir_problems: what is wrong outside every run (a directory that can't be listed,
            a remote listing that failed), one line each (see `problem_status`); a run's own
            problems are in its `RunView.problems`.
    """

    def __init__(self, store: Store, ingestor: IngestorLike | None = None, *, logdirs: Iterable[str] = (),
                 health: HealthOptions | None = None, clock: Callable[[], float] = time.time,
                 poll: float | None = None, emit: Emit | None = None) -> None:
        self.store = store
        self.ingestor = ingestor
        self.logdirs = [str(p) for p in logdirs]
        self.health = health or HealthOptions()
        self.clock = clock
        self.poll = poll
        self.emit: Emit = emit or (lambda event: None)
        self.judge = Judge(self.health, clock=clock)
        self.view = ViewState()
        self.notes = RunNotes(store)
        self.gate: GateController | None = None
        self.version = 0
        self.watch_mode = "inotify" if poll is None else "polling"
        self.watch_reason: str | None = None
        self.watcher: Watcher | None = None
        self._make_watcher = Watcher  # read at construction: tests swap the module's Watcher
        self._posted_mode: tuple[str, str | None] = (self.watch_mode, None)
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pending: set[str] = set()  # dirty files from the watcher
        self._pending_rescan = False
        self._changed_runs: set[str] = set()  # judged, not yet taken by the UI thread
        self._stopping = False
        self._watch_later = False  # the watcher waits for the first rows (`start_watching`)
        self._notified_problems: set[tuple[str, str, str]] = set()
        self.loading: tuple[int, int | None] | None = None  # (runs read, of) during the first read
        self.logdir_problems: tuple[str, ...] = ()  # problems outside every run, in words

    # ---- watching and the ingest loop ----------------------------------------------------
    def start_watching(self, after_first_rows: bool = False) -> None:
        """Start the watcher: in the background; once its watches are in place it asks for a
        rescan, so nothing written before (or during the first read) is lost.

        Call `ingest_loop` next, in a thread. Logdirs that can't be watched (only URLs:
        s3://, gs://…) are polled by the loop on a timer.

        Args:
            after_first_rows: place the watches once the first read's first part is read and
                judged (the app: placing 60 000 watches beside the first read doubled the time
                to the first rows of 30 000 runs, 1.5 s -> 3.7 s); writes meanwhile are caught
                by the watcher's rescan as ever.
        """
        if self.ingestor is None:
            return
        paths = list(self.ingestor.watch_paths())
        if paths:
            self.watcher = self._make_watcher(paths, self._on_fs_change, poll_interval=self.poll)
            if after_first_rows:
                self._watch_later = True
            else:
                self._start_watcher()
            self._report_mode()
        else:
            self.emit(WatchModeChanged("polling", None))

    def _start_watcher(self) -> None:
        # Placing the watches takes a while on a big logdir: not on the UI's thread. The
        # watcher says "rescan" once they are in place (writes meanwhile are not lost).
        self._watch_later = False
        w = self.watcher
        if w is not None and not self._stopping:
            getattr(w, "start_in_background", w.start)()

    def _on_fs_change(self, paths: set[str], rescan: bool) -> None:
        """The watcher's thread: only record and wake the ingest loop."""
        with self._lock:
            self._pending |= paths
            self._pending_rescan |= rescan
        self._wake.set()

    def ingest_loop(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Read, judge and emit until `stop` (or `cancelled()`); run it in one thread.

        An exception escapes (the app's worker shows it and restarts the loop).
        """
        if self.ingestor is None:
            return
        self.first_ingest()
        if self._watch_later:  # a small logdir: read in one go
            self._start_watcher()
        last_judge = time.monotonic()
        # Logdirs that can't be watched are polled on a timer, also when local ones beside
        # them are watched.
        timer_poll = self.watcher is None or any(spec_is_url(ld) for ld in self.logdirs)
        wait = (self.poll or URL_POLL) if timer_poll else IDLE_WAIT
        while not cancelled() and not self._stopping:
            woke = self._wake.wait(timeout=wait)
            self._wake.clear()
            if cancelled() or self._stopping:
                return
            with self._lock:
                paths, rescan = self._pending, self._pending_rescan
                self._pending, self._pending_rescan = set(), False
            if timer_poll and not woke:
                paths, rescan = set(), True
            if paths or rescan:
                self.ingest_once(paths, rescan)
            if time.monotonic() - last_judge >= REJUDGE_EVERY:
                # Runs that stopped writing change no data, yet their verdict (stalled) and
                # state age with the clock: re-judge everything now and then.
                self.rejudge_all()
                last_judge = time.monotonic()
            self._report_mode()  # the watcher may have fallen back to polling meanwhile

    def first_ingest(self) -> None:
        """The first read of the logdirs, in parts, so loading is visible: `loading_status`
        says "reading 1 200 of 3 000 runs" meanwhile, and the runs read so far are shown."""
        ing = self.ingestor
        if ing is None:
            return
        self.loading = (0, None)
        self._announce([])
        new = self._rescan()
        parts = self._load_parts(ing)
        total = sum(len(runs) for runs, _ in parts)
        if total:
            self.loading = (0, total)
            self._announce([])
        done = 0
        for runs, paths in parts:
            if self._stopping:
                return
            ing.poll(paths)
            done += len(runs)
            self.loading = (done, total)
            # Only this part's runs: the runs not read yet are judged when they are (judging
            # 2 950 empty runs before the first 50 rows cost 0.5 s; 30 000 runs: seconds).
            self._judged(new, always=True, runs=runs)
            if self._watch_later:  # the first rows are on their way to the screen
                self._start_watcher()
        ing.poll(None)  # every file, also those found while reading (cheap: read to their end)
        self.loading = None
        self._judged(new, always=True)

    @staticmethod
    def _load_parts(ing: IngestorLike) -> list[tuple[list[str], list[str]]]:
        """The known runs' event files in parts of at least `LOAD_MIN_RUNS` runs, about
        `LOAD_STEPS` parts, the first only `FIRST_PART` runs (the first screenful shows while
        the rest is read); none when the ingestor can't list its files or there are few."""
        states = getattr(ing, "file_states", None)
        if not callable(states):
            return []
        by_run: dict[str, list[str]] = {}
        for st in states():
            by_run.setdefault(st.run, []).append(st.path)
        runs = list(by_run)
        if len(runs) <= LOAD_MIN_RUNS:
            return []
        step = max(LOAD_MIN_RUNS, -(-len(runs) // LOAD_STEPS))
        cuts = sorted({0, FIRST_PART, *range(step, len(runs), step), len(runs)})
        return [(runs[a:b], [p for r in runs[a:b] for p in by_run[r]]) for a, b in pairwise(cuts)]

    def loading_status(self) -> str:
        """"reading 1 200 of 3 000 runs" while the first read runs ("looking for runs…"
        before the runs are known); "" once it is done."""
        loading = self.loading
        if loading is None:
            return ""
        done, total = loading
        if total is None:
            return "looking for runs…"
        return f"reading {thousands(done)} of {thousands(total)} runs"

    def _rescan(self) -> list[str]:
        from tui.ingest import LogdirError

        assert self.ingestor is not None
        try:
            new = list(self.ingestor.rescan())
        except LogdirError as e:
            self.emit(IngestProblem(str(e), "error"))
            new = []
        self._check_logdir_problems()
        return new

    def _check_logdir_problems(self) -> None:
        """Directories that can't be listed belong to no run: kept for the status line, and
        each new one said once (`tui.ingest.Ingestor.problems`)."""
        get = getattr(self.ingestor, "problems", None)
        if not callable(get):
            return
        texts = tuple(str(getattr(p, "advice", None) or getattr(p, "message", p)) for p in get())
        if texts == self.logdir_problems:
            return
        for text in texts:
            if text not in self.logdir_problems:
                self.emit(IngestProblem(text, "warning"))
        self.logdir_problems = texts
        self._announce([])

    def problem_status(self) -> str:
        """"! 1 directory can't be read" while problems outside every run last; "" otherwise
        (the notice said which; each run's problems are on its row and in its detail)."""
        n = len(self.logdir_problems)
        if not n:
            return ""
        return f"! {n} {'directory' if n == 1 else 'directories'} can't be read"

    def ingest_once(self, paths: set[str] | None, rescan: bool) -> None:
        """Read what changed, judge the runs it touched, emit what the UI needs."""
        ing = self.ingestor
        if ing is None:
            return
        new = self._rescan() if rescan else []
        ing.poll(None if rescan or not paths else sorted(paths))
        self._judged(new)

    def _judged(self, new: list[str], always: bool = False, runs: list[str] | None = None) -> None:
        """Judge `runs` (default: those whose store version moved) and announce them (and
        their problems)."""
        # Every run whose store version moved: new points, and also problems a rescan recorded
        # (a vanished directory changes no data but must reach the screen).
        judged = self.judge.update_store(self.store, runs=runs)
        if not judged and not new and not always:
            return
        for run in judged:
            view = self.judge.view(run)
            for key, msg in (view.problems.items() if view else ()):
                if (run, key, msg) not in self._notified_problems:  # once per distinct problem
                    self._notified_problems.add((run, key, msg))
                    self.emit(IngestProblem(f"{run}: {msg}", "warning"))
        self._announce(judged)

    def rejudge_all(self) -> None:
        """Judge every run again, changed or not: stalls and endings come with the clock (all
        but the runs that ended and haven't written since: `Judge.aging`). Nothing judged,
        nothing announced: 30 000 ended runs were redrawn (and sorted) every 30 s for nothing."""
        judged = self.judge.update_store(self.store, runs=self.judge.aging(self.store))
        if judged:
            self._announce(judged)

    def refresh_from_store(self) -> None:
        """Judge the runs whose store version moved, now (a store filled by the caller)."""
        self._announce(self.judge.update_store(self.store))

    def _announce(self, runs: Iterable[str]) -> None:
        with self._lock:
            self._changed_runs.update(runs)
        self.emit(RunsChanged(self.store.version))

    def _report_mode(self) -> None:
        """Emit the watcher's mode when it changed (any thread: only reads and emits)."""
        w = self.watcher
        if w is None:
            return
        mode = (w.mode, w.fallback_reason)
        if mode != self._posted_mode:
            self._posted_mode = mode
            self.emit(WatchModeChanged(*mode))

    def stop(self) -> None:
        """End the session: an open look ends (and is logged), the loop and the watcher stop."""
        if self.gate is not None:
            self.gate.stop()
        self._stopping = True
        self._wake.set()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    # ---- the UI thread -------------------------------------------------------------------
    def receive(self, event: LiveEvent) -> None:
        """Take an event back on the UI thread: move `version`, feed the look budget."""
        if isinstance(event, RunsChanged):
            with self._lock:
                runs, self._changed_runs = self._changed_runs, set()
            self.changed()
            if self.gate is not None and runs:
                self._feed_gate([h for h in (self.judge.health(r) for r in sorted(runs)) if h is not None])
        elif isinstance(event, WatchModeChanged):
            self.watch_mode, self.watch_reason = event.mode, event.reason
            self.changed()

    def changed(self) -> None:
        """What the screens show changed (the UI thread): they redraw."""
        self.version += 1

    def notes_loaded(self, notes: Mapping[str, Note]) -> None:
        """The notes read from the state directory (run path -> note)."""
        self.notes.loaded(notes)
        self.changed()

    def note_saved(self, note: Note) -> None:
        self.notes.saved(note)
        self.changed()

    # ---- the look budget -----------------------------------------------------------------
    def start_budget(self, settings: BudgetSettings, ui: GateUI, *, alerter: Alerter | None = None,
                     on_alarm_look: Callable[[str], None] | None = None,
                     busy: Callable[[], bool] | None = None, show_countdown: bool = False,
                     tz: tzinfo | None = None) -> GateController:
        """Put the look budget's gate over the charts (the UI thread, after the first screen).

        `show_countdown`: a per-second countdown (``--countdown``); else clock times only."""
        budget = LookBudget(settings, logdirs=self.logdirs, clock=self.clock)
        budget.set_runs(self.store.runs())
        alerter = alerter or Alerter(on_alarm=settings.on_alarm, logdirs=self.logdirs)
        self.gate = GateController(ui, budget, alerter, on_alarm_look=on_alarm_look, busy=busy,
                                   show_countdown=show_countdown, tz=tz)
        self.gate.start()
        healths = [h for h in (self.judge.health(r) for r in self.store.runs()) if h is not None]
        if healths:  # a prefilled store: judged before the gate existed
            self._feed_gate(healths)
        return self.gate

    def _feed_gate(self, healths: list[RunHealth]) -> None:
        """A run that has ended (its writer exited, or silent for `ended_after`) is history, not
        news: its alarms are in the overview and the review, but never break through or ring.
        Ended is `RunHealth.state`, the state the overview's column shows (`RunView.state`)."""
        gate = self.gate
        if gate is None:
            return
        gate.budget.set_runs(self.store.runs())
        gate.on_health([h for h in healths if h.state != "ended"])

    @property
    def charts_resting(self) -> bool:
        """The look budget's gate is up: nothing that shows curves, values or verdicts may open."""
        return self.gate is not None and self.gate.blocking

    def look_status(self) -> str:
        """"look until 16:37 (e: end now)" while a budgeted look is open; "" otherwise."""
        return "" if self.gate is None else self.gate.look_status(self.clock())

    # ---- the review ----------------------------------------------------------------------
    def build_review(self, since: str, seed_pattern: str | None) -> ReviewResult:
        """Judge and summarise every run since `since` (e.g. "24h"; any thread): the live
        verdict histories are reused, so no run is replayed twice."""
        from tui.looks.log import read_looks
        from tui.report.review import build_review, parse_since

        now = self.clock()
        since_t = parse_since(since, now)
        looks, looks_error = None, None
        try:
            looks = read_looks(since=since_t)
        except OSError as e:
            looks_error = f"{e.filename or 'look log'}: {e.strerror or e}"
        try:
            review = build_review(self.store.snapshots(), since=since_t, now=now, opts=self.health,
                                  looks=looks, looks_error=looks_error, histories=self.judge.histories(),
                                  seed_pattern=seed_pattern)
        except OSError as e:  # the notes directory can't be read
            return ReviewResult(error=f"can't read {e.filename or 'the notes'}: {e.strerror or e}. "
                                      "Check that the state directory is readable.")
        return ReviewResult(review)
