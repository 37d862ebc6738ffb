"""The `:` prompt: type a command, Tab completes it, enter runs it, a mistake is said under the line, esc closes."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..sanitize import safe_str
from .command_line import COMMANDS, Command, CommandError, candidates, complete, parse, spec_named

#: Queue names listed under the line at most; Tab narrows them.
HINTED_QUEUES = 8


def hint_text(line: str, queues: list[str], available: set[str]) -> Text:
    """The commands (with what they take and do) or queue names the typed line may continue with."""
    text = Text(end="", style="dim")
    word, space, _rest = line.lstrip().partition(" ")
    if space:
        options = candidates(line, queues, available)
        spec = spec_named(word, available)
        if options:
            shown = [safe_str(queue, 60) for queue in options[:HINTED_QUEUES]]
            more = f"  (+{len(options) - HINTED_QUEUES} more)" if len(options) > HINTED_QUEUES else ""
            text.append("  ".join(shown) + more)
        elif spec is not None:
            text.append(f"{spec.name} {spec.argument}".rstrip(), style="bold")
            text.append(f" {spec.help}")
        return text
    for position, spec in enumerate(spec for spec in COMMANDS if spec.name in available and spec.name.startswith(word)):
        if position:
            text.append("  ·  ")
        text.append(spec.name, style="bold")
        text.append(f" {spec.argument}" if spec.argument else "")
        text.append(f" {spec.help}")
    return text


class CommandScreen(ModalScreen[Command | None]):
    """Dismisses with the `Command` typed, or None on escape."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, queues: list[str], available: set[str]) -> None:
        super().__init__(classes="command-screen")
        self.queues = queues
        self.available = available
        self.refused_line: str | None = None  # the line the error under it is about

    def compose(self) -> ComposeResult:
        with Vertical(classes="command-bar") as bar:
            bar.border_title = Text("command")
            bar.border_subtitle = Text("tab completes · enter runs · esc closes")
            with Horizontal(classes="command-line"):
                yield Static(":", classes="command-prompt")
                yield Input(placeholder="q QUEUE, job ID, search TEXT, workers…", classes="command-input")
            yield Static(classes="command-hint")
            yield Static(classes="command-error")

    @property
    def field(self) -> Input:
        return self.query_one(".command-input", Input)

    def on_mount(self) -> None:
        self.set_focus(self.field)
        self.show_hint("")

    def on_key(self, event: events.Key) -> None:
        """Tab completes; keys typed right after `:` were sent to the screen before the field had focus, and
        belong in it. Handled here, not by bindings, so a fast `wo<tab><enter>` runs in the order typed.
        (The field stops the printable keys and the enter it handles itself: none of those arrive twice.)"""
        if event.key == "tab":
            event.stop()
            event.prevent_default()
            self.complete_line()
        elif event.key == "enter":
            event.stop()
            self.run(self.field.value)
        elif event.is_printable and event.character is not None:
            event.stop()
            self.field.insert_text_at_cursor(event.character)

    @on(Input.Changed, ".command-input")
    def changed(self, event: Input.Changed) -> None:
        self.show_hint(event.value)
        if self.field.value != self.refused_line:  # typed fast, the changes that led to it are announced late
            self.show_error(None)

    @on(Input.Submitted, ".command-input")
    def submitted(self, event: Input.Submitted) -> None:
        self.run(event.value)

    def run(self, line: str) -> None:
        try:
            command = parse(line, self.queues, self.available)
        except CommandError as exc:
            self.refused_line = line
            self.show_error(str(exc))
            return
        self.dismiss(command)

    def show_hint(self, line: str) -> None:
        self.query_one(".command-hint", Static).update(hint_text(line, self.queues, self.available))

    def show_error(self, message: str | None) -> None:
        error = self.query_one(".command-error", Static)
        error.display = message is not None
        if message is not None:
            error.update(Text(safe_str(message, 300)))

    def complete_line(self) -> None:
        line = complete(self.field.value, self.queues, self.available)
        if line != self.field.value:
            self.field.value = line
            self.field.cursor_position = len(line)
        elif len(candidates(line, self.queues, self.available)) > 1:
            self.show_hint(line)

    def action_close(self) -> None:
        self.dismiss(None)
