"""`wellqueue limit QUEUE [RATE] [--concurrency N]`: a queue's rate limit and cluster-wide cap on jobs in flight,
shown, or set live on every host through the operator session (LIMIT, audited)."""

from __future__ import annotations

import argparse

from ..jobs.models import QueueLimits
from .context import EXIT_USAGE, CliContext, CliError
from .output import emit_json, printable, report


def cmd_limit(ctx: CliContext) -> int:
    a = ctx.args
    ctx.broker()  # registers this configuration's queues, so a queue may be limited before its first job
    session = ctx.session()
    if a.rate is None and a.concurrency is None:
        if a.queue not in session.known_queues():
            raise CliError(f"unknown queue {printable(a.queue)!r}; known queues: {', '.join(session.known_queues())}")
        limits = session.queue_limits(a.queue)
        if a.json:
            emit_json({"queue": a.queue, **limits_dict(limits)})
        else:
            print(describe(a.queue, limits))
        return 0
    if a.json:
        raise CliError("--json shows a queue's limits; leave it out when changing them", EXIT_USAGE)
    return report(session.set_queue_limit(a.queue, a.rate, a.concurrency))


def limits_dict(limits: QueueLimits) -> dict:
    """The limits as JSON: BullMQ's `limiter` shape and `globalConcurrency`, in force and configured."""

    def rate(value):
        return {"max": value.max, "duration": value.duration_ms} if value else None

    return {
        "limiter": rate(limits.rate),
        "globalConcurrency": limits.concurrency,
        "configured": {"limiter": rate(limits.configured_rate), "globalConcurrency": limits.configured_concurrency},
        "live": {"limiter": limits.rate_live, "globalConcurrency": limits.concurrency_live},
    }


def describe(queue: str, limits: QueueLimits) -> str:
    def origin(live: bool) -> str:
        return "set live" if live else "configured"

    rate = f"{limits.rate} ({origin(limits.rate_live)})" if limits.rate else f"off ({origin(limits.rate_live)})"
    cap = (
        f"{limits.concurrency} jobs ({origin(limits.concurrency_live)})"
        if limits.concurrency
        else f"off ({origin(limits.concurrency_live)})"
    )
    return f"{printable(queue)}\n  rate limit        {rate}\n  max in flight     {cap}"


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "limit",
        help="show or set a queue's rate limit and cluster-wide concurrency cap (live, every host)",
        description="RATE is MAX/DURATION (10/s, 600/min, 100/30s, 5/1500ms), off, or config (back to "
        "WELLQUEUE_QUEUE_OPTIONS). Without RATE or --concurrency, shows the queue's limits.",
    )
    p.add_argument("queue")
    p.add_argument("rate", nargs="?", metavar="RATE")
    p.add_argument(
        "--concurrency", metavar="N", help="at most N jobs of the queue in flight over every host; off; config"
    )
    p.add_argument("--json", action="store_true", help="show the limits as JSON")
    p.set_defaults(run=cmd_limit)
