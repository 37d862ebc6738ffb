"""What a processor may do while it runs: report progress, log, enqueue follow-up jobs."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol

from ..settings import Settings
from .cancellation import JobCancelled, cancelled_by


class JobSink(Protocol):
    """Where a running job's side outputs go (Redis in workers, a list in unit tests)."""

    def progress(self, job_id: str, percent: float) -> None: ...
    def log(self, job_id: str, line: str) -> None: ...
    def enqueue(self, queue_or_kind: str, payload: dict, **options: Any) -> str: ...


class JobContext:
    """Handed to every processor together with its validated payload."""

    def __init__(
        self,
        job_id: str,
        queue: str,
        attempt: int,
        settings: Settings,
        sink: JobSink,
        *,
        children_results: dict[str, Any] | None = None,
        children_failures: dict[str, str] | None = None,
    ) -> None:
        self.job_id = job_id
        self.queue = queue
        self.attempt = attempt
        self.settings = settings
        self._sink = sink
        #: A flow's parent: each completed child's result by child id (jobs/flows.py); empty otherwise.
        self.children_results: dict[str, Any] = children_results or {}
        #: A flow's parent: the error of each child that failed with ignoreDependencyOnFailure, by child id.
        self.children_failures: dict[str, str] = children_failures or {}

    def progress(self, percent: float) -> None:
        """Record progress (0–100); shown live in the console."""
        self._sink.progress(self.job_id, max(0.0, min(100.0, float(percent))))

    def log(self, line: str) -> None:
        """Append one line to the job's log."""
        self._sink.log(self.job_id, str(line))

    @property
    def cancelled(self) -> bool:
        """Whether an operator asked to cancel this job (seen within a heartbeat of the request)."""
        return cancelled_by(self.job_id) is not None

    def check_cancelled(self) -> None:
        """Stop here if the job was cancelled: call it between steps of a long job."""
        by = cancelled_by(self.job_id)
        if by is not None:
            raise JobCancelled(f"cancelled by {by}")

    def enqueue(self, queue_or_kind: str, payload: dict, **options: Any) -> str:
        """Submit a follow-up job (same validation and options as `jobs.enqueue`)."""
        return self._sink.enqueue(queue_or_kind, payload, **options)


#: The context of the job running in this thread, set by the JobContexts middleware.
current_job: ContextVar[JobContext | None] = ContextVar("current_job", default=None)
