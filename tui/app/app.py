"""The Textual application: themes, the watcher, the ingest worker, and the screen stack.

Threads: the watcher's thread only records dirty paths and wakes the ingest worker; the one
ingest worker (a Textual thread worker) reads files into the store, judges the runs that
changed and posts `StoreChanged`; screens redraw on their own timers (at most twice a
second), only rows whose run version changed. No widget is ever touched from a thread.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from tui.app.messages import IngestProblem, NotesLoaded, ReviewBuilt, StoreChanged, WatchModeChanged
from tui.app.model import SORTS, run_state
from tui.app.themes import DEFAULT_THEME, load_themes, verdict_colors
from tui.app.views import Judge
from tui.health.options import HealthOptions
from tui.store import Store
from tui.vocab import spec_is_url

COMPACT_WIDTH = 80
COMPACT_HEIGHT = 20
URL_POLL = 10.0  # seconds between polls of logdirs that can't be watched (object stores)
REJUDGE_EVERY = 30.0  # seconds: re-judge idle runs so age-based verdicts (stalls) appear
PALETTE_VARS = ("primary", "warning", "success", "accent", "secondary", "error")
REVIEW_SINCE = "24h"  # the period of the in-app review (`r`)
REVIEW_NOTICE_AFTER = 0.4  # seconds: say "building the review…" only when it takes longer


@dataclass
class AppOptions:
    """How the app runs.

    Attributes:
        theme: a theme name (None: the config's ``[ui] theme`` or tbpeek-dark).
        poll: poll every this many seconds instead of using inotify.
        health: the health engine's options.
        clock: "now" in epoch seconds (tests freeze it so ages don't move).
        theme_dirs: where theme files are read (None: shipped, source, user config).
        refresh: seconds between redraw checks (the UI redraws at most this often).
        compact: force the compact layout (True/False) or choose by size (None).
        budget: the look budget's `BudgetSettings` (None: no budget, nothing logged; a
            disabled one: charts always shown, the session logged as ``budget_off``).
        seed_pattern: the seed regex of seed groups (config ``[groups] seed_pattern``; None:
            `tui.groups.DEFAULT_SEED_PATTERN`).
    """

    theme: str | None = None
    poll: float | None = None
    health: HealthOptions = field(default_factory=HealthOptions)
    clock: Callable[[], float] = time.time
    theme_dirs: list[Path] | None = None
    refresh: float = 0.5
    compact: bool | None = None
    budget: Any = None
    seed_pattern: str | None = None


class TbpeekApp(App[int]):
    """tbpeek's live view of TensorBoard logdirs.

    Args:
        logdirs: the logdirs watched (only shown in the title when `ingestor` is None).
        options: see `AppOptions`.
        store: the store the screens read; a prefilled one runs the app without disk.
        ingestor: reads the logdirs into `store`; None: nothing is read or watched.
    """

    CSS_PATH = "app.tcss"
    TITLE = "tbpeek"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("t", "change_theme", "Theme", show=False),
        Binding("e", "end_look", "End look", show=False),
        Binding("r", "review", "Review"),
    ]

    def __init__(self, logdirs: Iterable[str] = (), options: AppOptions | None = None, *,
                 store: Store | None = None, ingestor: Any = None) -> None:
        super().__init__()
        self.logdirs = [str(p) for p in logdirs]
        self.options = options or AppOptions()
        self.store = store if store is not None else Store()
        self.ingestor = ingestor
        self.judge = Judge(self.options.health, clock=self.options.clock)
        self.selected: dict[str, None] = {}  # runs picked for overlays, in picking order
        # Called on the UI thread with the `RunHealth` of the runs just judged (e.g. the look
        # budget's GateController.on_health); add with `health_listeners.append(fn)`.
        self.health_listeners: list[Callable[[list[Any]], None]] = []
        self._colors: dict[str, int] = {}  # run -> palette index, stable for the session
        self.sort = "worst"
        self.watch_mode = "inotify" if self.options.poll is None else "polling"
        self.watch_reason: str | None = None
        self.data_version = 0  # bumped on every StoreChanged; screens redraw when it moves
        self._watcher: Any = None
        self._posted_mode: tuple[str, str | None] = (self.watch_mode, None)
        self._wake = threading.Event()
        self._pending_lock = threading.Lock()
        self._pending: set[str] = set()
        self._pending_rescan = False
        self._ingest_stopping = False
        self._notified_problems: set[tuple[str, str, str]] = set()
        self.gate: Any = None  # the look budget's GateController, when a budget is set
        # Issue 6: seed groups folded on the overview (`g`), run notes (`n`), the review (`r`).
        self.fold_groups = False
        self.notes: dict[str, Any] = {}  # run path (tui.notes.run_key) -> Note
        self.notes_version = 0  # bumped when `notes` changes; screens redraw notes when it moves
        self._seed_rx: re.Pattern | None = None
        self._noted: tuple[tuple, frozenset[str]] = ((), frozenset())
        loaded = load_themes(self.options.theme_dirs)
        self.theme_problems = list(loaded.problems)
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self._initial_theme = self._pick_theme()
        if self.logdirs:
            self.sub_title = " ".join(self.logdirs)

    # ---- themes -------------------------------------------------------------------------
    def _pick_theme(self) -> str:
        wanted = self.options.theme
        if wanted is None:
            wanted = DEFAULT_THEME
        if wanted in self.available_themes:
            return wanted
        self.theme_problems.append(
            f"unknown theme {wanted!r}; using {DEFAULT_THEME}. Themes: {', '.join(sorted(self.available_themes))}")
        return DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        # Verdict colours for themes that don't define them (Textual's built-in ones).
        for key, value in verdict_colors(self.current_theme).items():
            variables.setdefault(key, value)
        return variables

    def verdict_styles(self) -> dict[str, str]:
        """Colours (hex) of the current theme for badges: ok, info, warn, alarm, muted."""
        return verdict_colors(self.current_theme)

    def run_color(self, run: str) -> str:
        """A colour for `run` in overlays, stable for the whole session."""
        idx = self._colors.setdefault(run, len(self._colors))
        theme = self.current_theme
        colors = [getattr(theme, k) for k in PALETTE_VARS if getattr(theme, k, None)]
        return colors[idx % len(colors)]

    # ---- lifecycle ----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.theme = self._initial_theme
        for text in self.theme_problems:
            self.notify(text, title="Theme", severity="warning", timeout=10)
        self.judge.update_store(self.store)
        from tui.app.screens.overview import OverviewScreen

        self.push_screen(OverviewScreen())
        if self.options.budget is not None:
            self._start_budget()
        self._load_notes()
        if self.ingestor is not None:
            self._start_watching()

    def _start_budget(self) -> None:
        """Put the look budget's gate over the charts (after the first screen is pushed)."""
        from tui.app.alerts import Alerter
        from tui.app.screens.gate import GateController
        from tui.looks.policy import LookBudget

        settings = self.options.budget
        budget = LookBudget(settings, logdirs=self.logdirs, clock=self.options.clock)
        budget.set_runs(self.store.runs())
        alerter = Alerter(bell=self.bell, on_alarm=settings.on_alarm, logdirs=self.logdirs)
        self.gate = GateController(self, budget, alerter, on_alarm_look=self._show_alarm_run,
                                   busy=self._writing_note)
        self.gate.start()
        self.health_listeners.append(self._judged_for_gate)
        healths = [h for h in (self.judge.health(r) for r in self.store.runs()) if h is not None]
        if healths:  # a prefilled store: judged before the gate existed
            self._judged_for_gate(healths)

    def _judged_for_gate(self, healths: list[Any]) -> None:
        """Feed the look budget. A run that ended long ago (no writes for `ended_after`) is
        history, not news: its alarms are in the overview and the review, but never ring."""
        self.gate.budget.set_runs(self.store.runs())
        now = self.options.clock()
        ended_after = self.options.health.thresholds.ended_after
        live = []
        for h in healths:  # the same rule as the overview's state column
            view = self.judge.view(h.run)
            age = view.age(now) if view is not None else None
            if age is None or run_state(age, ended_after) != "ended":
                live.append(h)
        self.gate.on_health(live)

    def _writing_note(self) -> bool:
        from tui.app.screens.note import NoteScreen

        return isinstance(self.screen, NoteScreen)

    def _show_alarm_run(self, run: str) -> None:
        """A breakthrough: lead with the alarmed run's charts."""
        from tui.app.screens.detail import DetailScreen

        if self.charts_resting() or self._writing_note():
            return  # the gate stayed up, or the person is typing: the notice names the alarm
        screen = self.screen
        if isinstance(screen, DetailScreen) and screen.run == run:
            return
        self.push_screen(DetailScreen(run))

    def charts_resting(self) -> bool:
        """The look budget's gate is up: nothing that shows curves, values or verdicts may open."""
        return self.gate is not None and self.gate.blocking

    def look_status(self) -> str:
        """"look · 2:31 left" while a budgeted look is open; "" otherwise."""
        if self.gate is None or self.charts_resting():
            return ""
        now = self.options.clock()
        ends = self.gate.budget.look_ends(now)
        if ends is None:
            return ""
        from tui.app.screens.gate import countdown

        return f"look · {countdown(ends - now)} left (e: end now)"

    def _start_watching(self) -> None:
        from tui.app.watcher import Watcher

        paths = list(self.ingestor.watch_paths())
        if paths:
            self._watcher = Watcher(paths, self._on_fs_change, poll_interval=self.options.poll)
            self._watcher.start()  # before the first read: nothing written in between is lost
            self._report_mode()
        else:  # only URLs (s3://, gs://…): nothing to watch, the ingest worker polls on a timer
            self.post_message(WatchModeChanged("polling", None))
        self._ingest_loop()

    def _report_mode(self) -> None:
        """Post the watcher's mode when it changed (any thread: only reads and posts)."""
        w = self._watcher
        if w is None:
            return
        mode = (w.mode, w.fallback_reason)
        if mode != self._posted_mode:
            self._posted_mode = mode
            self.post_message(WatchModeChanged(*mode))

    async def action_quit(self) -> None:
        self._stop_watching()
        self.exit(0)

    def action_end_look(self) -> None:
        """End an open look now: the charts rest until the next one."""
        if self.gate is not None:
            self.gate.end_look()  # a no-op while the gate is up

    def _stop_watching(self) -> None:
        if self.gate is not None:
            self.gate.stop()  # an open look ends now (and is logged)
        self._ingest_stopping = True
        self._wake.set()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def on_unmount(self) -> None:
        self._stop_watching()

    # ---- the watcher's thread -----------------------------------------------------------
    def _on_fs_change(self, paths: set[str], rescan: bool) -> None:
        """Called on the watcher's thread: only record and wake the ingest worker."""
        with self._pending_lock:
            self._pending |= paths
            self._pending_rescan |= rescan
        self._wake.set()

    # ---- the ingest worker (a thread) ---------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="ingest", name="ingest")
    def _ingest_loop(self) -> None:
        worker = get_current_worker()
        self._ingest_once(None, rescan=True)
        last_judge = time.monotonic()
        # Logdirs that can't be watched (URLs: s3://, gs://…) are polled on a timer, also when
        # local ones beside them are watched.
        timer_poll = self._watcher is None or any(spec_is_url(ld) for ld in self.logdirs)
        wait = (self.options.poll or URL_POLL) if timer_poll else 5.0
        while not worker.is_cancelled and not self._ingest_stopping:
            woke = self._wake.wait(timeout=wait)
            self._wake.clear()
            if worker.is_cancelled or self._ingest_stopping:
                return
            with self._pending_lock:
                paths, rescan = self._pending, self._pending_rescan
                self._pending, self._pending_rescan = set(), False
            if timer_poll and not woke:
                paths, rescan = set(), True
            if paths or rescan:
                self._ingest_once(paths, rescan)
            if time.monotonic() - last_judge >= REJUDGE_EVERY:
                # Runs that stopped writing change no data, yet their verdict (stalled) and
                # state age with the clock: re-judge everything now and then.
                runs = self.judge.update_store(self.store, runs=self.store.runs())
                last_judge = time.monotonic()
                self.post_message(StoreChanged(self.store.version, tuple(runs)))
            self._report_mode()  # the watcher may have fallen back to polling meanwhile

    def _ingest_once(self, paths: set[str] | None, rescan: bool) -> None:
        """Read what changed, judge the runs it touched, tell the UI (worker thread)."""
        from tui.ingest import LogdirError

        ing = self.ingestor
        new: list[str] = []
        if rescan:
            try:
                new = list(ing.rescan())
            except LogdirError as e:
                self.post_message(IngestProblem(str(e), "error"))
        ing.poll(None if rescan or not paths else sorted(paths))
        # Every run whose store version moved: new points, and also problems a rescan recorded
        # (a vanished directory changes no data but must reach the screen).
        judged = self.judge.update_store(self.store)
        if not judged and not new:
            return
        for run in judged:
            view = self.judge.view(run)
            for key, msg in (view.problems.items() if view else ()):
                if (run, key, msg) not in self._notified_problems:  # once per distinct problem
                    self._notified_problems.add((run, key, msg))
                    self.post_message(IngestProblem(f"{run}: {msg}", "warning"))
        self.post_message(StoreChanged(self.store.version, tuple(judged), tuple(new)))

    # ---- messages (UI thread) -----------------------------------------------------------
    def on_store_changed(self, message: StoreChanged) -> None:
        self.data_version += 1
        if self.health_listeners and message.runs:
            healths = [h for h in (self.judge.health(r) for r in message.runs) if h is not None]
            for listener in list(self.health_listeners):
                listener(healths)

    def on_ingest_problem(self, message: IngestProblem) -> None:
        self.notify(message.text, title="Problem reading logs", severity=message.severity, timeout=10)

    def on_watch_mode_changed(self, message: WatchModeChanged) -> None:
        self.watch_mode, self.watch_reason = message.mode, message.reason
        if message.reason:
            self.notify(message.reason, title="Watching by polling", severity="warning", timeout=10)
        self.data_version += 1

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: show them, keep the app alive."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        retry = " Retrying in 5 s." if event.worker.name == "ingest" else ""
        self.notify(f"{event.worker.name} stopped: {type(err).__name__}: {err}.{retry}",
                    title="Internal error", severity="error", timeout=15)
        if event.worker.name == "ingest" and self.ingestor is not None and not self._ingest_stopping:
            self.set_timer(5.0, self._ingest_loop)

    def refresh_from_store(self) -> None:
        """Re-judge changed runs now and redraw (for a store filled by the caller)."""
        runs = self.judge.update_store(self.store)
        self.post_message(StoreChanged(self.store.version, tuple(runs)))

    # ---- actions ------------------------------------------------------------------------
    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_set_sort(self, key: str) -> None:
        if key in SORTS:
            self.sort = key
            self.data_version += 1

    def toggle_selected(self, run: str) -> bool:
        """Pick or unpick `run` for overlays; returns whether it is now picked."""
        if run in self.selected:
            del self.selected[run]
            return False
        self.selected[run] = None
        self.run_color(run)
        return True

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for key in SORTS:
            yield SystemCommand(f"Sort runs: {key}", f"Sort the overview by {key}",
                                lambda k=key: self.action_set_sort(k))
        yield SystemCommand("Clear overlay selection", "Unpick every run picked with space",
                            self._clear_selection)
        yield SystemCommand("Review the last 24 h", "Every run's verdicts, timeline, notes and the day's looks (r)",
                            self.action_review)
        yield SystemCommand("Unfold seed groups" if self.fold_groups else "Fold seed groups",
                            "Runs that differ only by seed as one row: k/n healthy (g)", self.action_toggle_groups)

    def _clear_selection(self) -> None:
        self.selected.clear()
        self.data_version += 1

    # ---- issue 6: the end-of-day review, run notes, seed groups -------------------------
    def seed_pattern(self) -> re.Pattern:
        """The seed regex (`AppOptions.seed_pattern`, compiled once); a bad regex gives a
        notice and the default pattern."""
        if self._seed_rx is None:
            from tui.groups import DEFAULT_SEED_PATTERN, compile_pattern

            try:
                self._seed_rx = compile_pattern(self.options.seed_pattern)
            except (ValueError, TypeError) as e:
                self.notify(f"{e}. Using the default seed pattern {DEFAULT_SEED_PATTERN}; fix "
                            "[groups] seed_pattern in the config file.", title="Seed groups",
                            severity="warning", timeout=10)
                self._seed_rx = compile_pattern(None)
        return self._seed_rx

    def action_toggle_groups(self) -> None:
        """Fold runs that differ only by seed into one row (`g`), or unfold them."""
        from tui.app.screens.overview import OverviewScreen

        self.seed_pattern()  # a bad pattern says so now, not on the next redraw
        self.fold_groups = not self.fold_groups
        self.data_version += 1
        if isinstance(self.screen, OverviewScreen):
            self.screen.redraw()
            if self.fold_groups and not self.screen.groups:
                self.notify(f"No two runs differ only by a seed (pattern {self.seed_pattern().pattern}); "
                            "set [groups] seed_pattern in the config to match your names.",
                            title="Seed groups", timeout=6)

    def action_review(self) -> None:
        """Build the review of the last 24 h in a thread worker, then show it (`r`)."""
        from tui.app.screens.review import ReviewScreen

        if isinstance(self.screen, ReviewScreen):
            self.screen.dismiss()
            return
        if self.charts_resting():
            self.notify("The charts are resting: the review opens in a look.", title="Look budget", timeout=4)
            return
        if self._review_running():
            self.notify("Still building the review…", timeout=3)
            return
        self._build_review(self.seed_pattern().pattern)
        self.set_timer(REVIEW_NOTICE_AFTER, self._review_slow)

    def _review_running(self) -> bool:
        return any(w.group == "review" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in self.workers)

    def _review_slow(self) -> None:
        if self._review_running():
            self.notify("Building the review…", timeout=3)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review", name="review")
    def _build_review(self, seed_pattern: str) -> None:
        """Judge and summarise every run (thread): the live verdict histories are reused, so
        no run is replayed twice. Unexpected errors reach `on_worker_state_changed`."""
        from tui.looks.log import read_looks
        from tui.report.review import build_review, parse_since

        now = self.options.clock()
        since = parse_since(REVIEW_SINCE, now)
        looks, looks_error = None, None
        try:
            looks = read_looks(since=since)
        except OSError as e:
            looks_error = f"{e.filename or 'look log'}: {e.strerror or e}"
        try:
            review = build_review(self.store.snapshots(), since=since, now=now, opts=self.options.health,
                                  looks=looks, looks_error=looks_error, histories=self.judge.histories(),
                                  seed_pattern=seed_pattern)
        except OSError as e:  # the notes directory can't be read
            self.post_message(ReviewBuilt(error=f"can't read {e.filename or 'the notes'}: {e.strerror or e}. "
                                          "Check that the state directory is readable."))
            return
        self.post_message(ReviewBuilt(review))

    def on_review_built(self, message: ReviewBuilt) -> None:
        from tui.app.screens.review import ReviewScreen

        if message.error is not None:
            self.notify(message.error, title="Review", severity="error", timeout=10)
        elif not isinstance(self.screen, ReviewScreen) and not self.charts_resting():
            self.push_screen(ReviewScreen(message.review, title=f"Review of the last {REVIEW_SINCE}"))

    @work(thread=True, exit_on_error=False, group="notes", name="notes")
    def _load_notes(self) -> None:
        from tui.notes import NoteStore

        self.post_message(NotesLoaded(NoteStore().all()))

    def on_notes_loaded(self, message: NotesLoaded) -> None:
        self.notes = {**message.notes, **self.notes}  # a note saved meanwhile is newer
        self.notes_version += 1
        self.data_version += 1

    def note_for(self, run: str):
        """The run's note (from the cache read at start and kept by saves), or None."""
        if run not in self.store:
            return None
        from tui.notes import run_key

        note = self.notes.get(run_key(self.store.path(run)))
        return None if note is None or note.empty else note

    def noted_runs(self) -> frozenset[str]:
        """Names of the runs with a (non-empty) note; cached until the notes or the runs change."""
        key = (self.notes_version, len(self.store))
        if self._noted[0] != key:
            from tui.notes import run_key

            paths = {p for p, n in self.notes.items() if not n.empty}
            self._noted = (key, frozenset(r for r in self.store.runs() if run_key(self.store.path(r)) in paths)
                           if paths else frozenset())
        return self._noted[1]

    def open_note(self, run: str, then: Callable[[], None] | None = None) -> None:
        """Edit `run`'s note (`n`); `then` runs after a save."""
        from tui.app.screens.note import NoteScreen

        if run not in self.store:
            self.notify("A seed group has no note of its own: unfold it (g) and pick a run.", timeout=4)
            return

        def saved(note) -> None:
            if note is None:
                return
            self.notes[note.run_path] = note
            self.notes_version += 1
            self.data_version += 1
            if then is not None:
                then()

        self.push_screen(NoteScreen(self.store.path(run), run), saved)


def make_app(logdirs: Iterable[str] = (), options: AppOptions | None = None, *,
             store: Store | None = None, ingestor: Any = None) -> TbpeekApp:
    """Build the app: from logdirs (reads disk) or from a prefilled `store` (no disk).

    Raises:
        tui.ingest.LogdirError: a logdir can't be watched (only when reading disk).
    """
    logdirs = list(logdirs)
    if store is None:
        store = Store()
        if logdirs and ingestor is None:
            from tui.ingest import Ingestor

            ingestor = Ingestor(store, logdirs)
    return TbpeekApp(logdirs, options, store=store, ingestor=ingestor)
