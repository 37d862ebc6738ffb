"""The circuit breaker against a real HTTP receiver on loopback that fails, then recovers: real webhook jobs
run by a worker; the breaker opens (queue paused), half-opens (exactly one probe job), reopens with a longer
cool-down, and closes (queue resumed) once the receiver answers again. Every step is audited and on the
timeline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.health.breaker import BreakerStore, CircuitBreakers
from wellqueue_tui.health.breaker_state import BreakerConfig
from wellqueue_tui.health.timeline import read_timeline, summarize
from wellqueue_tui.jobs import enqueue

from .conftest import running_worker, wait_for


class FlakyReceiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        with server.lock:
            server.requests += 1
            status = server.status
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def serve(host: str, status: int) -> Iterator[ThreadingHTTPServer]:
    """A real receiver on loopback answering `status` (changed through `server.status`), counting requests."""
    server = ThreadingHTTPServer((host, 0), FlakyReceiver)
    server.lock, server.requests, server.status = threading.Lock(), 0, status
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    yield from serve("127.0.0.1", 500)


def requests(receiver) -> int:
    with receiver.lock:
        return receiver.requests


def send_webhooks(broker, receiver, count: int) -> list[str]:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    return [
        enqueue("webhooks", {"url": url, "event": "well.validated", "data": {"n": n}}, attempts=1, broker=broker)
        for n in range(count)
    ]


def step_until(breakers: CircuitBreakers, action: str, timeout: float = 30.0):
    def done():
        return next((t for t in breakers.run_once() if t.action == action), None)

    return wait_for(done, timeout=timeout, interval=0.1)


def test_breaker_opens_probes_once_reopens_and_closes_with_a_real_receiver(broker, registry, receiver) -> None:
    BreakerStore(broker.client, broker.keys).configure(
        BreakerConfig(queue="webhooks", failure_rate=0.5, min_samples=3, cooldown_s=1, max_cooldown_s=10)
    )
    breakers = CircuitBreakers(broker.client, broker.keys)
    with running_worker(broker, threads=2, queues=("webhooks",)):
        send_webhooks(broker, receiver, 4)
        wait_for(lambda: registry.queue_counts("webhooks").failed == 4, timeout=30)
        opened = step_until(breakers, "open")
        assert opened.state.status == "open" and "4 of 4" in opened.state.reason
        assert "webhooks" in registry.paused_queues()
        # workers notice a pause within a second (the in-process worker shares this broker's cache)
        wait_for(lambda: "webhooks" in broker.paused_queues)

        send_webhooks(broker, receiver, 3)  # held back while the breaker is open
        before = requests(receiver)
        assert step_until(breakers, "half_open").state.status == "half_open"
        probe = step_until(breakers, "reopen")  # the one probe hit the still-failing receiver
        assert probe.state.cooldown_s == 2 and probe.state.status == "open"
        assert requests(receiver) == before + 1
        counts = registry.queue_counts("webhooks")
        assert (counts.waiting, counts.failed) == (2, 5)

        with receiver.lock:
            receiver.status = 200
        step_until(breakers, "half_open")
        closed = step_until(breakers, "close")
        assert closed.state.status == "closed" and closed.state.opened == 0
        assert "webhooks" not in registry.paused_queues()
        wait_for(lambda: registry.queue_counts("webhooks").completed == 2, timeout=30)  # the good probe, then the rest
        assert requests(receiver) == before + 3
        assert breakers.run_once() == []  # the failures that opened it are not counted again

    actions = [
        entry.action
        for entry in AuditLog(broker.client, broker.keys.audit).recent(50)
        if entry.who == "circuit-breaker"
    ]
    assert actions[::-1] == [
        "breaker_open",
        "breaker_half_open",
        "breaker_reopen",
        "breaker_half_open",
        "breaker_close",
    ]
    timeline = read_timeline(broker.client, broker.keys, since=0, queue="webhooks")
    assert [event.kind for event in timeline if event.kind == "breaker"] == ["breaker"] * 5
    assert "breaker open webhooks" in summarize(timeline)


def test_an_operator_resume_stands_the_breaker_down(broker, registry, receiver) -> None:
    from wellqueue_tui.jobs import actions

    BreakerStore(broker.client, broker.keys).configure(BreakerConfig(queue="webhooks", min_samples=2, cooldown_s=60))
    breakers = CircuitBreakers(broker.client, broker.keys)
    with running_worker(broker, threads=2, queues=("webhooks",)):
        send_webhooks(broker, receiver, 2)
        wait_for(lambda: registry.queue_counts("webhooks").failed == 2, timeout=30)
    step_until(breakers, "open")
    actions.resume_queue(registry, "webhooks")
    assert [t.action for t in breakers.run_once()] == ["reset"]
    assert BreakerStore(broker.client, broker.keys).states()["webhooks"].status == "closed"
    assert breakers.run_once() == []


def test_a_probe_retried_back_into_the_queue_counts_as_failed(broker) -> None:
    """A probe whose attempt failed is retried; once its retry is waiting again it must not look "running"."""
    breakers = CircuitBreakers(broker.client, broker.keys)
    offered_at = 1_750_000_000.0
    broker.client.hset(broker.keys.breaker_probe_jobs, "webhooks", "probe-1")
    broker.client.hset(broker.keys.job("probe-1"), mapping={"state": "waiting", "attempt_errors": "[]"})
    assert breakers._probe("webhooks", offered_at) == "running"  # taken, not finished yet
    broker.client.hset(
        broker.keys.job("probe-1"), "attempt_errors", f'[[1, {int(offered_at * 1000) - 5000}, "HTTP 500"]]'
    )
    assert breakers._probe("webhooks", offered_at) == "running"  # an older failure, before the probe
    broker.client.hset(
        broker.keys.job("probe-1"),
        "attempt_errors",
        f'[[1, {int(offered_at * 1000) - 5000}, "HTTP 500"], [2, {int(offered_at * 1000) + 900}, "HTTP 500"]]',
    )
    assert breakers._probe("webhooks", offered_at) == "failure"


@pytest.fixture
def second_receiver() -> Iterator[ThreadingHTTPServer]:
    """Another host: 127.0.0.2 is loopback too, and a destination of its own."""
    yield from serve("127.0.0.2", 200)


def send_to(broker, server, count: int) -> list[str]:
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}/hook"
    return [
        enqueue("webhooks", {"url": url, "event": "well.validated", "data": {"n": n}}, attempts=1, broker=broker)
        for n in range(count)
    ]


def test_a_per_destination_breaker_holds_back_only_the_failing_host(
    settings, broker, registry, receiver, second_receiver
):
    """The queue keeps running for a healthy host while the failing host's jobs wait, spending no attempt;
    the breaker probes that host once per cool-down and releases its jobs when it answers again."""
    settings.webhook_allowed_networks.append("127.0.0.2/32")  # the workers' settings: read per delivery
    BreakerStore(broker.client, broker.keys).configure(
        BreakerConfig(
            queue="webhooks", per_destination=True, failure_rate=0.5, min_samples=3, cooldown_s=1, max_cooldown_s=10
        )
    )
    breakers = CircuitBreakers(broker.client, broker.keys)
    failing = "webhooks@127.0.0.1"
    with running_worker(broker, threads=2, queues=("webhooks",)):
        send_to(broker, receiver, 4)
        wait_for(lambda: registry.queue_counts("webhooks").failed == 4, timeout=30)
        opened = step_until(breakers, "open")
        assert opened.queue == failing and "4 of 4" in opened.state.reason
        assert "webhooks" not in registry.paused_queues(), "the queue itself keeps running"
        wait_for(lambda: failing in broker.held_destinations)

        held = send_to(broker, receiver, 3)
        healthy = send_to(broker, second_receiver, 2)
        wait_for(lambda: all(registry.get_job(job_id).summary.state == "completed" for job_id in healthy), timeout=30)
        before = requests(receiver)
        wait_for(lambda: all(registry.get_job(job_id).summary.state == "delayed" for job_id in held), timeout=30)
        assert requests(receiver) == before, "held jobs did not call the failing host"

        assert step_until(breakers, "half_open").queue == failing
        probe = step_until(breakers, "reopen")  # the one probe hit the still-failing host
        assert probe.state.cooldown_s == 2 and requests(receiver) == before + 1

        with receiver.lock:
            receiver.status = 200
        step_until(breakers, "half_open")
        assert step_until(breakers, "close").queue == failing
        wait_for(lambda: [registry.get_job(j).summary.state for j in held].count("completed") == 2, timeout=30)
        assert requests(receiver) == before + 3
        jobs = [registry.get_job(job_id) for job_id in held]
        assert sorted(job.summary.state for job in jobs) == ["completed", "completed", "failed"]
        assert all(job.summary.attempts == 1 for job in jobs), "being held back spent no attempt"
        assert failing not in broker.client.hkeys(broker.keys.destination_holds)

    actions = [
        (entry.action, entry.target)
        for entry in AuditLog(broker.client, broker.keys.audit).recent(50)
        if entry.who == "circuit-breaker"
    ]
    assert actions[::-1] == [
        ("breaker_open", failing),
        ("breaker_half_open", failing),
        ("breaker_reopen", failing),
        ("breaker_half_open", failing),
        ("breaker_close", failing),
    ]
    timeline = read_timeline(broker.client, broker.keys, since=0, queue="webhooks")
    assert [event.kind for event in timeline if event.kind == "breaker"] == ["breaker"] * 5
