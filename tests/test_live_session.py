"""The live session without a terminal: the ingest loop, events, the look budget's controller,
the overview's choices and the notes cache. Nothing here imports Textual (test_purity checks
that a headless session runs without loading it)."""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

import pytest
from app_fixtures import NOW, fixed_store
from eventfiles import Writer
from testing import Clock

from tui.health.verdict import Severity, Verdict
from tui.live.alerts import Alerter
from tui.live.events import IngestProblem, LiveEvent, RunsChanged, WatchModeChanged
from tui.live.gate import GateController, countdown
from tui.live.run_notes import RunNotes
from tui.live.session import LiveSession
from tui.live.view_state import ViewState
from tui.looks.log import Look, append_look, read_looks
from tui.looks.policy import GateInfo, LookBudget
from tui.looks.settings import BudgetSettings
from tui.notes import Note
from tui.store import Store

WAIT = 20.0  # upper bound for the loop to see a change; tests finish as soon as it does
ALARM = Verdict("entropy", "collapsed", Severity.ALARM, "entropy collapsed to 0.011 of max 1.39")


class Events:
    """The session's `emit`: a queue the test drains as the UI thread would."""

    def __init__(self) -> None:
        self.q: queue.Queue[LiveEvent] = queue.Queue()
        self.seen: list[LiveEvent] = []

    def __call__(self, event: LiveEvent) -> None:
        self.q.put(event)

    def pump(self, session: LiveSession, until, timeout: float = WAIT) -> bool:
        """Hand events to `session.receive` until `until()` holds."""
        end = threading.Event()
        timer = threading.Timer(timeout, end.set)
        timer.start()
        try:
            while not until():
                if end.is_set():
                    return False
                try:
                    event = self.q.get(timeout=0.05)
                except queue.Empty:
                    continue
                self.seen.append(event)
                session.receive(event)
            return True
        finally:
            timer.cancel()


class RecordingUI:
    """A `GateUI` that records what it was asked to show."""

    def __init__(self) -> None:
        self.notices: list[tuple[str, str]] = []
        self.gate_up = False
        self.shown: list[GateInfo] = []
        self.on_look = self.on_override = None

    def notify(self, message, *, title="", severity="information", timeout=None) -> None:
        self.notices.append((message, severity))

    def show_gate(self, info, on_look, on_override) -> None:
        self.gate_up = True
        self.shown.append(info)
        self.on_look, self.on_override = on_look, on_override

    def update_gate(self, info) -> None:
        self.shown.append(info)

    def hide_gate(self) -> None:
        self.gate_up = False


def run_loop(session: LiveSession) -> threading.Thread:
    session.start_watching()
    t = threading.Thread(target=session.ingest_loop, name="test-ingest", daemon=True)
    t.start()
    return t


# ---- the ingest loop ------------------------------------------------------------------------
@pytest.mark.parametrize("poll", [None, 0.05], ids=["inotify", "polling"])
def test_points_written_reach_the_judge_and_runs_changed_moves_the_version(tmp_path, poll):
    from tui.ingest import Ingestor

    logs = tmp_path / "logs"
    w = Writer(logs / "run1")
    for step in range(1, 11):
        w.scalar("losses/entropy", 1.5 - step * 0.01, step, 1_700_000_000.0 + step)
    w.flush()
    store = Store()
    events = Events()
    session = LiveSession(store, Ingestor(store, [str(logs)]), logdirs=[str(logs)], poll=poll, emit=events)
    thread = run_loop(session)
    try:
        assert events.pump(session, lambda: (v := session.judge.view("run1")) is not None and v.last_step == 10)
        before = session.version
        w.scalar("losses/entropy", 0.5, 11, 1_700_000_011.0)
        w.flush()
        # The judge may hold step 11 a moment before its RunsChanged is handed over: wait for both.
        assert events.pump(session, lambda: session.judge.view("run1").last_step == 11 and session.version > before)
        assert any(isinstance(e, RunsChanged) for e in events.seen)
        assert session.watch_mode == ("polling" if poll else "inotify")
    finally:
        session.stop()
        thread.join(WAIT)
        w.close()
    assert not thread.is_alive() and session.watcher is None


class ProblemIngestor:
    """Records one damaged file per poll (always the same problem)."""

    def __init__(self, store: Store, paths: list[str]) -> None:
        self.store, self.paths = store, paths
        self.polls = 0

    def watch_paths(self) -> list[str]:
        return self.paths

    def rescan(self) -> list[str]:
        return []

    def poll(self, paths=None) -> set[str]:
        self.polls += 1
        self.store.ensure_run("r", "/x")
        self.store.append("r", "loss", [self.polls], [NOW], [1.0])
        self.store.set_problem("r", "/x/events.out.tfevents.1", "damaged record at byte 40: skipped")
        return {"r"}


def test_a_file_problem_is_told_once_and_url_only_logdirs_say_polling():
    store = Store()
    events: list[LiveEvent] = []
    session = LiveSession(store, ProblemIngestor(store, []), emit=events.append, clock=lambda: NOW)
    session.start_watching()  # nothing to watch (only URLs): the loop polls on a timer
    assert events == [WatchModeChanged("polling", None)]
    session.ingest_once(None, rescan=True)
    session.ingest_once(None, rescan=True)
    problems = [e for e in events if isinstance(e, IngestProblem)]
    assert [p.text for p in problems] == ["r: damaged record at byte 40: skipped"]
    assert sum(isinstance(e, RunsChanged) for e in events) == 2
    session.receive(events[0])
    assert (session.watch_mode, session.watch_reason) == ("polling", None)


def test_an_ingestor_that_fails_lets_the_error_escape_for_the_app_to_show(tmp_path):
    class Failing(ProblemIngestor):
        def poll(self, paths=None):
            raise RuntimeError("disk on fire")

    session = LiveSession(Store(), Failing(Store(), [str(tmp_path)]), poll=0.05)
    session.start_watching()
    try:
        with pytest.raises(RuntimeError, match="disk on fire"):
            session.ingest_loop()
    finally:
        session.stop()


def test_runs_changed_carries_complete_state_so_a_replaced_event_loses_no_run(tmp_path):
    """The app lets a newer RunsChanged replace a queued one: the runs of both still arrive."""
    store = fixed_store()
    events: list[LiveEvent] = []
    session = LiveSession(store, clock=lambda: NOW, emit=events.append)
    session.judge.update_store(store)
    gate = session.start_budget(BudgetSettings(enabled=False, log_path=tmp_path / "looks.jsonl"), RecordingUI(),
                                alerter=Alerter(write=lambda s: None, tmux=False))
    got: list[list[str]] = []
    gate.on_health = lambda healths: got.append([h.run for h in healths])  # type: ignore[method-assign]
    for run in ("pong-pinned", "cartpole-healthy"):
        store.append(run, "losses/entropy", [10**7], [NOW], [1.0])
        session.refresh_from_store()
    assert [type(e) for e in events] == [RunsChanged, RunsChanged] and events[-1] == RunsChanged(store.version)
    v0 = session.version
    session.receive(events[-1])  # the first one was replaced in the queue
    assert got == [["cartpole-healthy", "pong-pinned"]] and session.version == v0 + 1
    session.receive(events[-1])  # nothing new: the version moves, the budget hears nothing
    assert len(got) == 1


def test_alarms_of_long_ended_runs_do_not_reach_the_budget(tmp_path):
    clock = Clock(NOW + 7 * 86400)  # a week later: every run of the fixed store has ended
    session = LiveSession(fixed_store(), clock=clock)
    session.judge.update_store(session.store)
    ui = RecordingUI()
    rang: list[str] = []
    session.start_budget(BudgetSettings(log_path=tmp_path / "looks.jsonl"), ui,
                         alerter=Alerter(write=rang.append, tmux=False))
    assert rang == [] and ui.gate_up
    assert not [k for k in read_looks(tmp_path / "looks.jsonl") if k.trigger == "alarm"]


# ---- the look budget's controller -----------------------------------------------------------
def gated(tmp_path, clock, **settings) -> tuple[GateController, RecordingUI, list[str], list[str]]:
    budget = LookBudget(BudgetSettings(**settings), logdirs=["/runs"], clock=clock, tz=timezone.utc,
                        log_path=tmp_path / "looks.jsonl")
    budget.set_runs(["a", "ppo"])
    ui, written, alarm_runs = RecordingUI(), [], []
    gate = GateController(ui, budget, Alerter(write=written.append, tmux=False), on_alarm_look=alarm_runs.append)
    gate.start()
    return gate, ui, written, alarm_runs


def test_gate_up_at_start_a_due_look_opens_and_its_end_brings_the_gate_back(tmp_path):
    clock = Clock(NOW)
    gate, ui, _, _ = gated(tmp_path, clock, window=60)
    assert ui.gate_up and gate.blocking and ui.shown[-1].due
    ui.on_look()
    assert not ui.gate_up and not gate.blocking
    ends = datetime.fromtimestamp(NOW + 60).strftime("%H:%M:%S")  # within 2 min: to the second
    assert gate.look_status(clock()) == f"look until {ends} (e: end now)"
    clock.t += 45
    gate.refresh()
    assert any("close in 15 s" in m for m, _ in ui.notices) and not ui.gate_up
    clock.t += 16
    gate.refresh()
    assert ui.gate_up and gate.look_status(clock()) == ""
    (look,) = read_looks(tmp_path / "looks.jsonl")
    assert (look.trigger, look.start, look.end) == ("scheduled", NOW, NOW + 60)


def test_an_alarm_breaks_through_rings_and_leads_with_its_run(tmp_path):
    append_look(Look(start=NOW - 60, end=NOW - 30), tmp_path / "looks.jsonl")
    gate, ui, written, alarm_runs = gated(tmp_path, Clock(NOW))
    assert ui.gate_up and not ui.shown[-1].due
    assert gate.on_health({"a": [], "ppo": []}) == [] and ui.gate_up
    alarms = gate.on_health({"ppo": [ALARM]})
    assert [a.run for a in alarms] == ["ppo"] and alarm_runs == ["ppo"]
    assert not ui.gate_up and written[0] == "\x07"
    assert ("ppo: entropy collapsed to 0.011 of max 1.39", "error") in ui.notices
    assert read_looks(tmp_path / "looks.jsonl")[-1].trigger == "alarm"


def test_the_gate_waits_for_the_person_to_finish_typing(tmp_path):
    clock = Clock(NOW)
    gate, ui, _, _ = gated(tmp_path, clock, window=30)
    typing = [True]
    gate.busy = lambda: typing[0]
    ui.on_look()
    clock.t += 31
    gate.refresh()
    gate.refresh()
    assert not ui.gate_up
    assert sum("once you close this" in m for m, _ in ui.notices) == 1  # said once, not every tick
    typing[0] = False
    gate.refresh()
    assert ui.gate_up


def test_end_look_and_override(tmp_path):
    clock = Clock(NOW)
    gate, ui, _, _ = gated(tmp_path, clock, every=1800, window=180)
    ui.on_look()
    clock.t += 10
    gate.end_look()
    assert ui.gate_up
    gate.end_look()  # the gate is up: nothing to end
    ui.on_override("the new lr looks odd")
    assert not ui.gate_up
    looks = read_looks(tmp_path / "looks.jsonl")
    assert [k.trigger for k in looks] == ["scheduled", "override"] and looks[0].end == NOW + 10


def test_no_budget_never_gates_but_still_rings(tmp_path):
    gate, ui, written, _ = gated(tmp_path, Clock(NOW), enabled=False)
    assert not gate.ticking and not ui.gate_up
    gate.on_health({"ppo": [ALARM]})
    assert not ui.gate_up and written[0] == "\x07"


def test_countdown_words():
    assert countdown(0.2) == "0:01" and countdown(59.0) == "0:59" and countdown(7500) == "2h 05m"


# ---- the overview's choices and the notes ---------------------------------------------------
def test_view_state_moves_its_version_on_each_change_and_keeps_colour_slots():
    view = ViewState()
    v = view.version
    assert view.next_sort() == "name" and view.next_sort() == "age" and view.next_sort() == "worst"
    view.set_sort("bogus")
    assert view.sort == "worst" and view.version == v + 3
    assert view.toggle_selected("b") and view.toggle_selected("a")
    assert list(view.selected) == ["b", "a"]
    assert not view.toggle_selected("b")
    assert (view.color_slot("b"), view.color_slot("a"), view.color_slot("c")) == (0, 1, 2)
    view.clear_selection()
    assert not view.selected and view.toggle_fold() and view.fold_groups
    assert view.version == v + 8


def test_run_notes_merge_a_save_over_the_loaded_notes_and_name_noted_runs():
    store = Store()
    for run in ("a", "b"):
        store.ensure_run(run, f"/logs/{run}")
        store.append(run, "x", [1], [NOW], [1.0])
    notes = RunNotes(store)
    notes.saved(Note("/logs/a", question="newer"))
    notes.loaded({"/logs/a": Note("/logs/a", question="older"), "/logs/b": Note("/logs/b"),
                  "/logs/gone": Note("/logs/gone", question="?")})
    assert notes.note_for("a").question == "newer"
    assert notes.note_for("b") is None  # empty
    assert notes.noted_runs() == frozenset({"a"})
    notes.saved(Note("/logs/b", outcome="it learned"))
    assert notes.noted_runs() == frozenset({"a", "b"}) and notes.note_for("nope") is None


def test_session_notes_and_watch_mode_move_the_version():
    session = LiveSession(Store())
    v = session.version
    session.notes_loaded({})
    session.receive(WatchModeChanged("polling", "inotify watch limit reached"))
    assert session.version == v + 2 and session.watch_reason == "inotify watch limit reached"
    assert session.look_status() == "" and not session.charts_resting
