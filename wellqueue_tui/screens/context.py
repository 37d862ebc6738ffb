"""The one interface screens talk to: the console's source, clock, latest counts and operator actions.

The app satisfies it; screens reach it as `ConsoleScreen.console` and never import the app, so screens
depend on this protocol and the app depends on the screens, not both ways."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.screen import Screen

    from ..console_data import ConsoleSource
    from ..jobs.models import QueueCounts
    from ..workers.worker_records import WorkerInfo
    from .operator_actions import OperatorActions


@runtime_checkable
class ConsoleContext(Protocol):
    """What a screen may ask of the console it runs in."""

    #: Where the data comes from and where actions go (`None` only before a web session signs in).
    source: ConsoleSource
    #: The latest counts per queue the screens loaded, for confirmations and the palette.
    counts: dict[str, QueueCounts]
    #: The worker processes the heartbeat read last (None when the source does not report them).
    fleet: list[WorkerInfo] | None
    #: Where "local time" is (schedules); None: this machine's time zone.
    local_zone: tzinfo | None
    #: `scheduler host-a:4242` or `scheduler: no leader`, when the source can tell.
    scheduler_summary: str | None
    #: Retry, remove, pause… with their permission checks and confirmations.
    operator: OperatorActions

    def now(self) -> float:
        """The current time on the Redis server's clock."""
        ...

    def reading(self) -> AbstractContextManager[None]:
        """Wrap source reads in a thread worker: Redis trouble raises the banner and skips the block."""
        ...

    def perform(self, call: Callable[[], Any], after: Callable[[], object] | None = None) -> object:
        """Run one source action off the event loop; its message becomes a notification."""
        ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...

    def copy_to_clipboard(self, text: str) -> None:
        """Put `text` on the terminal's clipboard (OSC 52: works over SSH, and in tmux with set-clipboard on)."""
        ...

    def push_screen(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None) -> Any: ...

    def open_queue(self, queue: str) -> None: ...
    def open_job(self, job_id: str) -> None: ...
    def open_workers(self) -> None: ...
    def open_search(self, query: str = "") -> None: ...
    def open_schedules(self) -> None: ...
    def open_audit(self) -> None: ...
    def open_alerts(self) -> None: ...
    def open_timeline(self, queue: str | None = None) -> None: ...
    def open_failures(self) -> None: ...
