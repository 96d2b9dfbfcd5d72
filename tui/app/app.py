"""The Textual application: a thin adapter over the live session (`tui.live.session`).

The session owns the data: the store, the ingestor and the watcher, the judge, the look
budget, the overview's choices and the notes. The app adds what needs a terminal: themes, the
screen stack, notices, and the thread workers that run the session's ingest loop and build
the review. Events the session emits on its thread arrive as one message (`LiveUpdate`) and go
back to the session on the UI thread; screens redraw on their own timers, only when
`session.version` (or `session.view.version`) moved. No widget is ever touched from a thread.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from tui.app.messages import LiveUpdate, NotesLoaded, ReviewBuilt
from tui.app.screens.gate import GateHost
from tui.app.themes import DEFAULT_THEME, ThemeKeeper, load_themes, verdict_colors
from tui.health.options import HealthOptions
from tui.live.events import IngestProblem, LiveEvent, WatchModeChanged
from tui.live.model import SORTS
from tui.live.session import IngestorLike, LiveSession
from tui.live.views import Judge
from tui.looks.settings import BudgetSettings
from tui.notes import Note
from tui.store import Store
from tui.vocab import EXIT_PROBLEM

# Below this size the overview turns compact: badge, name and three tiny sparklines.
COMPACT_WIDTH = 80
COMPACT_HEIGHT = 20
PALETTE_VARS = ("primary", "warning", "success", "accent", "secondary", "error")
REVIEW_SINCE = "24h"  # the period of the in-app review (`r`)
REVIEW_NOTICE_AFTER = 0.4  # seconds: say "building the review…" only when it takes longer
INGEST_RETRY = 5.0  # seconds before the ingest loop restarts after an error


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
        budget: the look budget's settings (None: no budget, nothing logged; a disabled one:
            charts always shown, the session logged as ``budget_off``).
        seed_pattern: the seed regex of seed groups (config ``[groups] seed_pattern``; None:
            `tui.groups.DEFAULT_SEED_PATTERN`).
        countdown: a per-second countdown on the gate (``--countdown``); by default the gate
            says the next look's clock time only.
        theme_file: the config file where a theme picked with `t` is kept (``[ui] theme``;
            nothing else in it changes); None: the choice lasts this session only.
    """

    theme: str | None = None
    poll: float | None = None
    health: HealthOptions = field(default_factory=HealthOptions)
    clock: Callable[[], float] = time.time
    theme_dirs: list[Path] | None = None
    refresh: float = 0.5
    compact: bool | None = None
    budget: BudgetSettings | None = None
    seed_pattern: str | None = None
    countdown: bool = False
    theme_file: Path | None = None


class TbpeekApp(App[int]):
    """tbpeek's live view of TensorBoard logdirs.

    Args:
        logdirs: the logdirs watched (only shown in the title when `ingestor` is None).
        options: see `AppOptions`.
        store: the store the screens read; a prefilled one runs the app without disk.
        ingestor: reads the logdirs into `store`; None: nothing is read or watched.
    """

    CSS_PATH = "app.tcss"
    # Notices stay clear of the status line and the key footer (they covered both, and the
    # filter's error in the status line); over a dialog they go to the top, clear of its keys.
    CSS = """
    ToastRack { margin-bottom: 2; }
    ModalScreen ToastRack { dock: top; align: right top; margin: 0; }
    Toast { width: 50; max-width: 45%; padding: 0 1; }
    """
    TITLE = "tbpeek"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # ctrl+c quits, as in htop, k9s, lazygit (Textual's default only says "press ctrl+q").
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("t", "change_theme", "Theme", show=False),
        Binding("e", "end_look", "End look", show=False),
        Binding("r", "review", "Review"),
    ]

    def __init__(self, logdirs: Iterable[str] = (), options: AppOptions | None = None, *,
                 store: Store | None = None, ingestor: IngestorLike | None = None) -> None:
        super().__init__()
        self.logdirs = [str(p) for p in logdirs]
        self.options = options or AppOptions()
        opts = self.options
        self.session = LiveSession(store if store is not None else Store(), ingestor, logdirs=self.logdirs,
                                   health=opts.health, clock=opts.clock, poll=opts.poll, emit=self._post_live)
        self._seed_rx: re.Pattern[str] | None = None
        self._gate_host: GateHost | None = None  # once a budget is set
        self._asked_before_quit: list[object] = []  # note screens ctrl+c asked about
        loaded = load_themes(opts.theme_dirs)
        self.theme_problems = list(loaded.problems)
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self._initial_theme = self._pick_theme()
        self._theme_keeper = ThemeKeeper(self, self.options.theme_file)  # `t`'s choice persists
        self.crash: BaseException | None = None  # the unexpected exception that ended the app
        self.crash_log: Path | None = None
        if self.logdirs:
            self.sub_title = " ".join(self.logdirs)

    # ---- untrusted text and crashes ------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notice shows its text literally: never markup (a run named ``zz[/]`` in an
        alarm must not kill the app), never a control character (`tui.app.text`)."""
        from tui.app.text import safe

        # Line by line: the line breaks of a notice are its own (names are made safe, with
        # their own line breaks escaped, where the notice is written: `tui.live.gate`).
        text = "\n".join(safe(line) for line in str(message).split("\n"))
        super().notify(text, title=safe(title), severity=severity, timeout=timeout, markup=False)

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header's title: the logdirs or the run's name, literally."""
        from tui.app.text import safe

        return super().format_title(safe(title), safe(sub_title))

    def _handle_exception(self, error: Exception) -> None:
        # Textual's one hook for an exception nothing handled (it then exits with code 1 and
        # prints a traceback). Keep the first, write it to a crash log; `run` turns it into
        # one line and a non-zero exit. Pilot tests still see the exception raised.
        if self.crash is None:
            from tui.app.crash import write_crash_log

            self.crash = error
            self.crash_log = write_crash_log(error)
        super()._handle_exception(error)

    def run(self, **kwargs: Any) -> int | None:
        """Run the app; after a crash: one line on stderr naming the crash log, and
        `EXIT_PROBLEM` (never exit 0 after an error)."""
        import io
        import sys

        from rich.console import Console

        from tui.app.crash import append_crash_log, crash_line

        real_errors = self.error_console
        # Textual prints the traceback (with locals: run names) to the error console on exit:
        # it goes to the crash log instead; the shell gets one line.
        self.error_console = Console(file=io.StringIO(), stderr=True, width=120, color_system=None)
        try:
            result = super().run(**kwargs)
        finally:
            captured = self.error_console.file
            self.error_console = real_errors
        if self.crash is None and not self.return_code:
            extra = captured.getvalue() if isinstance(captured, io.StringIO) else ""
            if extra.strip():  # something Textual wanted said that wasn't a crash
                sys.stderr.write(extra)
            return result
        error = self.crash or RuntimeError(f"the app ended with code {self.return_code}")
        if self.crash_log is not None and isinstance(captured, io.StringIO) and captured.getvalue().strip():
            append_crash_log(self.crash_log, "as Textual reported it (with local variables)", captured.getvalue())
        print(crash_line(error, self.crash_log), file=sys.stderr)
        return EXIT_PROBLEM

    # ---- the session's parts, for screens and tests ---------------------------------------
    @property
    def store(self) -> Store:
        return self.session.store

    @property
    def judge(self) -> Judge:
        return self.session.judge

    def is_compact(self) -> bool:
        """The overview's compact layout: forced by the options, else below 80×20."""
        forced = self.options.compact
        if forced is not None:
            return forced
        return self.size.width < COMPACT_WIDTH or self.size.height < COMPACT_HEIGHT

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
        slot = self.session.view.color_slot(run)
        theme = self.current_theme
        colors = [str(getattr(theme, k)) for k in PALETTE_VARS if getattr(theme, k, None)]
        return colors[slot % len(colors)]

    # ---- lifecycle ----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.theme = self._initial_theme
        self._theme_keeper.start(self._initial_theme)
        for text in self.theme_problems:
            self.notify(text, title="Theme", severity="warning", timeout=10)
        self.session.judge.update_store(self.session.store)
        from tui.app.screens.overview import OverviewScreen

        self.push_screen(OverviewScreen())
        if self.options.budget is not None:
            self._start_budget(self.options.budget)
        self._load_notes()
        if self.session.ingestor is not None:
            self.session.start_watching(after_first_rows=True)
            self._ingest_loop()

    def _start_budget(self, settings: BudgetSettings) -> None:
        """Put the look budget's gate over the charts (after the first screen is pushed)."""
        from tui.live.alerts import Alerter

        host = GateHost(self, show_countdown=self.options.countdown)
        self._gate_host = host
        alerter = Alerter(bell=self.bell, on_alarm=settings.on_alarm, logdirs=self.logdirs)
        gate = self.session.start_budget(settings, host, alerter=alerter, on_alarm_look=self._show_alarm_run,
                                         busy=self._writing_note, show_countdown=self.options.countdown,
                                         tz=host.tz)
        host.run(gate)

    def _writing_note(self) -> bool:
        from tui.app.screens.note import NoteScreen

        return isinstance(self.screen, NoteScreen)

    def _show_alarm_run(self, run: str) -> None:
        """A breakthrough (once per batch): lead with the worst alarmed run's charts, the
        others of the batch listed under its head."""
        from tui.app.screens.breakthrough import BreakthroughDetail
        from tui.app.screens.detail import DetailScreen

        if self.session.charts_resting or self._writing_note():
            return  # the gate stayed up, or the person is typing: the notice names the alarm
        screen = self.screen
        if isinstance(screen, DetailScreen) and screen.run == run:
            return
        self.push_screen(BreakthroughDetail(run))

    async def action_quit(self) -> None:
        self._stop()
        self.exit(0)

    async def action_interrupt(self) -> None:
        """ctrl+c: quit at once; with an unsaved note open, ask once (a second ctrl+c quits)."""
        from tui.app.screens.note import NoteScreen

        screen = self.screen
        if isinstance(screen, NoteScreen) and screen not in self._asked_before_quit:
            typed, saved = screen.current(), screen.original
            if (typed.question, typed.expectation, typed.outcome) != (saved.question, saved.expectation,
                                                                      saved.outcome):
                self._asked_before_quit.append(screen)
                self.notify("The note is not saved: ctrl+s saves it; ctrl+c again quits without saving.",
                            title="Quit?", severity="warning", timeout=8)
                return
        await self.action_quit()

    def action_end_look(self) -> None:
        """End an open look now: the charts rest until the next one."""
        if self.session.gate is not None:
            self.session.gate.end_look()  # a no-op while the gate is up

    def _stop(self) -> None:
        self._theme_keeper.flush()  # a theme picked just before quitting is kept too
        if self._gate_host is not None:
            self._gate_host.stop()
        self.session.stop()

    def on_unmount(self) -> None:
        self._stop()

    # ---- the session's thread and its events --------------------------------------------
    def _post_live(self, event: LiveEvent) -> None:
        """The session's emit (any thread): `post_message` is thread-safe."""
        self.post_message(LiveUpdate(event))

    @work(thread=True, exclusive=True, exit_on_error=False, group="ingest", name="ingest")
    def _ingest_loop(self) -> None:
        worker = get_current_worker()
        self.session.ingest_loop(lambda: worker.is_cancelled)

    def on_live_update(self, message: LiveUpdate) -> None:
        event = message.event
        self.session.receive(event)
        changed = getattr(self.screen, "session_changed", None)
        if callable(changed):
            changed()
        if isinstance(event, IngestProblem):
            self.notify(event.text, title="Problem reading logs", severity=event.severity, timeout=10)
        elif isinstance(event, WatchModeChanged) and event.reason:
            self.notify(event.reason, title="Watching by polling", severity="warning", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: show them, keep the app alive."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        retry = f" Retrying in {INGEST_RETRY:g} s." if event.worker.name == "ingest" else ""
        self.notify(f"{event.worker.name} stopped: {type(err).__name__}: {err}.{retry}",
                    title="Internal error", severity="error", timeout=15)
        if event.worker.name == "ingest" and self.session.ingestor is not None and not self.session.stopping:
            self.set_timer(INGEST_RETRY, self._ingest_loop)

    def refresh_from_store(self) -> None:
        """Re-judge changed runs now and redraw (for a store filled by the caller)."""
        self.session.refresh_from_store()

    # ---- actions ------------------------------------------------------------------------
    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterator[SystemCommand]:
        yield from super().get_system_commands(screen)
        view = self.session.view
        for key in SORTS:
            yield SystemCommand(f"Sort runs: {key}", f"Sort the overview by {key}",
                                lambda k=key: view.set_sort(k))
        yield SystemCommand("Clear overlay selection", "Unpick every run picked with space",
                            view.clear_selection)
        yield SystemCommand("Review the last 24 h", "Every run's verdicts, timeline, notes and the day's looks (r)",
                            self.action_review)
        yield SystemCommand("Unfold seed groups" if view.fold_groups else "Fold seed groups",
                            "Runs that differ only by seed as one row: k/n healthy (g)", self.action_toggle_groups)

    # ---- the end-of-day review, run notes, seed groups ----------------------------------
    def seed_pattern(self) -> re.Pattern[str]:
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
        folded = self.session.view.toggle_fold()
        if isinstance(self.screen, OverviewScreen):
            self.screen.redraw()
            if folded and not self.screen.groups:
                self.notify(f"No two runs differ only by a seed (pattern {self.seed_pattern().pattern}); "
                            "set [groups] seed_pattern in the config to match your names.",
                            title="Seed groups", timeout=6)

    def action_review(self) -> None:
        """Build the review of the last 24 h in a thread worker, then show it (`r`)."""
        from tui.app.screens.review import ReviewScreen

        if isinstance(self.screen, ReviewScreen):
            self.screen.dismiss()
            return
        if self.session.charts_resting:
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
        """Unexpected errors reach `on_worker_state_changed`."""
        self.post_message(ReviewBuilt(self.session.build_review(REVIEW_SINCE, seed_pattern)))

    def on_review_built(self, message: ReviewBuilt) -> None:
        from tui.app.screens.review import ReviewScreen

        result = message.result
        if result.error is not None:
            self.notify(result.error, title="Review", severity="error", timeout=10)
        elif (result.review is not None and not isinstance(self.screen, ReviewScreen)
              and not self.session.charts_resting):
            self.push_screen(ReviewScreen(result.review, title=f"Review of the last {REVIEW_SINCE}"))

    @work(thread=True, exit_on_error=False, group="notes", name="notes")
    def _load_notes(self) -> None:
        from tui.notes import NoteStore

        self.post_message(NotesLoaded(NoteStore().all()))

    def on_notes_loaded(self, message: NotesLoaded) -> None:
        self.session.notes_loaded(message.notes)

    def open_note(self, run: str, then: Callable[[], object] | None = None) -> None:
        """Edit `run`'s note (`n`); `then` runs after a save."""
        from tui.app.screens.note import NoteScreen

        store = self.session.store
        if run not in store:
            self.notify("A seed group has no note of its own: unfold it (g) and pick a run.", timeout=4)
            return

        def saved(note: Note | None) -> None:
            if note is None:
                return
            self.session.note_saved(note)
            if then is not None:
                then()

        self.push_screen(NoteScreen(store.path(run), run), saved)


def make_app(logdirs: Iterable[str] = (), options: AppOptions | None = None, *,
             store: Store | None = None, ingestor: IngestorLike | None = None) -> TbpeekApp:
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
