"""WellQueue against its peers, side by side on one private Redis: bare Dramatiq, WellQueue, BullMQ (Node) and RQ.

    .venv/bin/python benchmarks/peers.py                     # small sizes, a few minutes
    .venv/bin/python benchmarks/peers.py --jobs 20000 --latency-jobs 1000 --quiet-jobs 20 --rounds 3   # the issue's

Needs the `bench` extra (`pip install -e '.[bench]'`, for RQ). BullMQ is installed with npm (with ioredis) into a temp dir for the
run; without node/npm its rows are skipped with a message. Every system runs in fresh subprocesses
(benchmarks/peers_python.py, benchmarks/peers_bullmq.cjs) against one redis-server (AOF `appendfsync always`, as the embedded Redis runs it) started in a temp
dir on a random port; Redis is emptied between systems. With --rounds > 1 the systems take turns in a rotating
order each round and each figure is the median of the rounds.

Printed per system: enqueue jobs/s (single calls, one producer; and bulk batches), processing jobs/s (one worker
process: 8 threads / concurrency 8; RQ: one SimpleWorker), Redis commands and Redis CPU µs per job (INFO
commandstats and INFO cpu deltas; a script's own calls count), latency enqueue call → handler start at 100/s and on a
quiet queue at 1/s (p50/p99, after the worker idled), idle Redis commands per second of one worker process, Redis
bytes per waiting job, worker RSS before its first job, and WellQueue's console + supervisor idle RSS."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wellqueue_tui.redis_server import start_redis  # noqa: E402

PYTHON_SIDE = HERE / "peers_python.py"
NODE_SIDE = HERE / "peers_bullmq.cjs"
LATENCIES = "peers:latencies"
SYSTEMS = ("bare", "wellqueue", "bullmq", "rq")
TITLES = {"bare": "bare Dramatiq", "wellqueue": "WellQueue", "bullmq": "BullMQ", "rq": "RQ"}
#: The stored message of one waiting job, where the system keeps it as one value (Dramatiq's .msgs hash).
MESSAGE_HASH = {"bare": "bare:bench.msgs", "wellqueue": "wellqueue:bench.msgs"}


@dataclass(frozen=True)
class Snapshot:
    calls: int
    cpu_s: float
    memory: int

    @classmethod
    def of(cls, client: redis.Redis) -> Snapshot:
        stats = client.info("commandstats")
        calls = sum(v["calls"] for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_flushall"))
        cpu = client.info("cpu")
        return cls(calls, cpu["used_cpu_user"] + cpu["used_cpu_sys"], client.info("memory")["used_memory"])

    def per_job(self, later: Snapshot, jobs: int) -> tuple[float, float]:
        """Redis commands and Redis CPU µs per job between this snapshot and `later`."""
        return (later.calls - self.calls) / jobs, (later.cpu_s - self.cpu_s) * 1e6 / jobs


class Bench:
    def __init__(self, args, url: str, port: int, node_path: str | None) -> None:
        self.args, self.url, self.port, self.node_path = args, url, port, node_path
        self.client = redis.Redis.from_url(url)
        self.figures: dict[tuple[str, str], list[float]] = defaultdict(list)

    def command(self, system: str, role: str, *extra: str) -> list[str]:
        if system == "bullmq":
            return ["node", str(NODE_SIDE), role, str(self.port), *extra]
        return [sys.executable, str(PYTHON_SIDE), role, system, self.url, *extra]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.node_path:
            env["NODE_PATH"] = self.node_path
        return env

    def run(self, system: str, role: str, *extra: str) -> float:
        """Run one producer or counting consumer to its end; its reported seconds."""
        out = subprocess.run(
            self.command(system, role, *extra), check=True, capture_output=True, text=True, env=self.env()
        ).stdout
        return json.loads(out.strip().splitlines()[-1])["seconds"]

    def concurrency(self, system: str) -> list[str]:
        if system == "rq":
            return []
        return ["--concurrency" if system == "bullmq" else "--threads", str(self.args.threads)]

    def record(self, system: str, name: str, value: float | None) -> None:
        if value is not None:
            self.figures[(system, name)].append(value)

    # -- one system, one round ----------------------------------------------------------------------
    def round(self, system: str) -> None:
        jobs = self.args.rq_jobs if system == "rq" else self.args.jobs
        self.client.flushall()
        before = Snapshot.of(self.client)
        seconds = self.run(system, "produce", "--jobs", str(jobs))
        queued = Snapshot.of(self.client)
        commands, cpu_us = before.per_job(queued, jobs)
        self.record(system, "enqueue/s", jobs / seconds)
        self.record(system, "enqueue cmds", commands)
        self.record(system, "enqueue cpu", cpu_us)
        self.record(system, "bytes/job", (queued.memory - before.memory) / jobs)
        if system in MESSAGE_HASH:
            one = self.client.hrandfield(MESSAGE_HASH[system], 1, withvalues=True)
            self.record(system, "message bytes", len(one[1]) if one else None)

        seconds = self.run(system, "consume", *self.concurrency(system), "--expect", str(jobs))
        commands, cpu_us = queued.per_job(Snapshot.of(self.client), jobs)
        self.record(system, "process/s", jobs / seconds)
        self.record(system, "process cmds", commands)
        self.record(system, "process cpu", cpu_us)

        if system != "bare":  # Dramatiq has no bulk enqueue
            self.client.flushall()
            before = Snapshot.of(self.client)
            seconds = self.run(system, "produce", "--jobs", str(jobs), "--batch", str(self.args.batch))
            commands, cpu_us = before.per_job(Snapshot.of(self.client), jobs)
            self.record(system, "bulk/s", jobs / seconds)
            self.record(system, "bulk cmds", commands)
            self.record(system, "bulk cpu", cpu_us)

        self.client.flushall()
        self.latency(system)

    def latency(self, system: str) -> None:
        worker = subprocess.Popen(
            self.command(system, "consume", *self.concurrency(system)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.env(),
        )
        try:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            time.sleep(1.0)  # boot writes (script loads, registrations) are not idle traffic
            idle = Snapshot.of(self.client)
            time.sleep(self.args.idle)
            self.record(system, "idle cmds/s", (Snapshot.of(self.client).calls - idle.calls) / self.args.idle)
            self.record(system, "worker rss", rss_mib(worker.pid))
            for name, count, rate in (
                ("busy", self.args.latency_jobs, self.args.latency_rate),
                ("quiet", self.args.quiet_jobs, 1.0),
            ):
                self.client.delete(LATENCIES)
                self.run(system, "produce", "--jobs", str(count), "--rate", str(rate))
                deadline = time.monotonic() + 60
                while self.client.llen(LATENCIES) < count and time.monotonic() < deadline:
                    time.sleep(0.05)
                values = sorted(float(v) for v in self.client.lrange(LATENCIES, 0, -1))
                if len(values) < count:
                    print(f"  {TITLES[system]}: only {len(values)} of {count} {name} jobs started in time")
                if values:
                    self.record(system, f"{name} p50", percentile(values, 50))
                    self.record(system, f"{name} p99", percentile(values, 99))
        finally:
            stop(worker)

    # -- the tables ----------------------------------------------------------------------------------
    def median(self, system: str, name: str) -> float | None:
        values = self.figures.get((system, name))
        return statistics.median(values) if values else None

    def print_tables(self, systems: list[str], console_mib: float | None) -> None:
        m = self.median
        bare_enq, bare_proc, bull_bulk, bull_proc = (
            m("bare", "enqueue/s"),
            m("bare", "process/s"),
            m("bullmq", "bulk/s"),
            m("bullmq", "process/s"),
        )
        print("\nEnqueue (one producer)            jobs/s   vs bare  vs BullMQ  cmds/job  Redis CPU µs/job")
        for system in systems:
            for kind, label in (("enqueue", "single"), ("bulk", f"bulk {self.args.batch}")):
                rate = m(system, "enqueue/s" if kind == "enqueue" else "bulk/s")
                if rate is None:
                    continue
                against = bull_bulk if kind == "bulk" else m("bullmq", "enqueue/s")
                print(
                    f"  {TITLES[system] + ' ' + label:30}{rate:>8,.0f}{ratio(rate, bare_enq):>9}{ratio(rate, against):>10}"
                    f"{m(system, kind + ' cmds'):>10.1f}{m(system, kind + ' cpu'):>18.0f}"
                )
        print("\nProcessing (one worker process)   jobs/s   vs bare  vs BullMQ  cmds/job  Redis CPU µs/job")
        for system in systems:
            rate = m(system, "process/s")
            if rate is not None:
                print(
                    f"  {TITLES[system]:30}{rate:>8,.0f}{ratio(rate, bare_proc):>9}{ratio(rate, bull_proc):>10}"
                    f"{m(system, 'process cmds'):>10.1f}{m(system, 'process cpu'):>18.0f}"
                )
        busy, quiet = f"{self.args.latency_jobs} at {self.args.latency_rate:g}/s", f"{self.args.quiet_jobs} at 1/s"
        print(f"\nLatency enqueue → handler start (ms)  {busy}: p50 / p99   {quiet}: p50 / p99   idle cmds/s")
        for system in systems:
            print(
                f"  {TITLES[system]:30}{fmt(m(system, 'busy p50')):>12} / {fmt(m(system, 'busy p99')):<8}"
                f"{fmt(m(system, 'quiet p50')):>14} / {fmt(m(system, 'quiet p99')):<8}{fmt(m(system, 'idle cmds/s')):>12}"
            )
        print(
            "\nMemory                          Redis bytes/waiting job  message bytes  worker RSS before 1st job (MiB)"
        )
        for system in systems:
            print(
                f"  {TITLES[system]:30}{fmt(m(system, 'bytes/job'), 0):>18}{fmt(m(system, 'message bytes'), 0):>18}"
                f"{fmt(m(system, 'worker rss'), 1):>22}"
            )
        if console_mib is not None:
            print(f"  WellQueue console + supervisor idle RSS: {console_mib:.0f} MiB (benchmarks/console.py)")


def percentile(sorted_values: list[float], pct: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def ratio(value: float | None, against: float | None) -> str:
    return f"{value / against:.2f}x" if value and against else "—"


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else None


def stop(worker: subprocess.Popen) -> None:
    try:
        assert worker.stdin is not None
        worker.stdin.write("stop\n")
        worker.stdin.flush()
    except (BrokenPipeError, OSError):
        pass
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)  # RQ's worker stops on SIGTERM; the others have read the line
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def install_bullmq(into: Path) -> str | None:
    """NODE_PATH of a fresh `npm install bullmq ioredis` in `into` (BullMQ 6 leaves its Redis client optional), or
    None with the reason printed."""
    if not shutil.which("node") or not shutil.which("npm"):
        print("BullMQ skipped: node and npm are not on PATH")
        return None
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", "bullmq", "ioredis"],
        cwd=into,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"BullMQ skipped: npm install bullmq ioredis failed: {done.stderr.strip()[-300:]}")
        return None
    return str(into / "node_modules")


def console_idle_rss() -> float | None:
    """WellQueue's console + supervisor idle RSS, as benchmarks/console.py prints it (a small queue)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "console.py"), "--jobs", "2000", "--burst", "200"], capture_output=True, text=True
    )
    found = re.search(r"console \+ supervisor RSS: idle (\d+) MiB", done.stdout)
    return float(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000, help="jobs per enqueue and processing run (issue: 20000)")
    parser.add_argument("--rq-jobs", type=int, default=500, help="RQ's runs (about 100 jobs/s)")
    parser.add_argument("--batch", type=int, default=1000, help="jobs per bulk call")
    parser.add_argument("--threads", type=int, default=8, help="worker threads / BullMQ concurrency")
    parser.add_argument("--latency-jobs", type=int, default=300, help="jobs of the busy latency run (issue: 1000)")
    parser.add_argument("--latency-rate", type=float, default=100.0)
    parser.add_argument("--quiet-jobs", type=int, default=8, help="jobs at 1/s on a quiet queue (issue: 20)")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds a worker idles before the latency runs")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, systems in rotating order; medians printed")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    parser.add_argument("--skip-console", action="store_true", help="skip the console + supervisor footprint run")
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        node_path = install_bullmq(Path(tmp)) if "bullmq" in systems else None
        if "bullmq" in systems and node_path is None:
            systems.remove("bullmq")
        server = start_redis(Path(tmp) / "redis", port=0)
        try:
            bench = Bench(args, server.url, server.port, node_path)
            for number in range(args.rounds):
                order = systems[number % len(systems) :] + systems[: number % len(systems)]
                for system in order:
                    print(f"round {number + 1}/{args.rounds}: {TITLES[system]}", flush=True)
                    bench.round(system)
        finally:
            server.stop()
    console_mib = None if args.skip_console else console_idle_rss()
    print(
        f"\n{args.jobs} no-op jobs a run (RQ {args.rq_jobs}), {args.rounds} round(s), medians; one redis-server, AOF "
        "appendfsync always; Redis emptied between systems"
    )
    bench.print_tables(systems, console_mib)


if __name__ == "__main__":
    main()
