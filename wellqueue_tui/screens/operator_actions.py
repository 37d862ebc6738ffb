"""The console's operator actions, shared by every screen and the command palette.

Each one checks the permission, asks for confirmation when it destroys or touches many jobs (saying
exactly what and how many), then runs the source call in a worker; the outcome comes back as a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text

from ..auth.permissions import Action, PermissionDenied
from ..jobs.models import QueueCounts
from ..sanitize import safe_str, safe_text
from .clean import CleanRequest, CleanScreen
from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from ..console_data import ConsoleSource
    from .context import ConsoleContext

IRREVERSIBLE = " This cannot be undone."


def jobs_phrase(count: int, adjective: str = "") -> str:
    """`1 failed job`, `37 failed jobs`."""
    words = [str(count), adjective, "job" if count == 1 else "jobs"]
    return " ".join(word for word in words if word)


def _name(value: str) -> Text:
    return safe_text(value, 80, style="bold")


class OperatorActions:
    """Retry, promote, remove, retry all, pause/resume, clean and drain, as the operator asks for them."""

    def __init__(self, console: ConsoleContext) -> None:
        self.console = console

    @property
    def source(self) -> ConsoleSource:
        return self.console.source

    def counts(self, queue: str) -> QueueCounts:
        """The latest counts the screens loaded (at most one refresh old)."""
        return self.console.counts.get(queue) or QueueCounts(queue)

    # Permission

    def permitted(self, action: Action) -> bool:
        if self.source.can(action):
            return True
        self.refuse(action)
        return False

    def refuse(self, action: str) -> None:
        message = str(PermissionDenied(self.source.identity, Action(action)))
        self.console.notify(message, title="Not allowed", severity="warning", markup=False)

    # Jobs

    def retry(self, job_ids: list[str], after: Callable[[], object] | None = None) -> None:
        if self.permitted(Action.RETRY):
            self._on_jobs(job_ids, self.source.retry_job, self.source.retry_jobs, after)

    def promote(self, job_ids: list[str], after: Callable[[], object] | None = None) -> None:
        if self.permitted(Action.PROMOTE):
            self._on_jobs(job_ids, self.source.promote_job, self.source.promote_jobs, after)

    def remove(
        self, queue: str, job_ids: list[str], state: str = "", after: Callable[[], object] | None = None
    ) -> None:
        if not self.permitted(Action.REMOVE):
            return
        if len(job_ids) == 1:
            where = f" ({state})" if state else ""
            question = Text.assemble("Remove job ", _name(job_ids[0]), where, " from ", _name(queue), "?", IRREVERSIBLE)
        else:
            question = Text.assemble(
                f"Remove {jobs_phrase(len(job_ids), 'selected')} from ", _name(queue), "?", IRREVERSIBLE
            )
        self._confirm(
            question, "Remove", partial(self._on_jobs, job_ids, self.source.remove_job, self.source.remove_jobs, after)
        )

    def cancel(self, job_id: str, after: Callable[[], object] | None = None) -> None:
        if not self.permitted(Action.CANCEL):
            return
        question = Text.assemble(
            "Cancel running job ",
            _name(job_id),
            "? It stops at its next check, or is stopped after the grace period, and fails as cancelled by you.",
        )
        self._confirm(
            question, "Cancel job", partial(self.console.perform, partial(self.source.cancel_job, job_id), after)
        )

    def _on_jobs(
        self,
        job_ids: list[str],
        one: Callable[[str], object],
        many: Callable[[list[str]], object],
        after: Callable[[], object] | None = None,
    ) -> None:
        """One job through the single-job call (its error is specific), several through the bulk call."""
        if len(job_ids) == 1:
            self.console.perform(partial(one, job_ids[0]), after)
        else:
            self.console.perform(partial(many, list(job_ids)), after)

    # Queues

    def retry_all(self, queue: str) -> None:
        if not self.permitted(Action.RETRY_ALL):
            return
        failed = self.counts(queue).failed
        if not failed:
            self.console.notify(f"No failed jobs in {safe_str(queue, 80)}.", markup=False)
            return
        question = Text.assemble(f"Retry {jobs_phrase(failed, 'failed')} in ", _name(queue), "?")
        self._confirm(
            question, "Retry all", partial(self.console.perform, partial(self.source.retry_all_failed, queue))
        )

    def toggle_pause(self, queue: str) -> None:
        paused = self.counts(queue).paused
        if self.permitted(Action.RESUME if paused else Action.PAUSE):
            call = self.source.resume_queue if paused else self.source.pause_queue
            self.console.perform(partial(call, queue))

    def clean(self, queue: str, state: str = "completed") -> None:
        if self.permitted(Action.CLEAN):
            self.console.push_screen(CleanScreen(queue, state), partial(self._confirm_clean, queue))

    def _confirm_clean(self, queue: str, request: CleanRequest | None) -> None:
        if request is None:
            return
        in_state = self.counts(queue).of(request.state)
        if request.older_than:
            # The age test runs in Redis; the console only knows how many are in the state at all.
            amount = f"up to {jobs_phrase(in_state, request.state)} older than {request.age_text}"
        else:
            amount = f"all {jobs_phrase(in_state, request.state)}"
        question = Text.assemble(f"Remove {amount} from ", _name(queue), "?", IRREVERSIBLE)
        call = partial(self.source.clean_jobs, queue, request.state, request.older_than_ms)
        self._confirm(question, "Clean", partial(self.console.perform, call))

    def drain(self, queue: str) -> None:
        if not self.permitted(Action.DRAIN):
            return
        counts = self.counts(queue)
        waiting = counts.waiting + counts.prioritized
        question = Text.assemble(
            f"Remove {jobs_phrase(waiting, 'waiting')} from ",
            _name(queue),
            f" ({counts.waiting} waiting, {counts.prioritized} prioritized)? Delayed and running jobs stay.",
            IRREVERSIBLE,
        )
        self._confirm(question, "Drain", partial(self.console.perform, partial(self.source.drain_queue, queue)))

    def _confirm(self, question: Text, label: str, proceed: Callable[[], object]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                proceed()

        self.console.push_screen(ConfirmScreen(question, label), answered)
