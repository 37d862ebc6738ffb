"""Shared helpers for the fault-injection scenarios (marker `reliability`): worker subprocesses running the
sample kinds (alone or under the real supervisor), the test reaper, the per-job audit, and one summary line
per scenario for the CI log."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from wellqueue_tui.connection import redis_client
from wellqueue_tui.jobs import EnqueueError, enqueue_bulk
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.keys import KeySchema
from wellqueue_tui.jobs.reaper import reap_dead_workers
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers.supervisor import RestartPolicy, Supervisor, WorkerGroupSpec

from jobs.conftest import broker, registry, settings  # noqa: F401  (fixtures reused as they are)

from .sample_queues import START_MARK

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "jobs"
TESTS_DIR = SAMPLE_DIR.parent
QUEUE_MODULE = "reliability.sample_queues"  # samples-a/-b/-c, loaded by the workers


def multi_queue_pythonpath() -> str:
    """PYTHONPATH for worker processes that load both `sample_kinds` and `reliability.sample_queues`."""
    return os.pathsep.join(p for p in (str(TESTS_DIR), str(SAMPLE_DIR), os.environ.get("PYTHONPATH")) if p)


def worker_env(redis_url: str, data_dir: Path, *, kind_modules=("sample_kinds",), **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "WELLQUEUE_DATA_DIR": str(data_dir),
        "WELLQUEUE_KIND_MODULES": json.dumps(list(kind_modules)),
        "PYTHONPATH": multi_queue_pythonpath(),
        "WELLQUEUE_HEARTBEAT_TIMEOUT_MS": "2000",  # the test reaper's timeout: workers beat every 0.5 s
        **extra,
    }


def start_worker(
    redis_url: str,
    data_dir: Path,
    *,
    threads: int = 4,
    queues: str = "samples",
    prelude: str = "",
    grace_ms: int | None = None,
    output=subprocess.DEVNULL,
    kind_modules=("sample_kinds",),
) -> subprocess.Popen:
    """A worker process through our entry point; `prelude` is Python run first (e.g. to skew its clock)."""
    code = f"{prelude}\nimport sys\nfrom wellqueue_tui.workers.entry import main\nsys.exit(main(sys.argv[1:]))"
    grace = ["--grace-ms", str(grace_ms)] if grace_ms is not None else []
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--queues",
            queues,
            "--threads",
            str(threads),
            "--worker-id",
            "reliability",
            *grace,
        ],
        env=worker_env(redis_url, data_dir, kind_modules=kind_modules),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def settle(predicate, timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` runs out (False): the figures still get reported."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def report(scenario: str, **figures) -> None:
    """One line per scenario, printed even under -q (CI keeps it)."""
    line = f"[{scenario}] " + " ".join(f"{k}={v}" for k, v in figures.items())
    sys.stdout.write("\n" + line + "\n")
    sys.stdout.flush()


@pytest.fixture(autouse=True)
def _show_report_lines(capsys):
    yield
    out = capsys.readouterr().out
    with capsys.disabled():
        for line in out.splitlines():
            if line.startswith("["):
                print(line)


# -- multi-queue workers under the real supervisor ------------------------------------------------------------

PERMANENT_EVERY = 25  # 4% of the sample jobs fail on purpose, once and for good
RETRIED_EVERY = 20  # 5% fail their first attempt and succeed on the retry (through the delay queue)


def sample_jobs(
    rng, count: int, queues, *, first: int = 0, sleep_ms: tuple[int, int] = (5, 50), prefix: str | None = None
) -> list[dict]:
    """Jobs of `sleep_ms` spread over `queues`, some failing on purpose (fails_on_purpose), some once.
    Every record is kept (no retention) so the audit sees each job; `prefix` gives them known ids."""
    jobs = []
    for n in range(first, first + count):
        job = {
            "queue": queues[n % len(queues)],
            "payload": {
                "n": n,
                "sleep_ms": rng.randint(*sleep_ms),
                "permanent": fails_on_purpose(n),
                "fail_times": int(n % RETRIED_EVERY == 1),
            },
            "remove_on_complete": False,
            "remove_on_fail": False,
        }
        if prefix:
            job["job_id"] = f"{prefix}-{n}"
        jobs.append(job)
    return jobs


def fails_on_purpose(n: int) -> bool:
    """Whether sample job number `n` fails for good on purpose."""
    return n % PERMANENT_EVERY == 0


def finished(registry, queues) -> int:
    """Jobs of `queues` that are completed or failed."""
    return sum(c.completed + c.failed for c in registry.all_counts(queues=list(queues)))


def unfinished(registry, queues) -> int:
    """Jobs of `queues` still waiting, prioritized, delayed or active."""
    return sum(c.active + c.waiting + c.prioritized + c.delayed for c in registry.all_counts(queues=list(queues)))


#: Restart at once, and never call a test's ten kills a crash loop.
FAST_RESTARTS = RestartPolicy(
    initial_backoff_s=0.1, max_backoff_s=0.5, healthy_after_s=5, crash_loop_restarts=50, crash_loop_window_s=120
)


def sample_settings(data_dir: Path, **overrides) -> Settings:
    """Settings for supervised workers running the three sample queues, with the test reaper's 2 s timeout."""
    return Settings(
        data_dir=data_dir, kind_modules=[QUEUE_MODULE], grace_seconds=10, heartbeat_timeout_ms=2000, **overrides
    )


def sample_supervisor(settings: Settings, redis_url: str, processes: int, threads: int, queues) -> Supervisor:
    """The real supervisor with one group consuming `queues` (restarting fast); set PYTHONPATH to
    multi_queue_pythonpath() first, the worker processes inherit it."""
    return Supervisor(
        settings,
        redis_url,
        groups={"samples": WorkerGroupSpec(tuple(queues), processes, threads)},
        policy=FAST_RESTARTS,
        heartbeat_interval_s=0.5,
    )


class RunningSupervisor:
    """A Supervisor on its own event-loop thread, so a scenario can be written as plain blocking code."""

    def __init__(self, supervisor) -> None:
        self.supervisor = supervisor
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-supervisor-loop", daemon=True)
        self.clean: bool | None = None  # set by stop()

    def __enter__(self) -> RunningSupervisor:
        self._thread.start()
        self._await(self.supervisor.start(), timeout=60)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.stop(grace_s=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)

    def _await(self, coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def processes(self):
        async def read():
            return self.supervisor.processes()

        return self._await(read(), timeout=10)

    def live_pids(self) -> list[int]:
        return [p.pid for p in self.processes() if p.pid is not None]

    def stop(self, grace_s: float = 10) -> bool:
        """Drain the workers (SIGTERM, then SIGKILL after the grace time); True when all stopped cleanly."""
        if self.clean is None:
            self.clean = self._await(self.supervisor.stop(grace_s), timeout=grace_s + 30)
        return self.clean


class ReaperLoop(threading.Thread):
    """The test reaper (reliability.md §5): every `interval_s`, requeue the jobs of workers whose heartbeat
    is older than `timeout_ms`. Redis errors are counted, not raised: some scenarios take Redis away."""

    def __init__(self, redis_url: str, keys: KeySchema = KEYS, timeout_ms: int = 2000, interval_s: float = 0.5) -> None:
        super().__init__(name="test-reaper", daemon=True)
        self.client = redis_client(redis_url)
        self.keys = keys
        self.timeout_ms = timeout_ms
        self.interval_s = interval_s
        self.dead_workers = self.requeued = self.failed = self.errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                found = reap_dead_workers(self.client, self.keys, self.timeout_ms)
            except (redis.RedisError, OSError):
                self.errors += 1
                continue
            self.dead_workers += found.dead_workers
            self.requeued += found.requeued
            self.failed += found.failed

    def __enter__(self) -> ReaperLoop:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop_event.set()
        self.join(timeout=10)
        self.client.close()


@dataclass(frozen=True)
class Refusal:
    """An enqueue that raised: when (monotonic), how long it took to raise, what, and which job ids."""

    at: float
    seconds: float
    error: str
    ids: tuple[str, ...]


class PacedProducer(threading.Thread):
    """Enqueues one batch (enqueue_bulk) every `interval_s`, paced by the clock rather than by how long each
    enqueue takes, until stopped; keeps every acknowledged id and every refusal."""

    def __init__(self, broker, make_batch: Callable[[int], list[dict]], interval_s: float) -> None:
        super().__init__(name="test-producer", daemon=True)
        self.broker = broker
        self.make_batch = make_batch
        self.interval_s = interval_s
        self.acked: list[str] = []
        self.refusals: list[Refusal] = []
        self.batches = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            batch = self.make_batch(self.batches)
            started = time.monotonic()
            try:
                self.acked.extend(enqueue_bulk(batch, broker=self.broker))
            except (redis.RedisError, EnqueueError) as exc:
                ids = tuple(job.get("job_id", "") for job in batch)
                self.refusals.append(Refusal(started, time.monotonic() - started, type(exc).__name__, ids))
            self.batches += 1
            next_at += self.interval_s
            self._stop_event.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)


# -- what happened to each job ---------------------------------------------------------------------------------


@dataclass
class JobAudit:
    """Every job's fate from the registry, and how often it really started. The sample queues log one
    "start N <token>" line per start (the same token twice is one write a client sent twice after a dropped
    reply); for the plain `samples` kind, every "attempt N" line counts as a start."""

    states: Counter
    state_of: dict[str, str]
    missing: list[str]  # acknowledged ids with no record at all
    starts: dict[str, int]
    started_twice: list[str]  # the same attempt number started more than once
    invisible: list[str]  # started twice, yet neither attempts >= 2 nor redeliveries >= 1 shows it
    finished_twice: int  # completions recorded after the first (duplicate_runs)
    repeated_log_lines: int  # start marks written twice by a client retry

    def count(self, *states: str) -> int:
        return sum(self.states[s] for s in states)

    def ids_in(self, state: str) -> set[str]:
        return {job_id for job_id, s in self.state_of.items() if s == state}


def _attempt_numbers(lines: list[str]) -> tuple[list[str], int]:
    """The attempt number of each start, and how many start marks were the same write repeated."""
    marks = [line.split(f" {START_MARK} ", 1)[1].split() for line in lines if f" {START_MARK} " in line]
    if marks:
        unique = {tuple(mark[:2]) for mark in marks}
        return [attempt for attempt, _token in unique], len(marks) - len(unique)
    return [line.split(" attempt ", 1)[1].split()[0] for line in lines if " attempt " in line], 0


def audit_jobs(client: redis.Redis, ids: list[str]) -> JobAudit:
    fields = ("state", "attempts", "redeliveries", "duplicate_runs")
    rows, logs = [], []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        with client.pipeline(transaction=False) as pipe:
            for job_id in chunk:
                pipe.hmget(KEYS.job(job_id), fields)
                pipe.lrange(KEYS.job_log(job_id), 0, -1)
            replies = pipe.execute()
        rows += replies[0::2]
        logs += replies[1::2]
    states: Counter = Counter()
    state_of: dict[str, str] = {}
    missing, starts, started_twice, invisible, finished_twice, repeated = [], {}, [], [], 0, 0
    for job_id, (state, attempts, redeliveries, duplicates), lines in zip(ids, rows, logs):
        if state is None:
            missing.append(job_id)
            continue
        states[state.decode()] += 1
        state_of[job_id] = state.decode()
        numbers, repeats = _attempt_numbers([line.decode() for line in lines])
        repeated += repeats
        starts[job_id] = len(numbers)
        finished_twice += int(duplicates or 0)
        if any(n > 1 for n in Counter(numbers).values()):
            started_twice.append(job_id)
            if int(attempts or 0) < 2 and int(redeliveries or 0) < 1:
                invisible.append(job_id)
    return JobAudit(states, state_of, missing, starts, started_twice, invisible, finished_twice, repeated)


def stranded_acks(client: redis.Redis, namespace: str = "wellqueue") -> int:
    """Messages still held in some worker's acks set (none should be once every worker stopped and the
    reaper ran)."""
    return sum(client.scard(key) for key in client.scan_iter(match=f"{namespace}:__acks__.*", count=1000))


def queue_backlog(client: redis.Redis, queues, namespace: str = "wellqueue") -> int:
    """Messages Dramatiq still has to deliver: ready lists, priority and delay queues."""
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(f"{namespace}:{queue}")
            pipe.zcard(f"{namespace}:{queue}.PQ")
            pipe.llen(f"{namespace}:{queue}.DQ")
        return sum(pipe.execute())
