"""Acknowledged means replicated, when asked: with WELLQUEUE_MIN_REPLICAS every acknowledging write (enqueue,
bulk enqueue, retry, finish) waits for the replicas; too few in time raise ReplicationTimeout on enqueue and
retry (the same-id retry then succeeds once the replica is back), and never fail a job's attempt on finish.
A real master and replica on loopback; the replica is stopped (SIGSTOP) to fall behind."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
from collections.abc import Iterator

import pytest
import redis

from wellqueue_tui.jobs import ReplicationTimeout, enqueue, enqueue_bulk
from wellqueue_tui.jobs.actions import retry_job
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import RedisNotAvailable, RedisProcess, start_redis
from wellqueue_tui.settings import Settings, get_settings

from .conftest import running_worker, wait_for
from .sample_kinds import KIND as SAMPLE_KIND

QUEUE = "samples"


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[RedisProcess, RedisProcess]]:
    """A master and one replica (AOF, loopback, random ports, one password)."""
    password = secrets.token_hex(8)
    try:
        master = start_redis(tmp_path_factory.mktemp("master"), port=0, password=password)
    except RedisNotAvailable as exc:
        pytest.skip(str(exc))
    replica = start_redis(
        tmp_path_factory.mktemp("replica"),
        port=0,
        password=password,
        extra_config={"replicaof": f"127.0.0.1 {master.port}", "masterauth": password},
    )
    yield master, replica
    os.kill(replica.pid, signal.SIGCONT)
    replica.stop()
    master.stop()


@pytest.fixture
def master(pair) -> Iterator[redis.Redis]:
    master_process, replica_process = pair
    os.kill(replica_process.pid, signal.SIGCONT)
    client = redis.Redis.from_url(master_process.url)
    client.flushall()
    wait_for(lambda: client.execute_command("WAIT", 1, 100) == 1)  # the replica is in sync
    yield client
    client.close()


@pytest.fixture
def replica(pair) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(pair[1].url)
    yield client
    client.close()


@contextlib.contextmanager
def stopped(process: RedisProcess) -> Iterator[None]:
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


@pytest.fixture
def waiting_settings(tmp_path, monkeypatch) -> Iterator[Settings]:
    monkeypatch.setenv("WELLQUEUE_MIN_REPLICAS", "1")
    monkeypatch.setenv("WELLQUEUE_REPLICA_TIMEOUT_MS", "300")
    monkeypatch.setenv("WELLQUEUE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()  # the operator actions read the process settings
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def broker(pair, master, waiting_settings):
    broker = build_broker(pair[0].url, settings=waiting_settings, kinds=[SAMPLE_KIND])
    yield broker
    broker.client.close()


def test_an_acknowledged_enqueue_is_on_the_replica_when_it_returns(broker, replica):
    for n in range(20):
        enqueue(QUEUE, {"n": n}, job_id=f"r{n}", broker=broker)
        assert replica.hget(broker.keys.job(f"r{n}"), "state") == b"waiting"  # no lag left to wait out
    ids = enqueue_bulk([{"queue": QUEUE, "payload": {"n": n}, "job_id": f"b{n}"} for n in range(5)], broker=broker)
    assert all(replica.exists(broker.keys.job(job_id)) for job_id in ids)


def test_too_few_replicas_raise_and_the_same_id_retry_succeeds(pair, broker, master, replica):
    with stopped(pair[1]), pytest.raises(ReplicationTimeout, match="0 of 1 replica") as caught:
        enqueue(QUEUE, {"n": 1}, job_id="late", broker=broker)
    assert caught.value.acknowledged == 0 and caught.value.wanted == 1
    assert "Retry with the same job id" in str(caught.value)
    assert master.exists(broker.keys.job("late"))  # the master has it; only its durability was not confirmed

    assert enqueue(QUEUE, {"n": 1}, job_id="late", broker=broker) == "late"
    assert replica.exists(broker.keys.job("late"))
    assert master.llen(broker.keys.queue(QUEUE).ready) == 1  # queued once


def test_a_bulk_enqueue_raises_too(pair, broker):
    jobs = [{"queue": QUEUE, "payload": {"n": n}, "job_id": f"bulk{n}"} for n in range(3)]
    with stopped(pair[1]), pytest.raises(ReplicationTimeout, match="enqueue of 3 job"):
        enqueue_bulk(jobs, broker=broker)
    assert enqueue_bulk(jobs, broker=broker) == [job["job_id"] for job in jobs]


def test_the_setting_off_waits_for_nothing(pair, master, tmp_path):
    broker = build_broker(pair[0].url, settings=Settings(data_dir=tmp_path), kinds=[SAMPLE_KIND])
    with stopped(pair[1]):
        assert enqueue(QUEUE, {"n": 1}, job_id="free", broker=broker) == "free"
    broker.client.close()


def test_a_retry_waits_for_the_replicas(pair, broker, master, replica):
    registry = Registry(broker.client, broker.keys)
    enqueue(QUEUE, {"n": 1, "permanent": True}, job_id="bad", broker=broker)
    with running_worker(broker, threads=1):
        wait_for(lambda: master.hget(broker.keys.job("bad"), "state") == b"failed")
    with stopped(pair[1]), pytest.raises(ReplicationTimeout, match="requeue of 1 job"):
        retry_job(registry, "bad")
    assert master.hget(broker.keys.job("bad"), "state") == b"waiting"
    wait_for(lambda: replica.hget(broker.keys.job("bad"), "state") == b"waiting")


def test_a_finish_without_replicas_in_time_still_ends_the_attempt(pair, broker, master, caplog):
    enqueue(QUEUE, {"n": 1, "sleep_ms": 300}, job_id="slow", broker=broker)

    def warned() -> bool:
        return any("completed of job slow: 0 of 1 replica" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.WARNING), running_worker(broker, threads=1):
        wait_for(lambda: master.hget(broker.keys.job("slow"), "state") == b"active")
        with stopped(pair[1]):
            wait_for(warned)
    assert master.hget(broker.keys.job("slow"), "state") == b"completed"
    assert master.hget(broker.keys.job("slow"), "attempts") == b"1"
