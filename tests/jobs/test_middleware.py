"""The middleware stack: one concern per middleware, in the order the hooks need, handing each delivery's
Outcome (a dataclass) to the consumer, which records it in one finish script call per ack or nack."""

from __future__ import annotations

from dramatiq.middleware import CurrentMessage, ShutdownNotifications, TimeLimit

from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import pause_queue, resume_queue
from wellqueue_tui.jobs.middleware import Attempts, DestinationGate, Heartbeat, JobContexts, PauseGate

from .conftest import running_worker, state_of, wait_for


def test_the_broker_builds_the_stack_pause_gate_first(broker):
    kinds = [type(m) for m in broker.middleware]
    assert kinds == [
        TimeLimit,
        ShutdownNotifications,
        CurrentMessage,
        PauseGate,
        DestinationGate,
        Heartbeat,
        Attempts,
        JobContexts,
    ]


def test_each_delivery_is_finished_by_one_script_call_with_a_typed_outcome(broker, registry):
    finish = broker.registry_scripts.finish
    seen: list[str] = []

    def counting(keys=(), args=(), client=None):
        seen.append(args[0])
        return finish(keys=keys, args=args, client=client)

    broker.registry_scripts.finish = counting
    done = enqueue("samples", {"n": 1}, broker=broker)
    flaky = enqueue(
        "samples", {"n": 2, "fail_times": 1}, attempts=2, backoff={"type": "fixed", "delay": 10}, broker=broker
    )
    doomed = enqueue("samples", {"n": 3, "permanent": True}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: [state_of(registry, j) for j in (done, flaky, doomed)] == ["completed", "completed", "failed"])
    # flaky: retry then completed, plus the ack of its delayed copy on the way back to the ready queue
    assert sorted(seen) == sorted(["completed", "retry", "ack", "completed", "failed"])
    assert registry.get_job(flaky).summary.attempts == 2


def test_jobs_of_a_paused_queue_wait_until_it_is_resumed(broker, registry):
    pause_queue(registry, "samples")
    job_id = enqueue("samples", {"n": 1}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: broker.paused_queues == frozenset({"samples"}))
        assert state_of(registry, job_id) == "waiting"
        resume_queue(registry, "samples")
        wait_for(lambda: state_of(registry, job_id) == "completed")
