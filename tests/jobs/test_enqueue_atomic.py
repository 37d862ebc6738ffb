"""Enqueue is all or nothing: a wrong-type key fails it before any write (naming the key), a record left
without its message by an older half-done enqueue is repaired by the same-id retry, and a connection killed
at any point of an enqueue or a bulk enqueue leaves each job either absent or whole, so the retry with the
same ids ends with every job queued exactly once."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from tcp_proxy import Cut, TcpProxy

from wellqueue_tui.connection import redis_client
from wellqueue_tui.jobs import enqueue, enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.key_types import WrongKeyType

from .sample_kinds import KIND as SAMPLE_KIND

QUEUE = "samples"


def queued_once(client: redis.Redis, broker, job_ids: list[str]) -> None:
    """Each job has its record, its message, and exactly one entry on the ready list; nothing else is there."""
    keys = broker.keys.queue(QUEUE)
    ready = client.lrange(keys.ready, 0, -1)
    assert len(ready) == len(set(ready)) == len(job_ids), ready
    assert client.hlen(keys.msgs) == len(job_ids)
    for job_id in job_ids:
        state, rid = client.hmget(broker.keys.job(job_id), "state", "rid")
        assert state == b"waiting", job_id
        assert rid in ready and client.hexists(keys.msgs, rid), job_id


def nothing_of(client: redis.Redis, broker, job_id: str) -> None:
    keys = broker.keys.queue(QUEUE)
    assert not client.exists(broker.keys.job(job_id))
    assert client.type(keys.msgs) in (b"none", b"string")  # nothing stored, or the planted key itself
    assert client.type(broker.keys.state(QUEUE, "waiting")) in (b"none", b"string")
    assert client.type(keys.ready) in (b"none", b"string")


@pytest.mark.parametrize("which", ["ready list", "waiting set", "payload hash", "known queues"])
def test_a_wrong_type_key_fails_the_enqueue_before_any_write_and_is_named(broker, redis_client, which):
    keys = broker.keys.queue(QUEUE)
    key = {
        "ready list": keys.ready,
        "waiting set": broker.keys.state(QUEUE, "waiting"),
        "payload hash": keys.msgs,
        "known queues": broker.keys.queues,
    }[which]
    redis_client.delete(key)
    redis_client.set(key, "planted")

    with pytest.raises(WrongKeyType) as caught:
        enqueue(QUEUE, {"n": 1}, job_id="j1", broker=broker)
    assert caught.value.key == key and caught.value.actual == "string"
    assert f"{key} holds a string" in str(caught.value)
    assert redis_client.get(key) == b"planted"
    if which != "payload hash":
        nothing_of(redis_client, broker, "j1")

    redis_client.delete(key)
    assert enqueue(QUEUE, {"n": 1}, job_id="j1", broker=broker) == "j1"
    queued_once(redis_client, broker, ["j1"])


def test_a_wrong_type_key_in_a_bulk_enqueue_is_named_too(broker, redis_client):
    redis_client.set(broker.keys.queue(QUEUE).ready, "planted")
    with pytest.raises(WrongKeyType, match="holds a string, expected a list"):
        enqueue_bulk([{"queue": QUEUE, "payload": {"n": n}, "job_id": f"b{n}"} for n in range(3)], broker=broker)
    assert not any(redis_client.exists(broker.keys.job(f"b{n}")) for n in range(3))


@pytest.mark.parametrize("rid", [None, b"gone-message"])
def test_a_record_without_its_message_is_repaired_by_the_same_id_retry(broker, redis_client, rid):
    """The half-state an enqueue that failed part-way used to leave: a waiting record, no message."""
    job = broker.keys.job("half")
    fields = {"id": "half", "queue": QUEUE, "kind": SAMPLE_KIND.name, "state": "waiting", "org": "", "data": "{}"}
    if rid:
        fields["rid"] = rid
    redis_client.hset(job, mapping=fields)
    redis_client.zadd(broker.keys.state(QUEUE, "waiting"), {"half": 1})

    assert enqueue(QUEUE, {"n": 7}, job_id="half", broker=broker) == "half"

    queued_once(redis_client, broker, ["half"])
    assert json.loads(redis_client.hget(broker.keys.job("half"), "data")) == {"n": 7}
    assert redis_client.zcard(broker.keys.state(QUEUE, "waiting")) == 1


def test_a_queued_or_running_job_is_not_taken_for_a_half_state(broker, redis_client):
    enqueue(QUEUE, {"n": 1}, job_id="whole", broker=broker)
    keys = broker.keys.queue(QUEUE)
    rid = redis_client.lpop(keys.ready)  # as a fetch does: off the list, the payload stays until the finish
    redis_client.sadd(keys.acks("some-worker"), rid)
    assert enqueue(QUEUE, {"n": 1}, job_id="whole", broker=broker) == "whole"
    assert redis_client.llen(keys.ready) == 0 and redis_client.hlen(keys.msgs) == 1


# -- connections killed at every step ---------------------------------------------------------------------------


@pytest.fixture
def proxy(redis_server):
    proxy = TcpProxy("127.0.0.1", redis_server.port)
    yield proxy
    proxy.close()


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"))


def proxied_broker(redis_url: str, proxy: TcpProxy, settings, *, retries: int):
    client = redis_client(through(redis_url, proxy.port), retry=Retry(NoBackoff(), retries))
    return build_broker(settings=settings, client=client, kinds=[SAMPLE_KIND])


CUTS = [Cut("up", 0), Cut("up", 40), Cut("up", 200), Cut("up", 900), Cut("up", 2000), Cut("down", 0), Cut("down", 3)]


@pytest.mark.parametrize("retries", [0, 1], ids=["no-client-retry", "client-retry"])
@pytest.mark.parametrize("cut", CUTS, ids=lambda c: f"{c.direction}{c.after}")
def test_a_bulk_enqueue_cut_anywhere_ends_whole_after_the_same_id_retry(
    redis_client, redis_url, proxy, settings, cut, retries
):
    jobs = [{"queue": QUEUE, "payload": {"n": n}, "job_id": f"cut-{n}"} for n in range(4)]
    broker = proxied_broker(redis_url, proxy, settings, retries=retries)
    enqueue_bulk(jobs[:1], broker=broker)  # the scripts are loaded and a connection is open: cut the next call
    redis_client.flushall()
    proxy.arm(cut)
    # the caller is told it failed, or not told at all: either way it retries with the same ids
    with contextlib.suppress(redis.ConnectionError):
        enqueue_bulk(jobs, broker=broker)
    assert proxy.fired()
    keys = broker.keys.queue(QUEUE)
    for job in jobs:  # whatever got through is whole
        rid = redis_client.hget(broker.keys.job(job["job_id"]), "rid")
        assert rid is None or redis_client.hexists(keys.msgs, rid)

    assert enqueue_bulk(jobs, broker=broker) == [job["job_id"] for job in jobs]
    queued_once(redis_client, broker, [job["job_id"] for job in jobs])
    broker.client.close()


@pytest.mark.parametrize("cut", CUTS[:3] + CUTS[-2:], ids=lambda c: f"{c.direction}{c.after}")
def test_a_single_enqueue_cut_anywhere_ends_whole_after_the_same_id_retry(
    redis_client, redis_url, proxy, settings, cut
):
    broker = proxied_broker(redis_url, proxy, settings, retries=0)
    enqueue(QUEUE, {"n": 0}, job_id="warm", broker=broker)
    redis_client.flushall()
    proxy.arm(cut)
    with contextlib.suppress(redis.ConnectionError):
        enqueue(QUEUE, {"n": 1}, job_id="one", broker=broker)
    assert proxy.fired()
    assert enqueue(QUEUE, {"n": 1}, job_id="one", broker=broker) == "one"
    queued_once(redis_client, broker, ["one"])
    broker.client.close()
