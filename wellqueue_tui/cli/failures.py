"""`wellqueue failures`: failed jobs of every queue grouped by error signature (largest first), and
`failures retry|remove GROUP` for a whole group, through the operator session (role check, one audit entry)."""

from __future__ import annotations

import argparse
import dataclasses

from ..jobs.failure_groups import GROUP_LIMIT, FailureGroup
from .context import CliContext
from .output import emit_json, printable, report, table, when


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "failures",
        help="failed jobs of every queue grouped by cause",
        description="Without an action: the failure groups, largest first.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=50, help=f"groups to list (at most {GROUP_LIMIT}; default 50)")
    actions = parser.add_subparsers(dest="failure_action", metavar="ACTION")
    for name, text in (("retry", "queue every failed job of a group again"), ("remove", "remove a group's jobs")):
        actions.add_parser(name, help=text).add_argument("group", help="the group id `wellqueue failures` lists")
    parser.set_defaults(run=cmd_failures)


def group_dict(group: FailureGroup, now: float) -> dict:
    """A group for `--json`: its fields plus the last 24 hours' counts (`trend`, oldest first)."""
    fields = dataclasses.asdict(group)
    fields["hourly"] = {str(hour): count for hour, count in group.hourly.items()}
    fields["top_values"] = {name: [list(row) for row in rows] for name, rows in group.top_values.items()}
    fields["trend"] = group.trend(now)
    return fields


def cmd_failures(ctx: CliContext) -> int:
    args = ctx.args
    session = ctx.session()
    if args.failure_action == "retry":
        return report(session.retry_failure_group(args.group))
    if args.failure_action == "remove":
        return report(session.remove_failure_group(args.group))
    groups = session.failure_groups(max(0, min(args.limit, GROUP_LIMIT)))
    now = session.server_time()
    if args.json:
        emit_json([group_dict(group, now) for group in groups])
        return 0
    if not groups:
        print("no failed jobs in any queue")
        return 0
    rows = [
        [
            group.id,
            str(group.count),
            when(group.first_seen),
            when(group.last_seen),
            printable(", ".join(f"{queue} {count}" for queue, count in group.queues.items()), 40),
            printable(
                "; ".join(f"{name} {rows[0][0]} ×{rows[0][1]}" for name, rows in group.top_values.items() if rows), 60
            ),
            printable(group.signature, 100),
        ]
        for group in groups
    ]
    print(table(rows, ["GROUP", "COUNT", "FIRST", "LAST", "QUEUES", "TOP VALUES", "SIGNATURE"]))
    return 0
