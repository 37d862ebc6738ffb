"""Mute an alert rule for a while: one field for how long (`30m`, `2h`, `1d`), validated before it is sent."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ..durations import DurationError, parse_duration
from ..sanitize import safe_text

DEFAULT_MUTE = "1h"
#: Longest mute the console offers: a forgotten mute must not silence a rule for good.
MAX_MUTE_S = 7 * 86_400


class MuteScreen(ModalScreen[float | None]):
    """Dismisses with the number of seconds to mute for, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, rule: str) -> None:
        super().__init__(classes="dialog-screen")
        self.rule = rule

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog mute-dialog") as dialog:
            dialog.border_title = Text("Mute alert")
            question = Text("Hold back the notifications of ")
            question.append_text(safe_text(self.rule, 40, style="bold"))
            question.append(" for how long? It still shows in the alert bar.")
            yield Static(question, classes="confirm-question")
            yield Input(DEFAULT_MUTE, placeholder="e.g. 30m, 2h, 1d", id="mute-for")
            yield Static(classes="mute-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Mute (enter)"), variant="warning", id="mute-yes")
                yield Button(Text("Cancel (esc)"), id="mute-no")

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "mute-yes":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        text = self.query_one("#mute-for", Input).value.strip()
        try:
            seconds = parse_duration(text).total_seconds()
        except (DurationError, ValueError) as exc:
            self.query_one(".mute-error", Static).update(safe_text(str(exc), 200, style="bold red"))
            return
        if not 0 < seconds <= MAX_MUTE_S:
            self.query_one(".mute-error", Static).update(
                Text("Mute for more than 0 and at most 7 days.", style="bold red")
            )
            return
        self.dismiss(seconds)
