"""A yes/no question before anything destructive, saying exactly what will happen to how many jobs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes (`y`, or the confirm button)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: Text, confirm_label: str = "Yes", *, title: str = "Are you sure?") -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.confirm_label = confirm_label
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm-dialog") as dialog:
            dialog.border_title = Text(self.title_text)
            yield Static(self.question, classes="confirm-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(f"{self.confirm_label} (y)"), variant="error", id="confirm-yes")
                yield Button(Text("Cancel (n)"), id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()  # enter on a fresh dialog never destroys anything

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
