"""Search over every queue and state, and bulk retry of all its matches.

1. Plant N job records (default 1,000,000) across four queues and four states straight into Redis with a
   pipeline (records and state sets as the registry scripts write them; no workers involved).
2. Time searches through `OperatorSession.search` (the console's call): to the first match and to the end.
3. Plant 10,000 failed jobs with their own error, find them with a search, and retry all of them through
   `OperatorSession.retry_matches` (batches of 500, one audit entry): jobs/s.

    .venv/bin/python benchmarks/search.py [--jobs 1000000] [--bulk 10000]

Private redis-server in a temp dir (no AOF: the fill is not what is measured), stopped at the end."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wellqueue_tui.auth.identity import LOCAL_DEV
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.jobs.search_query import parse_query
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.session import OperatorSession

QUEUES = ("data-validation", "report-generation", "email-notifications", "webhooks")
#: Out of every 20 jobs: 14 completed, 2 failed, 3 waiting, 1 delayed.
STATES = ("completed",) * 14 + ("failed",) * 2 + ("waiting",) * 3 + ("delayed",)
ERRORS = ("TimeoutError: read timed out after 10 s", "ValueError: volume out of range", "ConnectionError: refused")
ORGS = ("permian-ops", "delaware-basin", "eagle-ford", "bakken-north", "marcellus")


def plant(
    client: redis.Redis, start: int, count: int, now_ms: int, *, state: str | None = None, error: str = ""
) -> None:
    """Write `count` job records from number `start` on, with their state-set and organization entries."""
    pipe = client.pipeline(transaction=False)
    for n in range(start, start + count):
        job_id = f"bench-{n:07}"
        queue = QUEUES[n % len(QUEUES)]
        job_state = state or STATES[n % len(STATES)]
        org = ORGS[n % len(ORGS)]
        created = now_ms - (n % 86_400) * 1000
        data = {"wellId": f"WELL-TX-{n % 5000:04}", "organizationId": org, "county": "Reeves", "n": n}
        record = {
            "id": job_id,
            "queue": queue,
            "kind": queue.replace("-", "_"),
            "state": job_state,
            "data": json.dumps(data, sort_keys=True),
            "options": "{}",
            "created_at": created,
            "attempts": 1,
            "max_attempts": 3,
            "gen": 0,
            "org": org,
        }
        if job_state == "failed":
            record["error"] = error or ERRORS[n % len(ERRORS)]
        pipe.hset(KEYS.job(job_id), mapping=record)
        pipe.zadd(KEYS.state(queue, job_state), {job_id: created})
        pipe.zadd(KEYS.state(queue, job_state, org), {job_id: created})
        if len(pipe) >= 6000:
            pipe.execute()
    pipe.sadd(KEYS.queues, *QUEUES)
    pipe.execute()


def timed_search(session: OperatorSession, text: str) -> tuple[float | None, float, int, int]:
    """(seconds to the first match or None, seconds to the end, matches, jobs looked at)."""
    started = time.perf_counter()
    first = None
    matches = scanned = 0
    for step in session.search(parse_query(text)):
        if step.matches and first is None:
            first = time.perf_counter() - started
        matches += len(step.matches)
        scanned = step.scanned
    return first, time.perf_counter() - started, matches, scanned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis", port=0, appendonly=False)
        try:
            client = redis.Redis.from_url(server.url)
            now_ms = int(client.time()[0]) * 1000
            started = time.perf_counter()
            for offset in range(0, args.jobs, 50_000):
                plant(client, offset, min(50_000, args.jobs - offset), now_ms)
            fill_s = time.perf_counter() - started
            print(f"planted {args.jobs:,} jobs in {fill_s:.0f} s", flush=True)
            session = OperatorSession(Registry(client, KEYS), LOCAL_DEV)
            for text in (
                "error:timeout",
                "well:WELL-TX-0001",
                "state:failed error:refused age:<1h",
                "org:permian-ops state:failed",
                "no-such-text",
            ):
                first, total, matches, scanned = timed_search(session, text)
                first_text = "no match" if first is None else f"first match {first * 1000:.0f} ms"
                print(
                    f"search {text!r}: {first_text}, complete {total:.2f} s, "
                    f"{matches:,} matches of {scanned:,} jobs looked at",
                    flush=True,
                )
            plant(client, args.jobs, args.bulk, now_ms, state="failed", error="BulkError: planned for the benchmark")
            first, search_s, matches, _ = timed_search(session, "error:bulkerror state:failed")
            ids = [m.id for step in session.search(parse_query("error:bulkerror state:failed")) for m in step.matches]
            started = time.perf_counter()
            result = session.retry_matches(ids, "error:bulkerror state:failed")
            retry_s = time.perf_counter() - started
            print(
                f"bulk retry of {len(ids):,} matches (found in {search_s:.2f} s): {result.count:,} queued again "
                f"in {retry_s:.2f} s = {result.count / retry_s:,.0f} jobs/s; audit entries: {len(session.audit.page(5).entries)}"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
