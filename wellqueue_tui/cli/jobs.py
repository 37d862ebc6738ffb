"""The job and queue commands: enqueue, read counts, stats, pages and one job, and act on them through the
operator session (permission table and audit) — retry, remove, promote, cancel, clean, drain, pause, resume, demo."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..durations import DurationError, parse_duration
from ..jobs.models import STATES
from .context import EXIT_USAGE, CliContext, CliError
from .health import queue_health_dicts
from .output import emit_json, printable, report, table, warn, when


def read_data_argument(text: str, name: str = "--data") -> Any:
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise CliError(f"cannot read {name} file {path}: {exc.strerror}", EXIT_USAGE) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{name} is not valid JSON: {exc}", EXIT_USAGE) from None
    except RecursionError:
        raise CliError(f"{name} is nested too deeply", EXIT_USAGE) from None


def cmd_enqueue(ctx: CliContext) -> int:
    """Submit one job through the session (ENQUEUE; a token with an org only for its own organization's
    payloads); prints the job's id, also when a job with that id exists already."""
    from ..jobs.submission import prepare_message

    a = ctx.args
    payload = read_data_argument(a.data)
    session = ctx.session()

    def submit() -> tuple[str, bool]:
        broker = ctx.broker()
        message, delay = prepare_message(
            broker, a.queue, payload, job_id=a.job_id, priority=a.priority, delay_ms=a.delay, attempts=a.attempts
        )
        return message.message_id, broker.submit(message, delay=delay, create_only=True).created

    result = session.enqueue_job(a.queue, payload, submit)
    print(result.target)
    warn(result)
    return 0


def cmd_enqueue_flow(ctx: CliContext) -> int:
    """Submit a flow (BullMQ FlowProducer shape, see jobs/flows.py) through the session; prints each job's id
    as a tree, the parent first."""
    from ..jobs.flows import enqueue_flow, parse_flow

    spec = parse_flow(read_data_argument(ctx.args.flow, "flow"))
    result, created = ctx.session().enqueue_flow(spec, lambda: enqueue_flow(spec, broker=ctx.broker()))
    if ctx.args.json:
        emit_json(created.as_dict())
    else:
        for depth, job_id, queue in _flow_lines(created.children, 1, [(0, created.id, created.queue)]):
            print(f"{'  ' * depth}{printable(job_id, 200)}  ({printable(queue, 100)})")
    warn(result)
    return 0


def _flow_lines(children, depth: int, lines: list) -> list:
    for child in children:
        lines.append((depth, child.id, child.queue))
        _flow_lines(child.children, depth + 1, lines)
    return lines


def cmd_queues(ctx: CliContext) -> int:
    counts = ctx.session().all_counts()
    if ctx.args.json:
        emit_json(counts)
        return 0
    rows = [[printable(c.queue), *(str(c.of(s)) for s in STATES), "yes" if c.paused else ""] for c in counts]
    print(table(rows, ["QUEUE", *(s.upper() for s in STATES), "PAUSED"]))
    return 0


def cmd_stats(ctx: CliContext) -> int:
    session = ctx.session()
    queues = [ctx.args.queue] if ctx.args.queue else session.known_queues()
    health = queue_health_dicts(session, queues)
    stats: list[dict[str, Any]] = []
    for queue in queues:
        counts = session.queue_counts(queue)
        minutes = session.throughput(queue, 60)
        completed = sum(m.completed for m in minutes)
        failed = sum(m.failed for m in minutes)
        duration = sum(m.duration_ms_sum for m in minutes)
        stats.append(
            {
                "queue": queue,
                "counts": counts,
                "completed_last_hour": completed,
                "failed_last_hour": failed,
                "failure_rate": round(failed / (completed + failed), 4) if completed + failed else 0.0,
                "mean_duration_ms": round(duration / completed, 1) if completed else None,
                "health": health.get(queue),
            }
        )
    if ctx.args.json:
        emit_json(stats)
        return 0
    rows = [
        [
            printable(r["queue"]),
            *(str(r["counts"].of(s)) for s in STATES),
            str(r["completed_last_hour"]),
            str(r["failed_last_hour"]),
            f"{r['failure_rate']:.1%}",
            "-" if r["mean_duration_ms"] is None else f"{r['mean_duration_ms']:.0f} ms",
            printable(", ".join(r["health"]["warnings"]) if r["health"] else "", 60),
        ]
        for r in stats
    ]
    print(table(rows, ["QUEUE", *(s.upper() for s in STATES), "DONE/H", "FAILED/H", "FAIL%", "MEAN", "HEALTH"]))
    return 0


def cmd_jobs(ctx: CliContext) -> int:
    a = ctx.args
    page = ctx.session().list_jobs(a.queue, a.state, a.offset, a.limit)
    if a.json:
        emit_json(page)
        return 0
    rows = [
        [
            printable(j.id, 40),
            printable(j.kind, 28),
            j.state,
            f"{j.attempts}/{j.max_attempts}",
            when(j.created_at),
            printable(j.error or "", 50),
        ]
        for j in page.jobs
    ]
    print(table(rows, ["ID", "KIND", "STATE", "ATTEMPTS", "CREATED", "ERROR"]))
    print(f"({len(page.jobs)} of {page.total} {page.state} jobs from offset {page.offset})", file=sys.stderr)
    return 0


def cmd_job(ctx: CliContext) -> int:
    job = ctx.session().get_job(ctx.args.id)
    if job is None:
        raise CliError(f"job {ctx.args.id!r} not found")
    if ctx.args.json:
        emit_json(job)
        return 0
    s = job.summary
    for label, value in [
        ("id", s.id),
        ("queue", s.queue),
        ("kind", s.kind),
        ("state", s.state),
        ("attempts", f"{s.attempts}/{s.max_attempts}"),
        ("priority", s.priority or "-"),
        ("progress", f"{s.progress:.0f}%"),
        ("created", when(s.created_at)),
        ("started", when(s.started_at)),
        ("finished", when(s.finished_at)),
        ("delayed until", when(job.delayed_until)),
        ("worker", job.worker or "-"),
        ("organization", s.org or "-"),
        ("error", s.error or "-"),
    ]:
        print(f"{label:>14}: {printable(value, 200)}")
    print(f"{'payload':>14}: {printable(json.dumps(s.data, sort_keys=True), 2000)}")
    if job.result is not None:
        print(f"{'result':>14}: {printable(json.dumps(job.result, sort_keys=True), 2000)}")
    for attempt in job.attempt_errors:
        print(f"{'attempt ' + str(attempt.number):>14}: {when(attempt.at)} {printable(attempt.error, 200)}")
    if job.parent:
        print(f"{'flow parent':>14}: {printable(job.parent, 200)}")
    if job.children:
        print("children:")
        for depth, node in _tree_lines(job.children, 1, []):
            print(f"{'  ' * depth}{printable(node.id, 200)}  {node.state}  ({printable(node.queue, 100)})")
    for problem in job.problems:
        print(f"{'problem':>14}: {problem}")
    if job.traceback:
        print("traceback:\n" + printable(job.traceback, 20_000).replace("\\n", "\n"))
    if job.logs:
        print("log:")
        for line in job.logs:
            print("  " + printable(line, 500))
    return 0


def _tree_lines(nodes, depth: int, lines: list) -> list:
    for node in nodes:
        lines.append((depth, node))
        _tree_lines(node.children, depth + 1, lines)
    return lines


def cmd_retry(ctx: CliContext) -> int:
    a = ctx.args
    session = ctx.session()
    if a.all_failed:
        return report(session.retry_all_failed(a.all_failed))
    if not a.id:
        raise CliError("give a job id or --all-failed QUEUE", EXIT_USAGE)
    return report(session.retry_job(a.id))


def cmd_clean(ctx: CliContext) -> int:
    a = ctx.args
    try:
        older = parse_duration(a.older_than)
    except DurationError as exc:
        raise CliError(f"--older-than: {exc}", EXIT_USAGE) from None
    return report(ctx.session().clean_jobs(a.queue, a.state, int(older.total_seconds() * 1000), a.limit))


def cmd_demo(ctx: CliContext) -> int:
    """Enqueue the demo's jobs through the session (ADMIN, a token without an org)."""
    from ..jobs import enqueue
    from ..jobs.actions import ActionResult
    from ..wellflow.demo import demo_jobs

    def submit() -> ActionResult:
        broker = ctx.broker()
        jobs = demo_jobs(random.Random(ctx.args.seed), ctx.args.count, webhook_url=ctx.settings.demo_webhook_url)
        for job in jobs:
            enqueue(job.queue, job.payload, broker=broker, **job.options)
        per_queue: dict[str, int] = {}
        for job in jobs:
            per_queue[job.queue] = per_queue.get(job.queue, 0) + 1
        return ActionResult(
            "demo",
            "demo",
            len(jobs),
            f"enqueued {len(jobs)} demo jobs: " + ", ".join(f"{q} {n}" for q, n in sorted(per_queue.items())),
        )

    code = report(ctx.session().enqueue_demo(submit))
    if not ctx.settings.demo_webhook_url:
        print("no webhook jobs: set WELLQUEUE_DEMO_WEBHOOK_URL to a receiver to include them")
    return code


def session_action(method: str, *names: str) -> Callable[[CliContext], int]:
    """A command that calls one `OperatorSession` action with the named arguments and prints its message."""

    def run(ctx: CliContext) -> int:
        return report(getattr(ctx.session(), method)(*(getattr(ctx.args, n) for n in names)))

    return run


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the job and queue commands."""
    p = sub.add_parser("enqueue", help="submit a job; prints its id")
    p.add_argument("queue")
    p.add_argument("--data", required=True, help="payload as JSON, or @file.json")
    p.add_argument("--job-id")
    p.add_argument("--priority", type=int, help="1 is the highest")
    p.add_argument("--delay", type=int, metavar="MS")
    p.add_argument("--attempts", type=int)
    p.set_defaults(run=cmd_enqueue)

    p = sub.add_parser(
        "enqueue-flow",
        help="submit a flow: a parent job that runs after its children (BullMQ FlowProducer JSON)",
        description='FLOW is JSON or @file.json: {"queue": ..., "data": {...}, "opts": {"jobId": ...}, '
        '"children": [{"queue": ..., "data": {...}, "opts": {"failParentOnFailure": true}}, ...]}',
    )
    p.add_argument("flow", metavar="FLOW", help="the flow as JSON, or @flow.json")
    p.add_argument("--json", action="store_true", help="print the created ids as JSON")
    p.set_defaults(run=cmd_enqueue_flow)

    p = sub.add_parser("queues", help="counts per state of every queue")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_queues)

    p = sub.add_parser("stats", help="counts, last-hour throughput, failure rate and mean duration")
    p.add_argument("queue", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_stats)

    p = sub.add_parser("jobs", help="a page of jobs in one state")
    p.add_argument("queue")
    p.add_argument("--state", default="waiting", choices=list(STATES))
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_jobs)

    p = sub.add_parser("job", help="everything about one job")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_job)

    p = sub.add_parser("retry", help="retry a failed job, or every failed job of a queue")
    p.add_argument("id", nargs="?")
    p.add_argument("--all-failed", metavar="QUEUE")
    p.set_defaults(run=cmd_retry)

    for name, method, help_text in [
        ("remove", "remove_job", "delete a job that is not running"),
        ("promote", "promote_job", "run a delayed job now"),
        ("cancel", "cancel_job", "cancel a running job (it fails as cancelled by you)"),
    ]:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("id")
        p.set_defaults(run=session_action(method, "id"))

    p = sub.add_parser("clean", help="remove jobs of a state older than a duration")
    p.add_argument("queue")
    p.add_argument("--state", required=True, choices=["completed", "failed", "waiting", "delayed", "prioritized"])
    p.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 90s, 30m, 12h, 7d")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(run=cmd_clean)

    for name, method, help_text in [
        ("drain", "drain_queue", "remove every waiting job of a queue"),
        ("pause", "pause_queue", "stop workers on every host taking a queue's jobs"),
        ("resume", "resume_queue", "resume a paused queue"),
    ]:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("queue")
        p.set_defaults(run=session_action(method, "queue"))

    p = sub.add_parser("demo", help="enqueue a realistic mixed set of jobs, some failing on purpose")
    p.add_argument("--count", type=int, default=39)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=cmd_demo)
