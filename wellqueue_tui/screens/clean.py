"""Asks which state to clean and how old a job must be, before the confirmation says how many go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ..durations import DurationError, parse_duration
from ..jobs.actions import CLEANABLE
from ..sanitize import safe_text


@dataclass(frozen=True)
class CleanRequest:
    state: str
    older_than: timedelta
    age_text: str  # as the operator typed it, for the confirmation ("older than 1h")

    @property
    def older_than_ms(self) -> int:
        return int(self.older_than.total_seconds() * 1000)


class CleanScreen(ModalScreen[CleanRequest | None]):
    """State (select) and minimum age (`1h`, `30m`, `2d`, `0s` for all); enter continues, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, queue: str, state: str = "completed", age: str = "1h") -> None:
        super().__init__(classes="dialog-screen")
        self.queue = queue
        self.initial_state = state if state in CLEANABLE else "completed"
        self.initial_age = age

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog clean-dialog") as dialog:
            dialog.border_title = Text.assemble("Clean ", safe_text(self.queue, 60))
            yield Label("Remove jobs in state")
            yield Select(
                [(str(state), str(state)) for state in CLEANABLE],
                value=self.initial_state,
                allow_blank=False,
                id="clean-state",
            )
            yield Label("that are older than (e.g. 30m, 1h, 2d; 0s for all)")
            yield Input(self.initial_age, id="clean-age")
            yield Static("", id="clean-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Continue", variant="primary", id="clean-continue")
                yield Button("Cancel (esc)", id="clean-cancel")

    def on_mount(self) -> None:
        self.query_one("#clean-age", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "clean-continue":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        age_text = self.query_one("#clean-age", Input).value.strip()
        try:
            older_than = parse_duration(age_text)
        except DurationError as exc:
            self.query_one("#clean-error", Static).update(safe_text(exc, 200))
            return
        state = str(self.query_one("#clean-state", Select).value)
        self.dismiss(CleanRequest(state, older_than, age_text))

    def action_cancel(self) -> None:
        self.dismiss(None)
