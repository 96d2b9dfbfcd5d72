"""The live session without Textual: watch strategies, the ingest loop, judging, the look
budget's controller, row and chart models, alerts. The Textual app (`tui.app`) is a thin
adapter over it; everything here is tested without a terminal.

- `session.LiveSession`: the store, the ingestor, the watcher, the judge and the look budget.
  One ingest loop (`ingest_loop`, run by the app in one thread worker) reads, judges and
  emits `events` (`RunsChanged`, `IngestProblem`, `WatchModeChanged`); the UI thread hands
  each back to `receive`, which moves `version` (the one counter screens redraw on) and
  feeds the look budget.
- `watcher.Watcher` holds one watch strategy (`watch_base.WatcherBase`):
  `watch_inotify.InotifyWatcher` (the only module that imports watchdog) or
  `watch_poll.PollWatcher`, and swaps the first for the second when it fails.
- `gate.GateController`: the look budget's rules in a session, shown through a `gate.GateUI`.
- `views.Judge` (verdicts and row views), `model` (rows, sorting, folding seed groups),
  `view_state.ViewState` (the overview's choices), `run_notes.RunNotes`, `chart` (chart text;
  plotext's private API only in `plotext_figure`), `alerts` (bell, OSC notifications,
  ``--on-alarm``).
"""
