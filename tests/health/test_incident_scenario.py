"""The issue's user scenario on the real private Redis, without a terminal: `wellqueue demo`'s jobs with a
webhook receiver on loopback that answers 500, a breaker on webhooks and the default alert rules, run by the
leader's health round. The failure-rate alert fires, the breaker pauses the queue, the receiver recovers, the
queue resumes by itself, and the timeline shows each step."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wellqueue_tui.health.alerts import alert_history, firing_alerts
from wellqueue_tui.health.breaker import BreakerStore
from wellqueue_tui.health.breaker_state import BreakerConfig
from wellqueue_tui.health.timeline import read_timeline, summarize
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.wellflow.demo import demo_jobs
from wellqueue_tui.workers.health_round import LeaderHealthRound

from .conftest import running_worker, wait_for


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.status = 500
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_failing_receiver_alert_breaker_recovery_and_timeline(broker, registry, enqueue_fn, receiver) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    BreakerStore(broker.client, broker.keys).configure(
        BreakerConfig(queue="webhooks", failure_rate=0.5, min_samples=5, cooldown_s=1, max_cooldown_s=4)
    )
    health_round = LeaderHealthRound(broker.client, broker.keys, enqueue_fn, heartbeat_timeout_ms=15_000)
    webhooks = [job for job in demo_jobs(random.Random(7), 80, webhook_url=url) if job.queue == "webhooks"]
    assert len(webhooks) >= 5

    def step_until(condition, timeout: float = 60.0):
        def done():
            health_round()
            return condition()

        return wait_for(done, timeout=timeout, interval=0.2)

    with running_worker(broker, threads=2, queues=("webhooks",)):
        for job in webhooks:  # retried attempts count as failures: every delivery fails, then waits 2 s
            enqueue(job.queue, job.payload, broker=broker, **job.options)
        step_until(
            lambda: any(
                a.rule == "failure-rate" and a.queue == "webhooks" for a in firing_alerts(broker.client, broker.keys)
            )
        )
        step_until(lambda: "webhooks" in registry.paused_queues())
        assert BreakerStore(broker.client, broker.keys).states()["webhooks"].status in ("open", "half_open")

        receiver.status = 200  # the receiver recovers: a probe succeeds and the breaker resumes the queue
        step_until(
            lambda: (
                BreakerStore(broker.client, broker.keys).states()["webhooks"].status == "closed"
                and "webhooks" not in registry.paused_queues()
            )
        )
        wait_for(lambda: registry.queue_counts("webhooks").completed >= 1, timeout=60)

    events = read_timeline(broker.client, broker.keys, since=0, queue="webhooks")
    steps = [(event.kind, event.summary) for event in reversed(events)]
    fired = next(i for i, (kind, text) in enumerate(steps) if kind == "alert" and "failure-rate fired" in text)
    opened = next(i for i, (kind, text) in enumerate(steps) if kind == "breaker" and "breaker open" in text)
    closed = next(i for i, (kind, text) in enumerate(steps) if kind == "breaker" and "breaker close" in text)
    assert opened < closed and fired < closed
    assert [e.event for e in alert_history(broker.client, broker.keys) if e.rule == "failure-rate"][-1] == "fired"
    assert "breaker close webhooks" in summarize(events)
