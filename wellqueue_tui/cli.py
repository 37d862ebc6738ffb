"""`wellqueue`: the console with its workers, `--workers-only` for servers, and the operator subcommands.

Reads print tables (or JSON with `--json`); mutating commands go through the operator session, so
they pass the permission table and are audited. Errors go to stderr with a non-zero exit code."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import redis

from .auth.identity import Identity
from .auth.permissions import Action, PermissionDenied
from .auth.tokens import AuthRequired, TokenError, authenticate
from .connection import UnsafeRedisConfig, check_server, describe_url, redis_client, resolve_redis_url
from .durations import DurationError, parse_duration
from .jobs.actions import ActionError
from .jobs.models import STATES
from .jobs.keys import KeySchema
from .jobs.registry import Registry, UnknownState
from .redis_server import RedisNotAvailable, RedisStartError, embedded_status, stop_embedded
from .session import OperatorSession
from .settings import Settings, SettingsError, load_settings

EXIT_USAGE = 2


class CliError(Exception):
    """A failure to report on stderr with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class CliContext:
    """What a command needs, resolved lazily: settings, Redis, the registry, the operator."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._settings: Settings | None = None
        self._url: str | None = None
        self._client: redis.Redis | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = resolve_redis_url(self.settings)
        return self._url

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis_client(self.url)
            for warning in check_server(self._client):
                print(f"warning: {warning}", file=sys.stderr)
        return self._client

    @property
    def registry(self) -> Registry:
        return Registry(self.client, self.keys)

    @property
    def keys(self) -> KeySchema:
        return KeySchema.from_settings(self.settings)

    def identity(self) -> Identity:
        return authenticate(self.settings, getattr(self.args, "token", None))

    def session(self) -> OperatorSession:
        return OperatorSession(self.registry, self.identity())

    def broker(self):
        from .jobs.broker import build_broker, use_broker

        broker = build_broker(self.url, settings=self.settings, client=self.client)
        use_broker(broker)
        return broker


# -- output helpers ----------------------------------------------------------------------------

def emit_json(value: Any) -> None:
    def default(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            return dataclasses.asdict(obj)
        return str(obj)

    print(json.dumps(value, default=default, indent=2, sort_keys=True))


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), *(line(r) for r in rows)])


def printable(value: Any, limit: int = 60) -> str:
    """Untrusted text for a terminal: control characters made visible, length bounded."""
    from .sanitize import safe_str

    return safe_str(value, limit)


def when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def read_data_argument(text: str) -> Any:
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise CliError(f"cannot read --data file {path}: {exc.strerror}", EXIT_USAGE) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"--data is not valid JSON: {exc}", EXIT_USAGE) from None
    except RecursionError:
        raise CliError("--data is nested too deeply", EXIT_USAGE) from None


# -- commands ----------------------------------------------------------------------------------

def cmd_enqueue(ctx: CliContext) -> int:
    from .jobs import enqueue

    a = ctx.args
    job_id = enqueue(a.queue, read_data_argument(a.data), job_id=a.job_id, priority=a.priority,
                     delay_ms=a.delay, attempts=a.attempts, broker=ctx.broker())
    print(job_id)
    return 0


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
    report = []
    for queue in queues:
        counts = session.queue_counts(queue)
        minutes = session.throughput(queue, 60)
        completed = sum(m.completed for m in minutes)
        failed = sum(m.failed for m in minutes)
        duration = sum(m.duration_ms_sum for m in minutes)
        report.append({
            "queue": queue, "counts": counts, "completed_last_hour": completed, "failed_last_hour": failed,
            "failure_rate": round(failed / (completed + failed), 4) if completed + failed else 0.0,
            "mean_duration_ms": round(duration / completed, 1) if completed else None,
        })
    if ctx.args.json:
        emit_json(report)
        return 0
    rows = [[printable(r["queue"]), *(str(r["counts"].of(s)) for s in STATES), str(r["completed_last_hour"]),
             str(r["failed_last_hour"]), f"{r['failure_rate']:.1%}",
             "-" if r["mean_duration_ms"] is None else f"{r['mean_duration_ms']:.0f} ms"] for r in report]
    print(table(rows, ["QUEUE", *(s.upper() for s in STATES), "DONE/H", "FAILED/H", "FAIL%", "MEAN"]))
    return 0


def cmd_jobs(ctx: CliContext) -> int:
    a = ctx.args
    page = ctx.session().list_jobs(a.queue, a.state, a.offset, a.limit)
    if a.json:
        emit_json(page)
        return 0
    rows = [[printable(j.id, 40), printable(j.kind, 28), j.state, f"{j.attempts}/{j.max_attempts}",
             when(j.created_at), printable(j.error or "", 50)] for j in page.jobs]
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
    for label, value in [("id", s.id), ("queue", s.queue), ("kind", s.kind), ("state", s.state),
                         ("attempts", f"{s.attempts}/{s.max_attempts}"), ("priority", s.priority or "-"),
                         ("progress", f"{s.progress:.0f}%"), ("created", when(s.created_at)),
                         ("started", when(s.started_at)), ("finished", when(s.finished_at)),
                         ("delayed until", when(job.delayed_until)), ("worker", job.worker or "-"),
                         ("organization", s.org or "-"), ("error", s.error or "-")]:
        print(f"{label:>14}: {printable(value, 200)}")
    print(f"{'payload':>14}: {printable(json.dumps(s.data, sort_keys=True), 2000)}")
    if job.result is not None:
        print(f"{'result':>14}: {printable(json.dumps(job.result, sort_keys=True), 2000)}")
    for attempt in job.attempt_errors:
        print(f"{'attempt ' + str(attempt.number):>14}: {when(attempt.at)} {printable(attempt.error, 200)}")
    for problem in job.problems:
        print(f"{'problem':>14}: {problem}")
    if job.traceback:
        print("traceback:\n" + printable(job.traceback, 20_000).replace("\\n", "\n"))
    if job.logs:
        print("log:")
        for line in job.logs:
            print("  " + printable(line, 500))
    return 0


def _report(result) -> int:
    print(result.message)
    return 0


def cmd_retry(ctx: CliContext) -> int:
    a = ctx.args
    session = ctx.session()
    if a.all_failed:
        return _report(session.retry_all_failed(a.all_failed))
    if not a.id:
        raise CliError("give a job id or --all-failed QUEUE", EXIT_USAGE)
    return _report(session.retry_job(a.id))


def cmd_clean(ctx: CliContext) -> int:
    a = ctx.args
    try:
        older = parse_duration(a.older_than)
    except DurationError as exc:
        raise CliError(f"--older-than: {exc}", EXIT_USAGE) from None
    return _report(ctx.session().clean_jobs(a.queue, a.state, int(older.total_seconds() * 1000), a.limit))


def cmd_demo(ctx: CliContext) -> int:
    from .jobs import enqueue
    from .jobs.demo import demo_jobs

    broker = ctx.broker()
    jobs = demo_jobs(random.Random(ctx.args.seed), ctx.args.count)
    for job in jobs:
        enqueue(job.queue, job.payload, broker=broker, **job.options)
    per_queue: dict[str, int] = {}
    for job in jobs:
        per_queue[job.queue] = per_queue.get(job.queue, 0) + 1
    print(f"enqueued {len(jobs)} demo jobs: " + ", ".join(f"{q} {n}" for q, n in sorted(per_queue.items())))
    return 0


def cmd_redis(ctx: CliContext) -> int:
    data_dir = ctx.settings.data_dir
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


def cmd_workers(ctx: CliContext) -> int:
    from .workers.worker_records import WorkerRecords

    workers = WorkerRecords(ctx.client, ctx.keys).list_workers()
    if ctx.args.json:
        emit_json(workers)
        return 0
    rows = [[w.id, w.host, str(w.pid), ",".join(w.queues), w.state, str(w.restarts),
             f"{(w.rss_bytes or 0) / 2**20:.0f} MiB", f"{w.heartbeat_age_s:.0f}s"] for w in workers]
    print(table(rows, ["ID", "HOST", "PID", "QUEUES", "STATE", "RESTARTS", "RSS", "HEARTBEAT"]))
    return 0


SCHEDULE_PERMISSIONS = {
    "add": Action.SCHEDULE_ADD, "update": Action.SCHEDULE_UPDATE, "remove": Action.SCHEDULE_REMOVE,
    "pause": Action.SCHEDULE_PAUSE, "resume": Action.SCHEDULE_RESUME, "run-now": Action.RUN_SCHEDULE,
}


def cmd_schedules(ctx: CliContext) -> int:
    from .jobs import enqueue
    from .workers.schedule_commands import run_schedules_command

    session = ctx.session()
    action = getattr(ctx.args, "schedule_action", None) or "list"
    if action not in SCHEDULE_PERMISSIONS:
        return run_schedules_command(ctx.args, session.schedule_store, enqueue)

    def run() -> int:
        broker = ctx.broker()
        return run_schedules_command(ctx.args, session.schedule_store, functools.partial(enqueue, broker=broker))

    return session.audited(SCHEDULE_PERMISSIONS[action], ctx.args.name, run)


def cmd_token(ctx: CliContext) -> int:
    from .auth.audit import AuditLog
    from .auth.token_commands import run_token_command

    return run_token_command(ctx.args, ctx.settings, audit=AuditLog(ctx.client, ctx.keys.audit))


def cmd_audit(ctx: CliContext) -> int:
    from .auth.audit import AuditLog
    from .auth.token_commands import run_audit_command

    ctx.identity()  # every role may read the audit, but only with a valid token
    return run_audit_command(ctx.args, AuditLog(ctx.client, ctx.keys.audit))


def cmd_serve(ctx: CliContext) -> int:
    from .web import serve

    if ctx.args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {ctx.args.host}: put TLS in front (a reverse proxy); tokens cross this link",
              file=sys.stderr)
    ctx.client.ping()  # fail here, clearly, rather than in every browser session
    serve(ctx.args.host, ctx.args.port)
    return 0


def cmd_console(ctx: CliContext) -> int:
    if ctx.args.workers_only:
        from .workers.headless import run_workers_only

        return run_workers_only(ctx.settings, log_format=ctx.args.log_format, metrics_port=ctx.args.metrics_port,
                                with_scheduler=not ctx.args.no_scheduler)
    from .console import run_console

    return run_console(ctx.settings, ctx.identity(), ctx.url, with_workers=not ctx.args.no_workers)


# -- parser ------------------------------------------------------------------------------------

def session_action(method: str, *names: str) -> Callable[[CliContext], int]:
    def run(ctx: CliContext) -> int:
        return _report(getattr(ctx.session(), method)(*(getattr(ctx.args, n) for n in names)))

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wellqueue", description=__doc__.splitlines()[0])
    parser.add_argument("--token", help="operator JWT (prefer WELLQUEUE_TOKEN or the token file: "
                                        "a command-line token shows in ps and shell history)")
    parser.add_argument("--workers-only", action="store_true", help="run the supervisor and scheduler without the console")
    parser.add_argument("--no-workers", action="store_true", help="console only: supervise no workers on this host")
    parser.add_argument("--no-scheduler", action="store_true", help="with --workers-only: do not run the cron scheduler")
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1:PORT")
    parser.set_defaults(run=cmd_console)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("enqueue", help="submit a job; prints its id")
    p.add_argument("queue")
    p.add_argument("--data", required=True, help="payload as JSON, or @file.json")
    p.add_argument("--job-id")
    p.add_argument("--priority", type=int, help="1 is the highest")
    p.add_argument("--delay", type=int, metavar="MS")
    p.add_argument("--attempts", type=int)
    p.set_defaults(run=cmd_enqueue)

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

    for name, method, help_text in [("remove", "remove_job", "delete a job that is not running"),
                                    ("promote", "promote_job", "run a delayed job now")]:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("id")
        p.set_defaults(run=session_action(method, "id"))

    p = sub.add_parser("clean", help="remove jobs of a state older than a duration")
    p.add_argument("queue")
    p.add_argument("--state", required=True, choices=["completed", "failed", "waiting", "delayed", "prioritized"])
    p.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 90s, 30m, 12h, 7d")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(run=cmd_clean)

    for name, method, help_text in [("drain", "drain_queue", "remove every waiting job of a queue"),
                                    ("pause", "pause_queue", "stop workers on every host taking a queue's jobs"),
                                    ("resume", "resume_queue", "resume a paused queue")]:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("queue")
        p.set_defaults(run=session_action(method, "queue"))

    p = sub.add_parser("demo", help="enqueue a realistic mixed set of jobs, some failing on purpose")
    p.add_argument("--count", type=int, default=60)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("workers", help="worker processes on every host")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_workers)

    p = sub.add_parser("redis", help="the embedded Redis in the data dir")
    p.add_argument("redis_command", choices=["status", "stop"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_redis)

    p = sub.add_parser("serve", help="the console in a browser (each session signs in with a token)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3003)
    p.set_defaults(run=cmd_serve)

    from .auth.token_commands import add_audit_parser, add_token_parser
    from .workers.schedule_commands import add_schedule_parser

    add_schedule_parser(sub).set_defaults(run=cmd_schedules)
    add_token_parser(sub).set_defaults(run=cmd_token)
    add_audit_parser(sub).set_defaults(run=cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = CliContext(args)
    try:
        return args.run(ctx)
    except CliError as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return exc.code
    except (SettingsError, UnknownState, DurationError) as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # EnqueueError and other bad input
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return EXIT_USAGE
    except (ActionError, PermissionDenied, AuthRequired, TokenError) as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return 1
    except (RedisNotAvailable, RedisStartError, UnsafeRedisConfig) as exc:
        print(f"error: {printable(exc, 2000)}", file=sys.stderr)
        return 3
    except redis.RedisError as exc:
        where = describe_url(ctx._url) if ctx._url else "Redis"
        print(f"error: {where} is unreachable or failed: {exc}", file=sys.stderr)
        return 3
    finally:
        if ctx._client is not None:
            ctx._client.close()


if __name__ == "__main__":
    sys.exit(main())
