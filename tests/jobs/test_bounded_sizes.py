"""Bounded sizes on the private Redis: an oversize payload is refused at enqueue and nothing is stored, and a
huge field planted in a job hash stays in Redis when the console or CLI reads the job."""

from __future__ import annotations

import json

import pytest
import redis
from pydantic import BaseModel, ConfigDict

from wellqueue_tui.jobs import EnqueueError, enqueue, enqueue_bulk
from wellqueue_tui.jobs.bounded_reads import RECORD_READ_BYTES, ROW_READ_BYTES, CutField, decode, queue_bounded_hmget
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.kind import JobKind
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import DEFAULT_MAX_PAYLOAD_BYTES, Settings, SettingsError, load_settings

from .conftest import make_broker

MIB = 1024 * 1024
PLANTED_BYTES = 50 * MIB


class BlobPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = ""
    data: dict = {}


BLOB_KIND = JobKind(name="blob_job", queue="blobs", payload=BlobPayload, process=lambda payload, ctx: None)


def payload_of_size(size: int) -> dict:
    """A payload whose compact JSON encoding is exactly `size` bytes."""
    overhead = len(json.dumps({"text": ""}, separators=(",", ":")))
    return {"text": "x" * (size - overhead)}


def stored_keys(client: redis.Redis) -> list[bytes]:
    return sorted(key for key in client.scan_iter(count=1000) if not key.startswith(b"wq:queues"))


@pytest.fixture
def blob_broker(redis_client, redis_url, tmp_path):
    with make_broker(redis_url, Settings(data_dir=tmp_path, max_payload_bytes=64 * 1024), [BLOB_KIND]) as broker:
        yield broker


# --- the payload limit at enqueue ---------------------------------------------------------------------


def test_a_payload_at_the_limit_is_stored_and_one_byte_more_is_refused_naming_both(blob_broker, redis_client):
    limit = 64 * 1024
    before = stored_keys(redis_client)
    with pytest.raises(EnqueueError) as caught:
        enqueue("blobs", payload_of_size(limit + 1), broker=blob_broker, job_id="too-big")
    message = str(caught.value)
    assert f"{limit + 1} bytes" in message and f"limit of {limit} bytes" in message
    assert "WELLQUEUE_MAX_PAYLOAD_BYTES" in message and "blobs" in message
    assert stored_keys(redis_client) == before  # nothing stored: no record, message, tombstone or index entry
    assert not redis_client.exists(KEYS.job("too-big"), KEYS.tomb("too-big"))
    assert redis_client.zcard(KEYS.state("blobs", "waiting")) == 0

    job_id = enqueue("blobs", payload_of_size(limit), broker=blob_broker, job_id="just-fits")
    assert json.loads(redis_client.hget(KEYS.job(job_id), "data")) == payload_of_size(limit)


def test_the_size_is_that_of_the_encoded_json_not_of_the_characters(blob_broker, redis_client):
    # 20,000 "é" are 20,000 characters but 120,000 bytes of JSON as Dramatiq encodes them (\u00e9 each)
    with pytest.raises(EnqueueError, match=r"is 120011 bytes of JSON, over the limit of 65536 bytes"):
        enqueue("blobs", {"text": "é" * 20_000}, broker=blob_broker)
    with pytest.raises(EnqueueError, match="over the limit"):
        enqueue("blobs", {"data": {f"k{n}": [n] * 10 for n in range(3000)}}, broker=blob_broker)
    assert redis_client.zcard(KEYS.state("blobs", "waiting")) == 0


def test_one_oversize_job_in_a_bulk_enqueue_stores_nothing(blob_broker, redis_client):
    before = stored_keys(redis_client)
    jobs = [
        {"queue": "blobs", "payload": {"text": "small"}, "job_id": "bulk-0"},
        {"queue": "blobs", "payload": payload_of_size(64 * 1024 + 10), "job_id": "bulk-1"},
        {"queue": "blobs", "payload": {"text": "small too"}, "job_id": "bulk-2"},
    ]
    with pytest.raises(EnqueueError, match=r"^job 1: payload for blobs is 65546 bytes of JSON, over the limit"):
        enqueue_bulk(jobs, broker=blob_broker)
    assert stored_keys(redis_client) == before
    assert enqueue_bulk([jobs[0], jobs[2]], broker=blob_broker) == ["bulk-0", "bulk-2"]


def test_the_limit_defaults_to_one_mib_and_comes_from_the_environment(monkeypatch, redis_client, redis_url, tmp_path):
    assert DEFAULT_MAX_PAYLOAD_BYTES == MIB and Settings().max_payload_bytes == MIB
    with make_broker(redis_url, Settings(data_dir=tmp_path), [BLOB_KIND]) as broker:
        assert broker.max_payload_bytes == MIB
        enqueue("blobs", payload_of_size(MIB), broker=broker)
        with pytest.raises(EnqueueError, match=f"{MIB + 1} bytes of JSON, over the limit of {MIB} bytes"):
            enqueue("blobs", payload_of_size(MIB + 1), broker=broker)
    monkeypatch.setenv("WELLQUEUE_MAX_PAYLOAD_BYTES", "2048")
    assert load_settings().max_payload_bytes == 2048
    monkeypatch.setenv("WELLQUEUE_MAX_PAYLOAD_BYTES", "10")
    with pytest.raises(SettingsError, match="WELLQUEUE_MAX_PAYLOAD_BYTES"):
        load_settings()


# --- bounded reads of job records ---------------------------------------------------------------------


def bytes_sent_by_redis(client: redis.Redis) -> int:
    return int(client.info("stats")["total_net_output_bytes"])


def plant_job(client: redis.Redis, job_id: str, **fields: bytes | str) -> None:
    record = {
        "id": job_id,
        "queue": "blobs",
        "kind": "blob_job",
        "state": "waiting",
        "data": '{"text": "ok"}',
        "options": "{}",
        "attempts": "0",
        "max_attempts": "1",
        "created_at": "1750000000000",
        **fields,
    }
    client.hset(KEYS.job(job_id), mapping=record)
    client.zadd(KEYS.state("blobs", "waiting"), {job_id: 1})


def test_a_planted_50_mb_field_is_not_transferred_by_get_job(redis_client):
    plant_job(redis_client, "planted", data=b"x" * PLANTED_BYTES)
    registry = Registry(redis_client)
    registry.get_job("planted")  # the first read also loads the script: measure the next ones
    sent = bytes_sent_by_redis(redis_client)
    detail = registry.get_job("planted")
    transferred = bytes_sent_by_redis(redis_client) - sent
    assert transferred < 64 * 1024, f"get_job pulled {transferred} bytes"
    assert detail.summary.data == {"raw": f"… cut: {PLANTED_BYTES} bytes"}
    assert any(problem.startswith(f"data is too large to show ({PLANTED_BYTES} bytes") for problem in detail.problems)
    assert (detail.summary.id, detail.summary.state, detail.options) == ("planted", "waiting", {})


@pytest.mark.parametrize("field", ["error", "traceback", "result", "attempt_errors", "worker", "options", "state"])
def test_any_planted_field_is_cut_and_the_rest_of_the_record_still_reads(redis_client, field):
    plant_job(redis_client, "planted", **{field: b"y" * PLANTED_BYTES})
    registry = Registry(redis_client)
    registry.get_job("planted")
    sent = bytes_sent_by_redis(redis_client)
    detail = registry.get_job("planted")
    assert bytes_sent_by_redis(redis_client) - sent < 64 * 1024
    assert detail.summary.data == {"text": "ok"}
    shown = {"error": detail.summary.error, "traceback": detail.traceback, "worker": detail.worker}
    if field in shown:
        assert shown[field] == f"… cut: {PLANTED_BYTES} bytes"
    elif field == "state":
        assert detail.summary.state == "unknown"
    else:
        assert any(problem.startswith(f"{field} is too large to show") for problem in detail.problems)


def test_list_pages_and_search_do_not_transfer_a_planted_field(redis_client):
    plant_job(redis_client, "planted", data=b'{"text": "' + b"z" * PLANTED_BYTES + b'"}')
    plant_job(redis_client, "small", data='{"text": "findme"}')
    registry = Registry(redis_client)
    registry.list_jobs("blobs", "waiting")
    sent = bytes_sent_by_redis(redis_client)
    page = registry.list_jobs("blobs", "waiting")
    found = registry.search_jobs("blobs", "waiting", "zzz")  # the planted text matches, but is never read
    assert bytes_sent_by_redis(redis_client) - sent < 256 * 1024
    rows = {row.id: row for row in page.jobs}
    assert rows["planted"].data == {"raw": f"… cut: {PLANTED_BYTES + 12} bytes"}
    assert rows["small"].data == {"text": "findme"}
    assert [row.id for row in found.jobs] == []
    assert [row.id for row in registry.search_jobs("blobs", "waiting", "FINDME").jobs] == ["small"]


def test_a_normal_record_reads_in_full(blob_broker, redis_client):
    job_id = enqueue("blobs", payload_of_size(60 * 1024), broker=blob_broker)
    registry = Registry(redis_client)
    detail = registry.get_job(job_id)
    assert detail.summary.data == payload_of_size(60 * 1024) and detail.problems == []
    assert registry.list_jobs("blobs", "waiting").jobs[0].data == payload_of_size(60 * 1024)


def test_the_read_budget_covers_the_whole_reply_in_field_order(fake_redis):
    fake_redis.hset("h", mapping={"a": "1" * 10, "b": "2" * 30, "c": "3" * 15, "d": ""})
    with fake_redis.pipeline(transaction=False) as pipe:
        queue_bounded_hmget(pipe, "h", ["a", "b", "c", "missing", "d"], 30)
        queue_bounded_hmget(pipe, "h", ["a", "b"], 40)
        queue_bounded_hmget(pipe, "no-such-key", ["a"], 10)
        first, second, absent = (decode(reply) for reply in pipe.execute())
    assert first[0] == b"1" * 10 and first[2] == b"3" * 15 and first[3] is None and first[4] == b""
    assert isinstance(first[1], CutField) and first[1].size == 30 and first[1] == b"\xe2\x80\xa6 cut: 30 bytes"
    assert second == [b"1" * 10, b"2" * 30]
    assert absent == [None]
    assert RECORD_READ_BYTES >= 4 * DEFAULT_MAX_PAYLOAD_BYTES and ROW_READ_BYTES == 64 * 1024


def test_a_key_of_another_type_is_still_an_error_reply(fake_redis):
    fake_redis.set("s", "not a hash")
    with fake_redis.pipeline(transaction=False) as pipe:
        queue_bounded_hmget(pipe, "s", ["a"], 10)
        [reply] = pipe.execute(raise_on_error=False)
    assert isinstance(decode(reply), redis.ResponseError) and "WRONGTYPE" in str(reply)
