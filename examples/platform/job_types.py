"""The platform document's job types and priority levels, and what they are on WellQueue.

Each job type is a queue (`platform.email-send`, …) whose Dramatiq actor is named after the type, so
`enqueue("EMAIL_SEND", …)` works as `addJob(JobType.EMAIL_SEND, …)` did. The document's priorities run
from LOW = 1 to URGENT = 20 (higher is more urgent); WellQueue runs priority 1 first, so a document
priority p is enqueued as WellQueue priority 21 − p (URGENT → 1, HIGH → 11, NORMAL → 16, LOW → 20).
"""

from __future__ import annotations

from wellqueue_tui.jobs import EnqueueError


class JobType:
    EMAIL_SEND = "EMAIL_SEND"
    USER_NOTIFICATION = "USER_NOTIFICATION"
    DATA_EXPORT = "DATA_EXPORT"
    FILE_PROCESS = "FILE_PROCESS"
    CACHE_WARM = "CACHE_WARM"
    CLEANUP = "CLEANUP"


class JobPriority:
    LOW = 1
    NORMAL = 5
    HIGH = 10
    URGENT = 20


QUEUES = {
    JobType.EMAIL_SEND: "platform.email-send",
    JobType.USER_NOTIFICATION: "platform.user-notification",
    JobType.DATA_EXPORT: "platform.data-export",
    JobType.FILE_PROCESS: "platform.file-process",
    JobType.CACHE_WARM: "platform.cache-warm",
    JobType.CLEANUP: "platform.cleanup",
}

MIN_PRIORITY, MAX_PRIORITY = JobPriority.LOW, JobPriority.URGENT


def engine_priority(priority: int) -> int:
    """The document's priority (1-20, higher first) as WellQueue's (1-20, 1 first)."""
    if isinstance(priority, bool) or not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise EnqueueError(
            f"priority must be a whole number from {MIN_PRIORITY} (LOW) to {MAX_PRIORITY} (URGENT), got {priority!r}"
        )
    return MAX_PRIORITY + 1 - priority
