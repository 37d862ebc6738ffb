"""BullMQ job options as the documents write them (`jobId`, `delay`, `attempts`, …), as `enqueue` keywords."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wellqueue_tui.jobs import EnqueueError

#: BullMQ option name -> WellQueue `enqueue` keyword.
OPTION_NAMES = {
    "jobId": "job_id",
    "priority": "priority",
    "delay": "delay_ms",
    "attempts": "attempts",
    "backoff": "backoff",
    "timeout": "timeout_ms",
    "removeOnComplete": "remove_on_complete",
    "removeOnFail": "remove_on_fail",
}


def enqueue_options(
    options: Mapping[str, Any] | None,
    *,
    defaults: Mapping[str, Any] | None = None,
    priority: Callable[[int], int | None] | None = None,
) -> dict[str, Any]:
    """`defaults` (enqueue keywords) overlaid by `options` (BullMQ names); `priority` maps the document's
    priority numbers onto WellQueue's (1 = highest) where the document counts the other way."""
    result = dict(defaults or {})
    for name, value in (options or {}).items():
        if name not in OPTION_NAMES:
            raise EnqueueError(f"unknown job option {name!r}; use {', '.join(OPTION_NAMES)}")
        if name == "priority" and priority is not None:
            value = priority(value)
        result[OPTION_NAMES[name]] = value
    if result.get("priority") is None:
        result.pop("priority", None)
    return result
