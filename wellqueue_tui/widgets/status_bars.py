"""The console's top lines: who is signed in where, how Redis, the workers and the scheduler are doing, and
the outage banner."""

from __future__ import annotations

from typing import Protocol, cast

from rich.text import Text
from textual.widgets import Static

from ..auth.identity import Identity
from ..console_data import ConsoleSource
from ..sanitize import safe_text

#: The header's scheduler part while no scheduler holds the lease: cron schedules are not firing.
NO_LEADER = "scheduler: no leader"


class ConsoleStatus(Protocol):
    """What the header reads from the console app."""

    source: ConsoleSource
    connection_problem: str | None
    workers_summary: str | None
    scheduler_summary: str | None


def scheduler_summary(leader: str | None) -> str:
    """`scheduler host-a:4242` for a lease holder `host-a:4242:<random token>`; `scheduler: no leader` for none."""
    if not leader:
        return NO_LEADER
    host, _, rest = leader.partition(":")
    pid, _, token = rest.partition(":")
    shown = f"{host}:{pid}" if pid.isdigit() and token else leader  # the token only tells leases apart
    return f"scheduler {shown}"


def header_text(identity: Identity, problem: str | None, workers: str | None, scheduler: str | None = None) -> Text:
    text = Text(end="")
    text.append(" WellQueue ", style="bold")
    text.append("│ Redis ", style="dim")
    text.append("down" if problem else "ok", style="bold red" if problem else "bold green")
    text.append(" │ ", style="dim")
    text.append_text(safe_text(identity.label, 80, style="bold"))
    if workers:
        text.append(" │ ", style="dim")
        text.append_text(safe_text(workers, 60))
    if scheduler:
        text.append(" │ ", style="dim")
        text.append_text(safe_text(scheduler, 60, style="bold yellow" if scheduler == NO_LEADER else ""))
    return text


class ConsoleHeader(Static):
    """Identity, Redis state and (when the source reports them) workers and the scheduler leader; follows
    the app's reactives."""

    def on_mount(self) -> None:
        app = self.app
        for name in ("connection_problem", "workers_summary", "scheduler_summary"):
            self.watch(app, name, lambda _value: self._redraw(), init=False)
        self._redraw()

    def _redraw(self) -> None:
        app = cast(ConsoleStatus, self.app)
        self.update(
            header_text(app.source.identity, app.connection_problem, app.workers_summary, app.scheduler_summary)
        )


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
