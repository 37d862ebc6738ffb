"""No job stranded by a failover: a delivery left in a live worker's acks set that the worker no longer holds
(its finish was lost with the old master) is queued again or dropped as the registry says, by the consumer
after a reconnect, without a restart; what the worker does hold is left alone. Progress and log writes that
Redis refuses are kept and written later, never failing the job."""

from __future__ import annotations

import pytest
import redis

from wellqueue_tui.jobs import broker as broker_module
from wellqueue_tui.jobs import enqueue, prepare_message
from wellqueue_tui.jobs.middleware.job_context import RedisJobSink

from .conftest import running_worker, wait_for

QUEUE = "samples"


def strand(client: redis.Redis, broker, job_id: str, state: str = "active") -> bytes:
    """What a failover leaves: the job's message taken off the ready list into this worker's acks set, as the
    fetch did, with no finish after it; the job shown in `state`."""
    keys = broker.keys.queue(QUEUE)
    rid = client.lpop(keys.ready)
    client.sadd(keys.acks(broker.broker_id), rid)
    client.zrem(broker.keys.state(QUEUE, "waiting"), job_id)
    client.zadd(broker.keys.state(QUEUE, state), {job_id: 1})
    client.hset(broker.keys.job(job_id), "state", state)
    return rid


def kill_clients(client: redis.Redis) -> None:
    """Close every other connection (the worker's), as a failover does; this one survives (SKIPME)."""
    client.client_kill_filter(_type="normal", skipme=True)


def strand_behind_its_back(broker, client: redis.Redis, job_id: str) -> None:
    """Enqueue `job_id` straight into a running worker's acks set (the script's ready list swapped for a spare
    key, so the worker cannot fetch it first): a delivery whose finish a failover lost."""
    message, _delay = prepare_message(broker, QUEUE, {"n": 3}, job_id=job_id)
    message, keys, args = broker._prepare(message, None, True)
    broker.registry_scripts.enqueue(keys=[keys[0] + ":spare", *keys[1:]], args=args)
    client.sadd(broker.keys.queue(QUEUE).acks(broker.broker_id), message.options["redis_message_id"])
    client.delete(keys[0] + ":spare")
    client.hset(broker.keys.job(job_id), "state", "active")
    client.zrem(broker.keys.state(QUEUE, "waiting"), job_id)
    client.zadd(broker.keys.state(QUEUE, "active"), {job_id: 1})


def test_a_stranded_delivery_is_queued_again_while_the_worker_runs(broker, redis_client, monkeypatch):
    """The periodic reconcile: a killed connection is often replaced by redis-py without the consumer noticing."""
    monkeypatch.setattr(broker_module, "RECONCILE_INTERVAL_S", 0.5)
    enqueue(QUEUE, {"n": 1, "sleep_ms": 3000}, job_id="held", broker=broker)
    with running_worker(broker, threads=1):
        wait_for(lambda: redis_client.hget(broker.keys.job("held"), "state") == b"active")
        strand_behind_its_back(broker, redis_client, "stranded")
        kill_clients(redis_client)
        wait_for(lambda: redis_client.hget(broker.keys.job("stranded"), "state") == b"completed")
    stranded = redis_client.hmget(broker.keys.job("stranded"), "attempts", "redeliveries", "stalled_at")
    assert stranded[:2] == [b"1", b"1"] and stranded[2] is not None  # the redelivery shows
    held = redis_client.hmget(broker.keys.job("held"), "attempts", "redeliveries", "duplicate_runs")
    assert held == [b"1", None, None]  # what the worker held was left alone
    assert redis_client.scard(broker.keys.queue(QUEUE).acks(broker.broker_id)) == 0


@pytest.mark.parametrize("how", ["completed", "removed", "stale copy"])
def test_a_stranded_delivery_of_a_finished_removed_or_replaced_job_is_dropped(broker, redis_client, how):
    enqueue(QUEUE, {"n": 1}, job_id="done", broker=broker)
    rid = strand(redis_client, broker, "done")
    job = broker.keys.job("done")
    if how == "completed":
        redis_client.hset(job, "state", "completed")
    elif how == "removed":
        redis_client.set(broker.keys.tomb("done"), "1")
    else:
        redis_client.hset(job, "rid", "a-newer-message")
    with running_worker(broker, threads=1):  # a new consumer reconciles before its first fetch
        wait_for(lambda: redis_client.scard(broker.keys.queue(QUEUE).acks(broker.broker_id)) == 0)
    assert not redis_client.hexists(broker.keys.queue(QUEUE).msgs, rid)
    assert redis_client.llen(broker.keys.queue(QUEUE).ready) == 0
    assert redis_client.hget(job, "attempts") == b"0"  # never ran


def test_a_consumer_restarted_by_a_reconnect_leaves_running_jobs_alone(broker, redis_client):
    enqueue(QUEUE, {"n": 1, "sleep_ms": 1500}, job_id="running", broker=broker)
    with running_worker(broker, threads=1):
        wait_for(lambda: redis_client.hget(broker.keys.job("running"), "state") == b"active")
        kill_clients(redis_client)
        wait_for(lambda: redis_client.hget(broker.keys.job("running"), "state") == b"completed")
    record = redis_client.hmget(broker.keys.job("running"), "attempts", "redeliveries", "duplicate_runs")
    assert record == [b"1", None, None]


class Refusing:
    """A client whose every pipeline fails as an unreachable Redis does."""

    def pipeline(self, transaction: bool = True):
        raise redis.ConnectionError("Redis is away")


def test_progress_and_log_lines_wait_through_an_outage_and_go_out_in_order(broker, redis_client):
    sink = RedisJobSink(Refusing(), broker.keys, broker)  # type: ignore[arg-type]
    sink.log("j", "first")
    sink.progress("j", 40)
    sink.log("j", "second")  # none of these raised
    sink.client = broker.client
    assert sink.flush(force=True)
    lines = [line.decode().split(" ", 1)[1] for line in redis_client.lrange(broker.keys.job_log("j"), 0, -1)]
    assert lines == ["first", "second"]
    assert float(redis_client.hget(broker.keys.job("j"), "progress")) == 40
    sink.log("j", "third")
    assert len(redis_client.lrange(broker.keys.job_log("j"), 0, -1)) == 3
