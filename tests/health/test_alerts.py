"""The alert evaluator on a real Redis: every rule kind fires and resolves, history and notifications follow,
mutes hold notifications back, and two evaluators racing enqueue one notification per firing."""

from __future__ import annotations

import os
import signal
import threading
import time

import redis

from wellqueue_tui.health.alert_rules import AlertStore, build_rule
from wellqueue_tui.health.alerts import AlertEvaluator, alert_history, firing_alerts
from wellqueue_tui.health.redis_alarm import LocalRedisAlarm
from wellqueue_tui.jobs import actions, enqueue
from wellqueue_tui.jobs.reaper import reap_dead_workers
from wellqueue_tui.workers.worker_records import WorkerState

from jobs.test_worker_death import start_worker_process

from .conftest import publish, running_worker, wait_for, worker_record

OPS = ["ops@example.com"]


def add_rule(broker, **fields):
    fields = {"queue": "samples", "clear_for_s": 0, "recipients": OPS, **fields}
    return AlertStore(broker.client, broker.keys).add(build_rule(**fields))


def notifications(registry, queue: str = "email-notifications") -> list[str]:
    return sorted(
        job.id
        for state in ("waiting", "prioritized")  # e-mail alerts go in with their priority
        for job in registry.list_jobs(queue, state, 0, 500).jobs
    )


def evaluate_until(evaluator, transition: str, rule: str | None = None, timeout: float = 20.0):
    """Run the evaluator until it reports `transition` (for `rule`), then return that report."""

    def done():
        report = evaluator.run_once()
        return (
            report if any(t == transition and (rule is None or r == rule) for r, _q, t in report.transitions) else None
        )

    return wait_for(done, timeout=timeout, interval=0.2)


def test_waiting_depth_fires_notifies_once_and_resolves(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="depth", kind="waiting_depth", threshold=2, webhook_url="https://hooks.example.com/a")
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn)
    for n in range(3):
        enqueue("samples", {"n": n}, broker=broker)
    report = evaluator.run_once()
    assert report.transitions == [("depth", "samples", "fired")]
    [state] = firing_alerts(broker.client, broker.keys)
    assert (state.rule, state.queue, state.value) == ("depth", "samples", 3.0)
    fired_ms = int(state.fired_at * 1000)
    assert notifications(registry) == [f"alert:depth:samples:{fired_ms}:fired:email"]
    assert notifications(registry, "webhooks") == [f"alert:depth:samples:{fired_ms}:fired:webhook"]
    email = registry.get_job(f"alert:depth:samples:{fired_ms}:fired:email").summary.data
    assert email["type"] == "alert" and email["recipients"] == OPS and "depth" in email["subject"]

    assert evaluator.run_once().transitions == []  # still firing: nothing new
    actions.drain_queue(registry, "samples")
    assert evaluator.run_once().transitions == [("depth", "samples", "resolved")]
    assert firing_alerts(broker.client, broker.keys) == []
    assert len(notifications(registry)) == 2 and notifications(registry)[1].endswith(":resolved:email")
    assert [(e.rule, e.event) for e in alert_history(broker.client, broker.keys)] == [
        ("depth", "resolved"),
        ("depth", "fired"),
    ]


def test_latency_fires_once_the_oldest_job_is_old_enough(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="slow", kind="latency", threshold=0.5)
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn)
    assert evaluator.run_once().transitions == []
    enqueue("samples", {"n": 1}, broker=broker)
    evaluate_until(evaluator, "fired")
    assert firing_alerts(broker.client, broker.keys)[0].value > 0.5
    actions.drain_queue(registry, "samples")
    assert evaluator.run_once().transitions == [("slow", "samples", "resolved")]


def test_failure_rate_fires_on_failed_jobs_and_resolves_once_work_succeeds(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="failing", kind="failure_rate", threshold=0.5, resolve_below=0.25, min_samples=3)
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn)
    for n in range(3):
        enqueue("samples", {"n": n, "permanent": True}, broker=broker)
    with running_worker(broker, queues=("samples",)):
        wait_for(lambda: registry.queue_counts("samples").failed == 3)
        assert evaluator.run_once().transitions == [("failing", "samples", "fired")]
        for n in range(10):
            enqueue("samples", {"n": n}, broker=broker)
        wait_for(lambda: registry.queue_counts("samples").completed == 10)
    assert evaluator.run_once().transitions == [("failing", "samples", "resolved")]


def test_no_consumer_fires_while_jobs_wait_and_nobody_listens(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="orphan", kind="no_consumer")
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn)
    publish(broker, worker_record("host-a:100", 0, ("webhooks",)), worker_record("host-b:200", 0, ("reports",)))
    assert evaluator.run_once().transitions == []  # nothing waits: no alert
    enqueue("samples", {"n": 1}, broker=broker)
    assert evaluator.run_once().transitions == [("orphan", "samples", "fired")]
    publish(broker, worker_record("host-b:200", 1, ("samples", "reports")))
    assert evaluator.run_once().transitions == [("orphan", "samples", "resolved")]


def test_crash_looping_workers_fire_and_resolve_when_they_run_again(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="looping", kind="crash_loop")
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn)
    publish(broker, worker_record("host-a:100", 0, ("samples",), WorkerState.CRASH_LOOP))
    assert evaluator.run_once().transitions == [("looping", "samples", "fired")]
    publish(broker, worker_record("host-a:100", 0, ("samples",)))
    assert evaluator.run_once().transitions == [("looping", "samples", "resolved")]


def test_stuck_jobs_of_a_killed_worker_fire_and_resolve_once_reaped(
    broker, registry, enqueue_fn, redis_url, settings
) -> None:
    add_rule(broker, name="stalled", kind="stuck_jobs", for_s=0.5)
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn, heartbeat_timeout_ms=1500)
    enqueue("samples", {"n": 1, "sleep_ms": 20_000}, broker=broker)
    process = start_worker_process(redis_url, settings.data_dir, threads=1)
    try:
        wait_for(lambda: registry.queue_counts("samples").active == 1, timeout=20)
        assert evaluator.run_once().transitions == []  # running, heartbeat fresh: not stuck
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
    evaluate_until(evaluator, "fired")
    assert firing_alerts(broker.client, broker.keys)[0].value == 1
    wait_for(lambda: reap_dead_workers(broker.client, broker.keys, timeout_ms=1500).dead_workers, interval=0.5)
    assert evaluator.run_once().transitions == [("stalled", "samples", "resolved")]


def test_a_muted_rule_fires_without_notifying(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="depth", kind="waiting_depth", threshold=0)
    store = AlertStore(broker.client, broker.keys)
    store.mute("depth", until=time.time() + 3600)
    evaluator = AlertEvaluator(broker.client, broker.keys, enqueue_fn)
    enqueue("samples", {"n": 1}, broker=broker)
    assert evaluator.run_once().transitions == [("depth", "samples", "fired")]
    assert notifications(registry) == [] and firing_alerts(broker.client, broker.keys)[0].outbox == []
    store.unmute("depth")
    assert store.get("depth").muted_until is None


def test_two_evaluators_racing_enqueue_one_notification_per_firing(broker, registry, enqueue_fn) -> None:
    add_rule(broker, name="depth", kind="waiting_depth", threshold=0)
    evaluators = [
        AlertEvaluator(broker.client.__class__.from_url(_url(broker)), broker.keys, enqueue_fn) for _ in range(2)
    ]
    rounds = 8
    for round_number in range(rounds):
        enqueue("samples", {"n": round_number}, broker=broker)
        _race(evaluators)
        actions.drain_queue(registry, "samples")
        _race(evaluators)
    ids = notifications(registry)
    assert len([i for i in ids if i.endswith(":fired:email")]) == rounds
    assert len([i for i in ids if i.endswith(":resolved:email")]) == rounds
    events = [e.event for e in alert_history(broker.client, broker.keys)]
    assert events.count("fired") == rounds and events.count("resolved") == rounds


def _race(evaluators) -> None:
    barrier = threading.Barrier(len(evaluators))
    errors = []

    def run(evaluator):
        barrier.wait()
        try:
            evaluator.run_once()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in evaluators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def _url(broker) -> str:
    kwargs = broker.client.connection_pool.connection_kwargs
    return f"redis://:{kwargs['password']}@{kwargs['host']}:{kwargs['port']}/0"


def test_install_defaults_once(broker) -> None:
    store = AlertStore(broker.client, broker.keys)
    assert store.install_defaults() == ["queue-depth", "failure-rate", "stalled-jobs", "redis-connection"]
    store.remove("queue-depth")
    assert store.install_defaults() == []
    assert [r.name for r in store.list()] == ["failure-rate", "redis-connection", "stalled-jobs"]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_redis_unreachable_is_reported_locally_then_notified_once_when_redis_is_back(
    broker, registry, enqueue_fn
) -> None:
    AlertStore(broker.client, broker.keys).install_defaults()
    unreachable = redis.Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5)
    clocks = [Clock(), Clock()]
    alarms = [LocalRedisAlarm(unreachable, broker.keys, enqueue_fn, clock=clock) for clock in clocks]
    for alarm, clock in zip(alarms, clocks):
        status = alarm.check()
        assert not status.reachable and not status.firing and "unreachable" in status.describe()
        clock.now += 11  # past the rule's 10 s hold
        assert alarm.check().firing
    assert notifications(registry) == []  # nothing can go through Redis yet

    for alarm, clock in zip(alarms, clocks):  # Redis is back for both processes
        alarm.client = broker.client
        clock.now += 5
        assert alarm.check().reachable
    ids = notifications(registry)
    assert len(ids) == 2 and ids[0].endswith(":fired:email") and ids[1].endswith(":resolved:email")
    assert [e.event for e in alert_history(broker.client, broker.keys)] == ["resolved", "fired"]


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_console_watches_redis_beside_its_app(broker):
    """`wellqueue` (console + workers) runs the local Redis-unreachable alarm as `--workers-only` does."""
    import asyncio

    from wellqueue_tui.console import run_hosted

    unreachable = redis.Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5)
    alarm = LocalRedisAlarm(unreachable, broker.keys, None)

    class AppUntilAlarmSawTheOutage:
        async def run_async(self) -> None:
            while alarm.down_since is None:
                await asyncio.sleep(0.05)

    asyncio.run(asyncio.wait_for(run_hosted(AppUntilAlarmSawTheOutage(), None, alarm), timeout=30))
    assert alarm.error is not None and "ConnectionError" in alarm.error
