"""What every console screen shares: the status lines, data loading off the event loop, gated keys.

A screen says which of its actions need which permission (`GATED_ACTIONS`); keys the operator's role
lacks show greyed out in the footer, and pressing one names the role that would be needed.
"""

from __future__ import annotations

from typing import ClassVar, cast

from textual import events
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from ..widgets.alert_bar import AlertBar
from ..widgets.status_bars import ConnectionBanner, ConsoleHeader
from .context import ConsoleContext


class ConsoleScreen(Screen):
    """Base of the overview, queue and job screens."""

    #: action name (without `action_`) -> the permission (`auth.permissions.Action` value) it needs
    GATED_ACTIONS: ClassVar[dict[str, str]] = {}

    @property
    def console(self) -> ConsoleContext:
        """The console this screen runs in, as screens may see it."""
        return cast(ConsoleContext, self.app)

    def compose_status(self) -> ComposeResult:
        yield ConsoleHeader(classes="console-header")
        yield ConnectionBanner(classes="connection-banner")
        yield AlertBar(classes="alert-bar")

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        """Fetch what the screen shows; called on arrival, every refresh tick and after an action."""

    def is_loading(self, group: str) -> bool:
        """Whether a load of this screen's `group` is still running (a slow Redis: skip the tick)."""
        return any(worker.node is self and worker.group == group and worker.is_running for worker in self.workers)

    def deliver(self, message: Message) -> None:
        """Post a loader's result from its thread, unless a newer load has superseded it."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def permission_for(self, action: str) -> str | None:
        return self.GATED_ACTIONS.get(action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        permission = self.permission_for(action)
        if permission is not None and not self.console.source.can(permission):
            return None  # shown, greyed out
        return True

    def on_key(self, event: events.Key) -> None:
        """A greyed-out key says which role it needs instead of doing nothing."""
        active = self.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        permission = self.permission_for(active.binding.action.split("(", 1)[0])  # `scale(1)` -> `scale`
        if permission is not None:
            event.stop()
            self.console.operator.refuse(permission)
