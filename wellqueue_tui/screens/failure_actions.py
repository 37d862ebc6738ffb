"""Retry all / remove all of a failure group: the permission check, a preview with the exact count read just
before asking (by queue), then the bulk call in batches off the event loop with its progress on the screen."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.widget import Widget

from ..auth.permissions import Action
from ..sanitize import safe_text
from ..widgets import formats
from .confirm import ConfirmScreen
from .operator_actions import IRREVERSIBLE, jobs_phrase

if TYPE_CHECKING:
    from ..console_data import FailureSource
    from ..jobs.failure_groups import FailureGroup
    from .context import ConsoleContext

#: verb -> (permission, button label, dialog title)
BULK = {
    "retry": (Action.RETRY_ALL, "Retry all", "Retry a failure group"),
    "remove": (Action.REMOVE, "Remove all", "Remove a failure group"),
}


def preview_question(verb: str, group: FailureGroup) -> Text:
    """`Retry 1,204 failed jobs (data-validation 1,200, webhooks 4) failing with: <signature>?`"""
    by_queue = ", ".join(f"{queue} {formats.count(count)}" for queue, count in group.queues.items())
    text = Text(end="")
    text.append(f"{verb.capitalize()} {jobs_phrase(group.count, 'failed')}", style="bold")
    text.append_text(safe_text(f" ({by_queue})", 300))
    text.append(" failing with\n")
    text.append_text(safe_text(group.signature, 300, style="bold"))
    text.append("?")
    if verb == "remove":
        text.append(IRREVERSIBLE)
    else:
        text.append(" Each goes back to its queue with its attempts reset.")
    return text


class FailureGroupActions:
    """Asks for and runs a bulk action on one group, for the Failures and the group screens."""

    def __init__(self, screen: Widget, progress: Callable[[int, int], object], after: Callable[[], object]) -> None:
        self.screen = screen
        self.progress = progress  # called on the event loop after each batch
        self.after = after

    @property
    def console(self) -> ConsoleContext:
        return cast("ConsoleContext", self.screen.app)

    @property
    def source(self) -> FailureSource:
        return cast("FailureSource", self.console.source)

    def ask(self, verb: str, group_id: str) -> None:
        permission = BULK[verb][0]
        if self.console.operator.permitted(permission):
            self.screen.run_worker(partial(self.read_preview, verb, group_id), thread=True, group="failure-preview")

    def read_preview(self, verb: str, group_id: str) -> None:
        """The group as it is now (on a worker thread): the preview states its exact count."""
        with self.console.reading():
            group = self.source.failure_group(group_id)
            self.screen.app.call_from_thread(self.confirm, verb, group_id, group)

    def confirm(self, verb: str, group_id: str, group: FailureGroup | None) -> None:
        if group is None or group.count == 0:
            self.console.notify(f"Nothing to {verb}: that failure group has emptied.", markup=False)
            self.after()
            return
        _permission, label, title = BULK[verb]

        def answered(yes: bool | None) -> None:
            if yes:
                self.run(verb, group_id)

        self.console.push_screen(ConfirmScreen(preview_question(verb, group), label, title=title), answered)

    def run(self, verb: str, group_id: str) -> None:
        call = self.source.retry_failure_group if verb == "retry" else self.source.remove_failure_group

        def progress(done: int, total: int) -> None:  # on the action's thread
            self.screen.app.call_from_thread(self.progress, done, total)

        self.console.perform(partial(call, group_id, progress), self.after)


def progress_text(done: int, total: int) -> str:
    return f"  {formats.count(done)} of {formats.count(total)} done" if total else ""
