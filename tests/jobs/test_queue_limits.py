"""Queue limits: the rate limit (at most MAX starts in any DURATION, over every process) and the cluster-wide
cap on jobs in flight, enforced by the fetch script; configured per queue and changed live.

The fetch-level tests drive consumers by hand; the process tests run two worker processes through the entry
point. No assertion depends on machine speed: the rate is checked on the fetch times Redis records in the
limit's window (a slow machine only spreads them out), and every wait polls with a generous deadline."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.limits import LimitChange, LimitError, LimitStore, configured_limits, parse_rate
from wellqueue_tui.jobs.models import QueueLimits, RateLimit
from wellqueue_tui.settings import Settings, SettingsError, load_settings

from .conftest import make_broker, running_worker, wait_for
from .limit_kinds import CONCURRENT, QUEUE, STARTS
from .limit_kinds import KIND as LIMITED_KIND
from .sample_kinds import KIND as SAMPLE_KIND


# -- parsing and the store --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/s", RateLimit(10, 1000)),
        ("600/min", RateLimit(600, 60_000)),
        ("600/m", RateLimit(600, 60_000)),
        ("5/hour", RateLimit(5, 3_600_000)),
        ("100/30s", RateLimit(100, 30_000)),
        ("5/1500ms", RateLimit(5, 1500)),
        (" 2 / 1d ", RateLimit(2, 86_400_000)),
        ("off", None),
        ("OFF", None),
    ],
)
def test_rate_limits_are_read_as_max_per_duration(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["10", "10/", "/s", "10/fortnight", "0/s", "-1/s", "10/0s", "100001/s", "10/2d"])
def test_a_malformed_rate_limit_names_the_accepted_form(text):
    with pytest.raises(LimitError, match="rate limit"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("rate", "shown"),
    [(RateLimit(10, 1000), "10/s"), (RateLimit(600, 60_000), "600/min"), (RateLimit(3, 30_000), "3/30s")],
)
def test_a_rate_limit_is_shown_as_it_is_typed(rate, shown):
    assert str(rate) == shown
    assert parse_rate(shown) == rate


def test_the_configuration_names_limits_per_queue(monkeypatch):
    monkeypatch.setenv(
        "WELLQUEUE_QUEUE_OPTIONS",
        json.dumps({"webhooks": {"limiter": {"max": 100, "duration": 60000}, "globalConcurrency": 4}}),
    )
    settings = load_settings()
    assert configured_limits(settings) == {"webhooks": (RateLimit(100, 60_000), 4)}


@pytest.mark.parametrize(
    "options",
    [
        {"webhooks": {"limiter": {"max": 0, "duration": 1000}}},
        {"webhooks": {"limiter": {"max": 10}}},
        {"webhooks": {"globalConcurrency": 0}},
    ],
)
def test_a_bad_configured_limit_stops_the_program_naming_the_variable(monkeypatch, options):
    monkeypatch.setenv("WELLQUEUE_QUEUE_OPTIONS", json.dumps(options))
    with pytest.raises(SettingsError, match=r"WELLQUEUE_QUEUE_OPTIONS \(webhooks\."):
        load_settings()


def test_a_live_setting_wins_over_the_configuration_until_given_back(redis_client, broker):
    store = LimitStore(redis_client, broker.keys)
    store.install_configured({"samples": (RateLimit(100, 60_000), 4)}, ["samples"])
    assert store.read(["samples"])["samples"] == QueueLimits(
        RateLimit(100, 60_000), 4, RateLimit(100, 60_000), 4, False, False
    )

    LimitChange(rate="10/s", concurrency="off").apply(store, "samples")
    live = store.read(["samples"])["samples"]
    assert (live.rate, live.concurrency, live.rate_live, live.concurrency_live) == (
        RateLimit(10, 1000),
        None,
        True,
        True,
    )

    store.install_configured({"samples": (RateLimit(50, 1000), 2)}, ["samples"])  # a worker restarts
    live = store.read(["samples"])["samples"]
    assert (live.rate, live.concurrency, live.configured_rate) == (RateLimit(10, 1000), None, RateLimit(50, 1000))

    LimitChange(rate="config", concurrency="config").apply(store, "samples")
    assert store.read(["samples"])["samples"].summary() == "50/s · max 2 in flight"

    store.install_configured({}, ["samples"])  # the configuration no longer names a limit
    assert store.read(["samples"])["samples"] == QueueLimits()


def test_a_malformed_change_writes_nothing(redis_client, broker):
    store = LimitStore(redis_client, broker.keys)
    with pytest.raises(LimitError):
        LimitChange(rate="10/s", concurrency="many").apply(store, "samples")
    assert store.read(["samples"])["samples"] == QueueLimits()


def test_the_counts_carry_the_queue_limits(registry, broker):
    LimitChange(rate="600/min").apply(LimitStore(broker.client, broker.keys), "samples")
    assert registry.queue_counts("samples").limits.rate == RateLimit(600, 60_000)


# -- the fetch script ---------------------------------------------------------------------------------------
def _enqueue(broker, count: int, queue: str = "samples", **payload) -> list[str]:
    return enqueue_bulk([{"queue": queue, "payload": {"n": i, **payload}} for i in range(count)], broker=broker)


def _beat(broker) -> None:
    """Register the broker as a live worker process (the cap counts the acks sets of these)."""
    broker.registry_scripts.heartbeat(keys=[broker.keys.brokers], args=[broker.broker_id])


def _take(consumer, tries: int = 3) -> list:
    """Every message the consumer hands out now (None ends a batch: limited or empty)."""
    taken = []
    for _ in range(tries):
        message = next(consumer)
        if message is None:
            break
        taken.append(message)
    return taken


def test_a_rate_limited_queue_hands_out_max_per_window_and_keeps_the_rest_waiting(broker, registry):
    _enqueue(broker, 5)
    LimitChange(rate="3/h").apply(LimitStore(broker.client, broker.keys), "samples")
    consumer = broker.consume("samples", prefetch=5, timeout=100)
    try:
        assert len(_take(consumer, 10)) == 3
        assert _take(consumer) == []  # limited: the script says how long to wait, nothing fails
        assert broker.client.llen(broker.keys.queue("samples").ready) == 2  # still ready to run
        assert registry.queue_counts("samples").failed == 0

        LimitChange(rate="off").apply(LimitStore(broker.client, broker.keys), "samples")
        assert len(_take(consumer, 10)) == 2
    finally:
        consumer.close()


def test_the_delay_queue_is_not_rate_limited(broker):
    LimitChange(rate="1/h").apply(LimitStore(broker.client, broker.keys), "samples")
    enqueue_bulk([{"queue": "samples", "payload": {"n": i}, "delay_ms": 1} for i in range(3)], broker=broker)
    consumer = broker.consume("samples.DQ", prefetch=10, timeout=100)
    try:
        assert len(wait_for(lambda: _take(consumer, 5))) == 3
    finally:
        consumer.close()


def test_the_cluster_cap_counts_jobs_in_flight_on_every_process(redis_url, settings, broker):
    _enqueue(broker, 6)
    LimitChange(concurrency="2").apply(LimitStore(broker.client, broker.keys), "samples")
    with make_broker(redis_url, settings, [SAMPLE_KIND]) as other:
        _beat(broker)
        _beat(other)
        first = broker.consume("samples", prefetch=5, timeout=100)
        second = other.consume("samples", prefetch=5, timeout=100)
        try:
            held = _take(first, 10)
            assert len(held) == 2
            assert _take(second) == []  # the first process holds the cap

            first.ack(held[0])  # one finishes: one slot frees, for whichever process asks
            assert len(_take(second, 10)) == 1
            assert _take(first) == []
        finally:
            first.close()
            second.close()


def test_a_live_limit_stops_and_restarts_a_running_worker(broker, registry):
    _enqueue(broker, 6)
    store = LimitStore(broker.client, broker.keys)
    LimitChange(rate="2/h").apply(store, "samples")
    with running_worker(broker, threads=2):
        wait_for(lambda: registry.queue_counts("samples").completed == 2)
        time.sleep(1.5)  # a worker that ignored the limit would take the rest now
        assert registry.queue_counts("samples").completed == 2
        assert registry.queue_counts("samples").waiting == 4

        LimitChange(rate="off").apply(store, "samples")
        wait_for(lambda: registry.queue_counts("samples").completed == 6)
    assert registry.queue_counts("samples").failed == 0


# -- two worker processes -----------------------------------------------------------------------------------
def _worker(redis_url: str, data_dir) -> subprocess.Popen:
    """A worker process on the `limited` queue through the entry point, 4 threads."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WELLQUEUE_DATA_DIR": str(data_dir),
        "WELLQUEUE_KIND_MODULES": json.dumps(["limit_kinds"]),
        "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "wellqueue_tui.workers.entry", "--queues", QUEUE, "--threads", "4", "--worker-id", "t"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _most_in_any_window(times: list[float], window_s: float) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


@contextlib.contextmanager
def _fetch_times(client, key: str) -> Iterator[dict[bytes, int]]:
    """Collects the rate-limit window's entries (each fetched message: rid -> Redis time, ms) while the block runs.
    An entry stays at least the window's length, so a sampler that fell behind misses some: never a false alarm."""
    seen: dict[bytes, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            seen.update((rid, int(score)) for rid, score in client.zrange(key, 0, -1, withscores=True))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join()


@pytest.fixture
def limited_broker(redis_client, redis_url, tmp_path):
    settings = Settings(data_dir=tmp_path, kind_modules=["limit_kinds"])
    with make_broker(redis_url, settings, [LIMITED_KIND]) as broker:
        yield broker


def test_ten_per_second_holds_over_two_worker_processes(limited_broker, redis_client, redis_url, tmp_path):
    registry_counts = lambda: limited_broker.client.zcard(limited_broker.keys.state(QUEUE, "completed"))  # noqa: E731
    LimitChange(rate="10/s").apply(LimitStore(redis_client, limited_broker.keys), QUEUE)
    _enqueue(limited_broker, 100, QUEUE)
    began = time.monotonic()
    with _fetch_times(redis_client, limited_broker.keys.rate_window(QUEUE)) as fetched:
        processes = [_worker(redis_url, tmp_path), _worker(redis_url, tmp_path)]
        try:
            wait_for(lambda: registry_counts() == 100, timeout=180)
        finally:
            _stop(processes)
    took = time.monotonic() - began
    assert len(redis_client.lrange(STARTS, 0, -1)) == 100
    print(f"10/s over 2 processes: 100 jobs in {took:.1f} s, {len(fetched)} fetches seen in the window")
    # The invariant, on the fetch times Redis itself recorded: at most 10 in any 1 s, so 10 w in any w seconds.
    assert fetched, "the sampler saw the rate-limit window"
    for window_s in (1, 2, 5):
        assert _most_in_any_window(list(fetched.values()), window_s * 1000) <= 10 * window_s
    # 100 fetches at 10/s span at least 9 s of Redis time, all between the start and the last completion
    # (8.9: Redis counts whole milliseconds on another clock read).
    assert took >= 8.9


def test_the_cluster_cap_is_never_exceeded_over_two_worker_processes(limited_broker, redis_client, redis_url, tmp_path):
    LimitChange(concurrency="3").apply(LimitStore(redis_client, limited_broker.keys), QUEUE)
    _enqueue(limited_broker, 30, QUEUE, sleep_ms=100)
    processes = [_worker(redis_url, tmp_path), _worker(redis_url, tmp_path)]  # 8 threads between them
    try:
        wait_for(lambda: limited_broker.client.zcard(limited_broker.keys.state(QUEUE, "completed")) == 30, timeout=180)
    finally:
        _stop(processes)
    concurrent = [int(c) for c in redis_client.lrange(CONCURRENT, 0, -1)]
    assert len(concurrent) == 30
    assert max(concurrent) <= 3
