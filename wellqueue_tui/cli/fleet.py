"""`wellqueue workers` (worker processes on every host) and `wellqueue redis status|stop` (the embedded Redis)."""

from __future__ import annotations

import argparse

from ..auth.permissions import Action, check
from ..redis_server import embedded_status, stop_embedded
from .context import CliContext
from .output import emit_json, table


def cmd_workers(ctx: CliContext) -> int:
    """Worker processes through the session: a valid token, and a token with an org sees no job errors."""
    workers = ctx.session().workers()
    if ctx.args.json:
        emit_json(workers)
        return 0
    rows = [
        [
            w.id,
            w.host,
            str(w.pid),
            ",".join(w.queues),
            w.state,
            str(w.restarts),
            f"{(w.rss_bytes or 0) / 2**20:.0f} MiB",
            f"{w.heartbeat_age_s:.0f}s",
        ]
        for w in workers
    ]
    print(table(rows, ["ID", "HOST", "PID", "QUEUES", "STATE", "RESTARTS", "RSS", "HEARTBEAT"]))
    return 0


def cmd_redis(ctx: CliContext) -> int:
    """The embedded Redis on this host: status needs a valid token, stop an ADMIN one. Neither is audited:
    they work on local files, with Redis stopped or about to be."""
    data_dir = ctx.settings.data_dir
    check(ctx.identity(), Action.REDIS_STOP if ctx.args.redis_command == "stop" else Action.VIEW)
    if ctx.args.redis_command == "stop":
        stopped = stop_embedded(data_dir)
        print("embedded Redis stopped" if stopped else "embedded Redis was not running")
        return 0
    status = embedded_status(data_dir)
    if ctx.args.json:
        emit_json(status)
    else:
        for key, value in status.items():
            print(f"{key:>10}: {value}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `workers` and `redis`."""
    p = sub.add_parser("workers", help="worker processes on every host")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_workers)

    p = sub.add_parser("redis", help="the embedded Redis in the data dir")
    p.add_argument("redis_command", choices=["status", "stop"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_redis)
