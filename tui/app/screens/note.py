"""The note screen (`n` on a run): the question the run is meant to answer, what the person
expects, and (later) what happened. Saved atomically in the state directory (tui/notes.py).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from tui.notes import Note, NoteStore


class NoteScreen(ModalScreen[Note | None]):
    """Edit one run's note; `ctrl+s` saves and closes (result: the saved note), `escape`
    closes without saving (result: None). A failed save keeps the screen open with the text.

    Args:
        run_path: the run's directory (the note's key).
        run_name: shown in the title.
        store: where notes are kept (default: the state directory's).
    """

    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen #note-box { width: 90%; max-width: 100; height: auto; max-height: 95%;
        border: round $primary; background: $surface; padding: 0 1; }
    NoteScreen Label { margin: 1 0 0 0; color: $text-muted; }
    NoteScreen #note-title { margin: 0; color: $text; text-style: bold; }
    NoteScreen TextArea { height: 5; }
    NoteScreen #note-keys { color: $text-muted; margin: 1 0 0 0; }
    /* Sizing: the keys stay on the box's last line; the box never overflows the pane (its
       fields scroll); a short pane (a 12-line split) gets borderless one-line fields. */
    NoteScreen #note-box { overflow-y: auto; scrollbar-size-vertical: 1; }
    NoteScreen #note-keys { dock: bottom; }
    NoteScreen.-short #note-box { max-height: 100%; }
    NoteScreen.-short Label, NoteScreen.-short #note-keys { margin: 0; }
    NoteScreen.-short Input { border: none; height: 1; background: $boost; }
    NoteScreen.-short TextArea { border: none; height: 2; background: $boost; }
    """

    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]  # noqa: RUF012 (sizing; Textual's declaration)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, run_path: str, run_name: str | None = None, store: NoteStore | None = None) -> None:
        super().__init__()
        self.store = store if store is not None else NoteStore()
        self.run_path = run_path
        self.run_name = run_name or run_path
        self.original = self.store.get(run_path) or Note(run_path)

    def compose(self) -> ComposeResult:
        n = self.original
        with Vertical(id="note-box"):
            yield Static(f"Note · {escape(self.run_name)}", id="note-title")
            yield Label("What question is this run meant to answer?")
            # select_on_focus off: typing into a reopened note must not replace its question.
            yield Input(n.question, placeholder="e.g. does lr 3e-4 stop the entropy collapse?",
                        id="note-question", select_on_focus=False)
            yield Label("What do you expect to see?")
            yield TextArea(n.expectation, id="note-expectation", soft_wrap=True)
            yield Label("What happened? (fill in at review time)")
            yield TextArea(n.outcome, id="note-outcome", soft_wrap=True)
            yield Static("ctrl+s save · esc cancel · tab next field", id="note-keys")

    def on_mount(self) -> None:
        self.query_one("#note-question", Input).focus()

    def current(self) -> Note:
        """The note as currently typed (not saved)."""
        return Note(self.run_path,
                    question=self.query_one("#note-question", Input).value,
                    expectation=self.query_one("#note-expectation", TextArea).text,
                    outcome=self.query_one("#note-outcome", TextArea).text)

    def action_save(self) -> None:
        try:
            saved = self.store.save(self.current())
        except OSError as e:
            # Keep the screen (and the typed text) so nothing is lost; say where and why.
            self.notify(f"Can't save the note in {self.store.root}: {e.strerror or e}. "
                        "Check that the state directory is writable.", severity="error", timeout=10)
            return
        self.notify("Note saved.", timeout=2)
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)
