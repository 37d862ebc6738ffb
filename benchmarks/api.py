"""POST-a-job throughput and latency through the REST API: one aiohttp client with keep-alive against
`wellqueue serve --api-only` (its own process) on a private redis-server. Prints jobs/s and p50/p99 latency,
one request at a time and with several in flight on the same client.

    .venv/bin/python benchmarks/api.py [--jobs 5000] [--concurrency 1 8 32]

Every job is a data-validation reading, validated, enqueued and audited as in production."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import redis

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.settings import Settings

READING = {
    "wellId": "WELL-TX-0001",
    "leaseId": "LEASE-1",
    "operatorId": "OP-1",
    "location": {"latitude": 31.99, "longitude": -102.07, "county": "Midland", "state": "TX"},
    "production": {"oil": 150.5, "gas": 1200, "water": 45.2},
    "validationType": "daily_production",
}
PATH = "/api/jobs/queues/data-validation/jobs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_until_up(base: str, process: subprocess.Popen) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit("wellqueue serve --api-only exited")
            try:
                async with session.get(f"{base}/api/jobs/openapi.json") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not come up within 30 s")


async def post_jobs(base: str, token: str, jobs: int, concurrency: int) -> tuple[float, list[float]]:
    """POST `jobs` jobs with `concurrency` requests in flight on one keep-alive session; (seconds, latencies)."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:
        remaining = iter(range(jobs))

        async def lane() -> None:
            for _ in remaining:
                started = time.perf_counter()
                async with session.post(PATH, json={"data": READING}) as response:
                    await response.read()
                    if response.status != 201:
                        raise SystemExit(f"POST answered {response.status}: {await response.text()}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def direct_enqueue_rate(url: str, work: Path, jobs: int) -> float:
    """Jobs/s of in-process `jobs.enqueue` on the same Redis: the floor the HTTP path adds to (no HTTP, no audit)."""
    from wellqueue_tui.jobs import enqueue
    from wellqueue_tui.jobs.broker import build_broker

    broker = build_broker(url, settings=Settings(data_dir=work))
    started = time.perf_counter()
    for _ in range(jobs):
        enqueue("data-validation", READING, broker=broker)
    rate = jobs / (time.perf_counter() - started)
    broker.client.close()
    return rate


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wq-api-bench-"))
    server = start_redis(work / "redis", port=0, password=secrets.token_hex(16))
    secret = secrets.token_hex(32)
    port = free_port()
    env = {**os.environ, "REDIS_URL": server.url, "WELLQUEUE_DATA_DIR": str(work), "WELLQUEUE_JWT_SECRET": secret}
    api = subprocess.Popen(
        [sys.executable, "-m", "wellqueue_tui.cli", "serve", "--api-only", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    client = redis.Redis.from_url(server.url)
    try:
        asyncio.run(wait_until_up(base, api))
        token = issue_token(
            load_signing_key(Settings(data_dir=work, jwt_secret=secret)), sub="bench", role=Role.OPERATOR
        )
        asyncio.run(post_jobs(base, token, 200, 4))  # warm-up: connections, imports, script cache
        print(f"POST {PATH} — {args.jobs} jobs per run, one client with keep-alive")
        print(f"{'in flight':>9}  {'jobs/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'server CPU/job':>14}")
        for concurrency in args.concurrency:
            before, cpu_before = client.zcard("wq:q:data-validation:waiting"), cpu_seconds(api.pid)
            seconds, latencies = asyncio.run(post_jobs(base, token, args.jobs, concurrency))
            cpu_per_job = (cpu_seconds(api.pid) - cpu_before) / args.jobs
            stored = client.zcard("wq:q:data-validation:waiting") - before
            assert stored == args.jobs, f"{stored} of {args.jobs} jobs stored"
            print(
                f"{concurrency:>9}  {args.jobs / seconds:>8,.0f}  {statistics.median(latencies) * 1000:>7.2f}  "
                f"{percentile(latencies, 0.99) * 1000:>7.2f}  {cpu_per_job * 1e6:>11.0f} µs"
            )
        print(f"audit entries written: {client.xlen('wq:audit')}")
        print(
            f"for scale, in-process jobs.enqueue on the same Redis just now: "
            f"{direct_enqueue_rate(server.url, work, args.jobs):,.0f} jobs/s"
        )
    finally:
        api.terminate()
        api.wait(timeout=10)
        client.close()
        server.stop()


if __name__ == "__main__":
    main()
