"""The document's queue service on WellQueue: `add_export_job(name, data, options)` and friends, with each
queue's default options (attempts, priority, backoff, timeout, retention) under the caller's.

Priorities are WellQueue's and the document's alike: 1 runs first. A `repeat: {"pattern": cron}` option
registers a cron schedule through the engine's schedule store instead of enqueueing once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wellqueue_tui.jobs import enqueue
from wellqueue_tui.workers.schedules import Schedule, ScheduleStore

from ..common.files import safe_name
from ..common.options import enqueue_options

DAY_S = 24 * 3600
KEEP_COMPLETED = {"age": DAY_S, "count": 1000}
KEEP_FAILED = {"age": 7 * DAY_S, "count": 5000}

#: The document's "Default Options" per queue, as `enqueue` keywords.
QUEUE_DEFAULTS: dict[str, dict[str, Any]] = {
    "exports.export": {
        "attempts": 2,
        "priority": 5,
        "remove_on_complete": KEEP_COMPLETED,
        "remove_on_fail": KEEP_FAILED,
    },
    "exports.email": {
        "attempts": 5,
        "priority": 3,
        "backoff": {"type": "exponential", "delay": 1000},
        "remove_on_complete": KEEP_COMPLETED,
    },
    "exports.ai": {"attempts": 3, "priority": 7, "timeout_ms": 60_000, "remove_on_complete": KEEP_COMPLETED},
    "exports.scheduled": {"attempts": 3, "priority": 5},
}


def _add(queue: str, name: str, data: Mapping[str, Any], options: Mapping[str, Any] | None, broker) -> str:
    return enqueue(
        queue,
        {"name": name, "data": dict(data)},
        broker=broker,
        **enqueue_options(options, defaults=QUEUE_DEFAULTS[queue]),
    )


def add_export_job(name: str, data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _add("exports.export", name, data, options, broker)


def add_email_job(name: str, data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _add("exports.email", name, data, options, broker)


def add_ai_job(name: str, data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _add("exports.ai", name, data, options, broker)


def add_scheduled_job(
    name: str, data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None
) -> str:
    """Enqueue once, or with `repeat: {"pattern": "0 0 * * *"}` add the cron schedule `exports-<name>` and
    return its name."""
    options = dict(options or {})
    repeat = options.pop("repeat", None)
    if repeat is None:
        return _add("exports.scheduled", name, data, options, broker)
    if broker is None:
        from wellqueue_tui.jobs.broker import default_broker

        broker = default_broker()
    schedule = Schedule.build(
        name=f"exports-{safe_name(name).lower()}",
        cron=repeat["pattern"],
        queue="exports.scheduled",
        payload={"name": name, "data": dict(data)},
    )
    return ScheduleStore(broker.client).add(schedule).name
