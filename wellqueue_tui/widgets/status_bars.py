"""The console's top lines: who is signed in where and how Redis is doing, and the outage banner."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..auth.identity import Identity
from ..sanitize import safe_text


def header_text(identity: Identity, problem: str | None, workers: str | None) -> Text:
    text = Text(end="")
    text.append(" WellQueue ", style="bold")
    text.append("│ Redis ", style="dim")
    text.append("down" if problem else "ok", style="bold red" if problem else "bold green")
    text.append(" │ ", style="dim")
    text.append_text(safe_text(identity.label, 80, style="bold"))
    if workers:
        text.append(" │ ", style="dim")
        text.append_text(safe_text(workers, 60))
    return text


class ConsoleHeader(Static):
    """Identity, Redis state and (when the app hosts them) workers; follows the app's reactives."""

    def on_mount(self) -> None:
        app = self.app
        for name in ("connection_problem", "workers_summary"):
            self.watch(app, name, lambda _value: self._redraw(), init=False)
        self._redraw()

    def _redraw(self) -> None:
        app = self.app
        self.update(header_text(app.source.identity, app.connection_problem, app.workers_summary))


class ConnectionBanner(Static):
    """Shown only while the source cannot reach Redis; says so, and that the console keeps retrying."""

    def on_mount(self) -> None:
        self.watch(self.app, "connection_problem", self._show, init=True)

    def _show(self, problem: str | None) -> None:
        self.display = problem is not None
        if problem is not None:
            text = Text("Redis unreachable — retrying…  ", style="bold", end="")
            text.append_text(safe_text(problem, 120))
            self.update(text)
