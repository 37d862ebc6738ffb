"""Every key of the screen it was opened from, with its description, generated from the live bindings."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def help_text(rows: list[tuple[str, str, bool]]) -> Text:
    """Aligned `key  description` lines; keys the operator's role lacks are dimmed and marked."""
    width = max((len(key) for key, _, _ in rows), default=0)
    text = Text(end="")
    for position, (key, description, enabled) in enumerate(rows):
        if position:
            text.append("\n")
        text.append(f"{key:>{width}}  ", style="bold" if enabled else "dim")
        text.append(description, style="" if enabled else "dim strike")
        if not enabled:
            text.append("  (your role may not)", style="dim italic")
    return text


class HelpScreen(ModalScreen[None]):
    """Built from `Screen.active_bindings`, so it always matches the footer and the command palette."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, title: str, screen: Screen) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.screen_bindings = screen.active_bindings
        self.own_bindings = [
            (binding.action, binding.description) for binding in screen.BINDINGS if isinstance(binding, Binding)
        ]

    def _rows(self) -> list[tuple[str, str, bool]]:
        """One row per action: its keys joined (`j/down`), its description, whether it is allowed."""
        by_action: dict[tuple[str, str], tuple[list[str], bool]] = {}
        for key, active in sorted(self.screen_bindings.items(), key=lambda item: self._rank(item[1])):
            if not active.binding.description:
                continue
            keys, _ = by_action.setdefault((active.binding.action, active.binding.description), ([], active.enabled))
            keys.append(self.app.get_key_display(Binding(key, active.binding.action)))
        return [("/".join(keys), description, enabled) for (_, description), (keys, enabled) in by_action.items()]

    def _rank(self, active: ActiveBinding) -> tuple[int, int]:
        """The screen's own keys first (in their order), then the console's, then the rest."""
        own = (active.binding.action, active.binding.description)
        if own in self.own_bindings:
            return (0, self.own_bindings.index(own))
        return (1, 0) if isinstance(active.node, App) else (2, 0)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog") as dialog:
            dialog.border_title = Text(f"Keys: {self.title_text}")
            dialog.border_subtitle = Text("esc closes · ctrl+p: command palette")
            yield Static(help_text(self._rows()), classes="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)
