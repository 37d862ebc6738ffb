"""R3 embedded Redis and R4 maxmemory (reliability.md §5): the embedded server survives SIGKILLs without
losing an acknowledged job and is configured safely; a full Redis refuses enqueues with a typed error and
keeps every job it acknowledged, and an evicting one is refused at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from wellqueue_tui.connection import UnsafeRedisConfig, check_server, redis_client
from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import ensure_embedded, start_redis, stop_embedded
from wellqueue_tui.settings import Settings

from .conftest import TESTS_DIR, report
from .sample_queues import KINDS

pytestmark = pytest.mark.reliability

ROUNDS = 3
JOBS_PER_ROUND = 2000
WORKERS_ONLY_EXIT_REDIS = 3
#: How long a process may take to exit before the test gives up, however slow the machine.
PATIENCE_S = 120


def job_batch(first: int, count: int) -> list[dict]:
    return [{"queue": KINDS[0].queue, "payload": {"n": n}, "job_id": f"job-{n}"} for n in range(first, first + count)]


def pid_gone(pid: int, timeout: float = PATIENCE_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)  # our detached child: reap it if it is ours
            if reaped:
                return True
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def listening_sockets(pid: int) -> list[str]:
    """The TCP listeners of a process, as `address:port` (from /proc/net/tcp*, state 0A = LISTEN)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                address, port = fields[1].split(":")
                found.append(f"{_address(address)}:{int(port, 16)}")
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return "ipv6:" + hex_address


def test_embedded_redis_survives_sigkills_and_is_configured_safely(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("emb")  # short: the unix socket path must fit in sun_path
    settings = Settings(data_dir=data_dir)
    acked: list[str] = []
    pids, checks = [], []
    started = time.monotonic()
    url = ensure_embedded(data_dir)
    try:
        for round_number in range(ROUNDS):
            client = redis_client(url)
            broker = build_broker(url, settings=settings, client=client, kinds=KINDS)
            for first in range(0, JOBS_PER_ROUND, 500):
                acked += enqueue_bulk(job_batch(round_number * JOBS_PER_ROUND + first, 500), broker=broker)
            pid = int(client.info("server")["process_id"])
            persistence, memory = client.info("persistence"), client.info("memory")
            checks.append(
                (
                    int(persistence["aof_enabled"]),
                    memory["maxmemory_policy"],
                    client.config_get("port")["port"],
                    listening_sockets(pid),
                )
            )
            pids.append(pid)
            client.close()
            os.kill(pid, signal.SIGKILL)
            assert pid_gone(pid), "the embedded redis-server died"
            url = ensure_embedded(data_dir)

        client = redis_client(url)
        registry = Registry(client)
        found = sum(1 for job_id in acked if registry.get_job(job_id, log_lines=0) is not None)
        waiting = registry.queue_counts(KINDS[0].queue).waiting
        last_pid = int(client.info("server")["process_id"])
        client.close()
    finally:
        stopped = stop_embedded(data_dir)
    elapsed = time.monotonic() - started
    lost = len(acked) - found
    report(
        "R3 embedded redis",
        rounds=ROUNDS,
        writes=len(acked),
        lost=lost,
        waiting=waiting,
        aof_enabled=[c[0] for c in checks],
        policy=checks[0][1],
        tcp_port=checks[0][2],
        tcp_listeners=sum(len(c[3]) for c in checks),
        url_scheme=url.split(":", 1)[0],
        pids=len({*pids, last_pid}),
        stopped=stopped,
        seconds=round(elapsed, 1),
    )

    assert lost == 0 and waiting == len(acked)
    assert len({*pids, last_pid}) == ROUNDS + 1, "each round ran a fresh server"
    for aof, policy, port, listeners in checks:
        assert aof == 1 and policy == "noeviction"
        if url.startswith("unix://"):
            assert port == "0" and listeners == []
        else:
            assert all(address.startswith("127.0.0.1:") for address in listeners)
    assert stopped and pid_gone(last_pid), "stop_embedded shut the server down"


def test_full_redis_refuses_enqueues_and_keeps_every_acknowledged_job(tmp_path):
    server = start_redis(tmp_path / "redis", port=0, appendonly=True, extra_config={"maxmemory": "3mb"})
    client = redis_client(server.url)
    try:
        broker = build_broker(server.url, settings=Settings(data_dir=tmp_path), client=client, kinds=KINDS)
        acked: list[str] = []
        refusal = None
        started = time.monotonic()
        for first in range(0, 1_000_000, 100):
            try:
                acked += enqueue_bulk(job_batch(first, 100), broker=broker)
            except redis.RedisError as exc:
                refusal = exc
                break
        # the refused batch was pipelined: jobs before the first refused one may have been stored
        registry = Registry(client)
        found = sum(1 for job_id in acked if registry.get_job(job_id, log_lines=0) is not None)
        seconds = time.monotonic() - started
        check_ok = check_server(client)

        client.config_set("maxmemory-policy", "allkeys-lru")
        with pytest.raises(UnsafeRedisConfig):
            check_server(client)
        env = {
            **os.environ,
            "REDIS_URL": server.url,
            "WELLQUEUE_DATA_DIR": str(tmp_path),
            "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS_DIR.parent), os.environ.get("PYTHONPATH")) if p),
        }
        workers_only = subprocess.run(
            [sys.executable, "-m", "wellqueue_tui.cli", "--workers-only"],
            env=env,
            capture_output=True,
            text=True,
            timeout=PATIENCE_S,
        )
    finally:
        client.close()
        server.kill()
    report(
        "R4 maxmemory 3mb",
        acknowledged=len(acked),
        lost=len(acked) - found,
        refusal=type(refusal).__name__ if refusal else None,
        seconds_to_refusal=round(seconds, 1),
        noeviction_warnings=len(check_ok),
        lru_check="UnsafeRedisConfig",
        workers_only_exit=workers_only.returncode,
    )

    assert isinstance(refusal, redis.OutOfMemoryError), f"a typed refusal, got {refusal!r}"
    assert len(acked) > 0 and found == len(acked)
    assert check_ok == []
    assert workers_only.returncode == WORKERS_ONLY_EXIT_REDIS, workers_only.stderr[-2000:]
    assert "noeviction" in workers_only.stdout + workers_only.stderr
