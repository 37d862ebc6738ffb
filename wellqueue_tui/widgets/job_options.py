"""A job's options under the names callers pass to `enqueue` (attempts, backoff, removeOnComplete…), read back
from the Dramatiq message options the registry stores (`wq_attempts`, `wq_keep`, `time_limit`…)."""

from __future__ import annotations

from typing import Any

from ..jobs.models import JobDetail, JobState

#: Message options shown under another name as they are; `wq_keep` and `wq_org` are handled on their own.
RENAMED = {"wq_attempts": "attempts", "wq_backoff": "backoff", "wq_priority": "priority", "time_limit": "timeout"}
#: Internal bookkeeping, not something a caller chose.
HIDDEN = {"wq_org", "wq_gen"}


def retention(count: Any, age_ms: Any) -> Any:
    """Bull's forms back: `true` (remove at once), `false` (keep all), a count, or `{count, age}` in seconds."""
    age_s = age_ms // 1000 if isinstance(age_ms, int) and age_ms > 0 else 0
    if age_s:
        return {"count": count, "age": age_s} if isinstance(count, int) and count >= 0 else {"age": age_s}
    if count == 0:
        return True
    if count == -1:
        return False
    return count


def displayed_options(detail: JobDetail) -> dict[str, Any]:
    """jobId, attempts, backoff {type, delay}, removeOnComplete, removeOnFail, timeout (ms), priority and delay
    (ms, while a scheduled job waits); unknown message options stay under their own names."""
    options = detail.options
    shown: dict[str, Any] = {"jobId": detail.summary.id}
    for name, value in options.items():
        if name in HIDDEN:
            continue
        if name == "wq_keep" and isinstance(value, list) and len(value) == 4:
            shown["removeOnComplete"] = retention(value[0], value[1])
            shown["removeOnFail"] = retention(value[2], value[3])
        else:
            shown[RENAMED.get(name, name)] = value
    job = detail.summary
    if job.state == JobState.DELAYED and not job.attempts and detail.delayed_until and job.created_at:
        shown["delay"] = round((detail.delayed_until - job.created_at) * 1000)
    return shown
