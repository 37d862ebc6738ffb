"""`wellqueue schedules …`: list, add, update, remove, pause, resume and run cron schedules from the shell.

Changes pass the permission table and leave an audit entry, through the operator session; a token with an
org sees and changes only the schedules whose payload's organizationId is that org."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from ..auth.permissions import Action, check
from ..jobs.key_types import explain_redis_error
from ..sanitize import safe_str
from ..workers.scheduler import EnqueueFn, run_schedule_now
from ..workers.schedules import (
    KNOWN_QUEUES,
    TENANT_FIELD,
    Schedule,
    ScheduleError,
    ScheduleStatus,
    ScheduleStore,
    check_payload,
)
from .context import CliContext
from .output import warn

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_schedule_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `schedules` and its actions; `args.schedule_action` is None when no action is given (= list)."""
    parser = subparsers.add_parser(
        "schedules", help="list and edit cron schedules", description="List and edit the cron schedules."
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table (as `list --json`)")
    actions = parser.add_subparsers(dest="schedule_action", metavar="ACTION")

    listing = actions.add_parser("list", help="every schedule with its next and last run (the default)")
    # SUPPRESS: `schedules --json list` keeps the --json given before the action.
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON instead of a table")

    add = actions.add_parser("add", help="create a schedule")
    add.add_argument("name", help="1-64 lowercase letters, digits, '-' or '_'")
    add.add_argument("--cron", required=True, help='5-field crontab, e.g. "0 2 * * *" or "0 6 * * mon-fri"')
    add.add_argument("--queue", required=True, choices=KNOWN_QUEUES)
    add.add_argument("--data", required=True, metavar="JSON|@FILE", help="payload template (a JSON object)")
    add.add_argument("--tz", help="IANA time zone (default: WELLQUEUE_TIMEZONE, America/Chicago)")
    add.add_argument("--disabled", action="store_true", help="create it paused")
    add.add_argument("--description", default="", help="what the schedule is for")

    update = actions.add_parser("update", help="change a schedule's cron, queue, payload, time zone or description")
    update.add_argument("name")
    update.add_argument("--cron")
    update.add_argument("--queue", choices=KNOWN_QUEUES)
    update.add_argument("--data", metavar="JSON|@FILE")
    update.add_argument("--tz")
    update.add_argument("--description")

    for action, text in (
        ("remove", "delete a schedule"),
        ("pause", "stop a schedule firing (keeps it)"),
        ("resume", "let a paused schedule fire again"),
        ("run-now", "enqueue the schedule's job right now"),
    ):
        actions.add_parser(action, help=text).add_argument("name")
    return parser


SCHEDULE_PERMISSIONS = {
    "add": Action.SCHEDULE_ADD,
    "update": Action.SCHEDULE_UPDATE,
    "remove": Action.SCHEDULE_REMOVE,
    "pause": Action.SCHEDULE_PAUSE,
    "resume": Action.SCHEDULE_RESUME,
    "run-now": Action.RUN_SCHEDULE,
}


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `schedules` for the `wellqueue` command."""
    add_schedule_parser(sub).set_defaults(run=cmd_schedules)


def cmd_schedules(ctx: CliContext) -> int:
    """Listing needs a valid token; changes also need the action's permission and are audited."""
    from ..jobs import enqueue

    session = ctx.session()
    action = getattr(ctx.args, "schedule_action", None) or "list"
    if action not in SCHEDULE_PERMISSIONS:
        check(session.identity, Action.VIEW)
        return run_schedules_command(ctx.args, session.schedule_store, enqueue)

    def run() -> int:
        broker = ctx.broker()
        return run_schedules_command(ctx.args, session.schedule_store, functools.partial(enqueue, broker=broker))

    def owner() -> str | None:
        """The organization of the schedule acted on, for its audit entry."""
        if action == "add":
            return _payload(ctx.args.data).get(TENANT_FIELD)
        return session.schedule_org(ctx.args.name)

    code, warning = session.audited(SCHEDULE_PERMISSIONS[action], ctx.args.name, run, owner)
    warn(warning)
    return code


def run_schedules_command(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    """Run one `schedules` action on `store` (scoped to an organization or not); output on stdout, errors on
    stderr; returns the exit code."""
    action = getattr(args, "schedule_action", None) or "list"
    try:
        return _ACTIONS[action](args, store, enqueue_fn)
    except ValueError as exc:  # ScheduleError, and jobs.EnqueueError for a payload the queue refuses
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except redis.RedisError as exc:
        print(f"error: Redis: {explain_redis_error(store.client, store.keys, exc)}", file=sys.stderr)
        return EXIT_FAILED


def _list(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    rows = store.overview(_now())
    if getattr(args, "json", False):
        print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return EXIT_OK
    if not rows:
        print("no schedules; add one with `wellqueue schedules add NAME --cron ... --queue ... --data ...`")
        return EXIT_OK
    print(_table(rows))
    return EXIT_OK


def _add(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    fields: dict[str, Any] = {
        "name": args.name,
        "cron": args.cron,
        "queue": args.queue,
        "payload": _payload(args.data),
        "enabled": not args.disabled,
        "description": args.description,
    }
    if args.tz:
        fields["timezone"] = args.tz
    schedule = Schedule.build(**fields)
    _check(schedule)
    store.add(schedule)
    print(f"added schedule {schedule.name}; {_next_run(store, schedule)}")
    return EXIT_OK


def _update(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    changes: dict[str, Any] = {}
    if args.cron is not None:
        changes["cron"] = args.cron
    if args.queue is not None:
        changes["queue"] = args.queue
    if args.data is not None:
        changes["payload"] = _payload(args.data)
    if args.tz is not None:
        changes["timezone"] = args.tz
    if args.description is not None:
        changes["description"] = args.description
    if not changes:
        raise ScheduleError("nothing to change; pass --cron, --queue, --data, --tz or --description")
    current = store.require(args.name)
    _check(Schedule.build(**{**current.model_dump(), **changes}))
    schedule = store.update(args.name, **changes)
    print(f"updated schedule {schedule.name}; {_next_run(store, schedule)}")
    return EXIT_OK


def _remove(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    store.remove(args.name)
    print(f"removed schedule {args.name}")
    return EXIT_OK


def _pause(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    store.set_enabled(args.name, False)
    print(f"paused schedule {args.name}")
    return EXIT_OK


def _resume(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    schedule = store.set_enabled(args.name, True)
    print(f"resumed schedule {schedule.name}; {_next_run(store, schedule)}")
    return EXIT_OK


def _run_now(args: argparse.Namespace, store: ScheduleStore, enqueue_fn: EnqueueFn) -> int:
    job_id = run_schedule_now(store, enqueue_fn, args.name, _now())
    print(f"enqueued {job_id}")
    return EXIT_OK


_ACTIONS: dict[str, Callable[[argparse.Namespace, ScheduleStore, EnqueueFn], int]] = {
    "list": _list,
    "add": _add,
    "update": _update,
    "remove": _remove,
    "pause": _pause,
    "resume": _resume,
    "run-now": _run_now,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _payload(text: str) -> dict[str, Any]:
    """`--data`: a JSON object given inline or as `@path`."""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScheduleError(f"--data: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(f"--data: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ScheduleError('--data: must be a JSON object, e.g. \'{"validationType": "daily_sweep"}\'')
    return value


def _check(schedule: Schedule) -> None:
    if not check_payload(schedule, _now()):
        print(
            f"warning: payload not checked against the {schedule.queue} payload model (job kinds unavailable)",
            file=sys.stderr,
        )


def _next_run(store: ScheduleStore, schedule: Schedule) -> str:
    if not schedule.enabled:
        return "paused"
    upcoming = store.next_fire_times(schedule, _now())
    return f"next run {_local(upcoming[0])} ({_utc(upcoming[0])})" if upcoming else "it will not fire again"


def _local(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if moment else "-"


def _table(rows: list[ScheduleStatus]) -> str:
    header = ("NAME", "CRON", "TZ", "QUEUE", "NEXT RUN", "NEXT RUN (UTC)", "LAST RUN (UTC)", "ENABLED", "LAST JOB")
    lines = [header]
    for row in rows:
        last_job = f"error: {safe_str(row.last_error, 60)}" if row.last_error else safe_str(row.last_job_id or "-", 80)
        lines.append(
            (
                row.name,
                row.cron,
                row.timezone,
                row.queue,
                _local(row.next_run),
                _utc(row.next_run_utc),
                _utc(row.last_fire_utc),
                "yes" if row.enabled else "no",
                last_job,
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)
