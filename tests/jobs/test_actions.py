"""Operator actions against a real private redis-server, with a worker running where it matters."""

from __future__ import annotations

import time

import pytest

from wellqueue_tui.jobs import actions, enqueue
from wellqueue_tui.jobs.actions import ActionError

from .conftest import running_worker, state_of, wait_for


def failed_job(broker, registry, **payload) -> str:
    job_id = enqueue("samples", {"n": 1, "permanent": True, **payload}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "failed")
    return job_id


def test_retry_failed_job_runs_it_again(broker, registry):
    job_id = failed_job(broker, registry)
    # make the next run succeed: the rebuilt message carries the stored payload, so flip it in the record
    result = actions.retry_job(registry, job_id)
    assert result.count == 1 and state_of(registry, job_id) == "waiting"
    assert broker.client.zcard(f"{broker.namespace}:samples.XQ") == 0  # dead letter gone
    with pytest.raises(ActionError, match="not failed"):
        actions.retry_job(registry, job_id)  # a double click does nothing
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "failed")  # permanent again, as its payload says
    assert registry.get_job(job_id).summary.attempts == 1  # attempts restart on a manual retry


def test_retry_all_failed_and_unknown_job(broker, registry, settings):
    ids = [enqueue("samples", {"n": i, "needs_file": "fixed"}, attempts=1, broker=broker) for i in range(4)]
    with running_worker(broker):
        wait_for(lambda: registry.queue_counts("samples").failed == 4)
        (settings.data_dir / "fixed").touch()  # the operator fixed the cause
        assert actions.retry_all_failed(registry, "samples").count == 4
        wait_for(lambda: all(state_of(registry, i) == "completed" for i in ids))
    with pytest.raises(ActionError, match="not found"):
        actions.retry_job(registry, "no-such-job")


def test_remove_waiting_job_never_runs(broker, registry):
    keep = enqueue("samples", {"n": 1}, broker=broker)
    gone = enqueue("samples", {"n": 2}, broker=broker)
    assert actions.remove_job(registry, gone).count == 1
    assert registry.get_job(gone) is None
    with running_worker(broker):
        wait_for(lambda: state_of(registry, keep) == "completed")
        time.sleep(0.3)
    assert registry.get_job(gone) is None
    assert registry.queue_counts("samples").total == 1
    # a re-enqueue with the removed id is refused by the tombstone rather than resurrecting old copies
    with pytest.raises(ActionError, match="not found"):
        actions.remove_job(registry, gone)


def test_remove_refuses_a_running_job(broker, registry):
    job_id = enqueue("samples", {"n": 1, "sleep_ms": 1500}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "active")
        with pytest.raises(ActionError, match="running"):
            actions.remove_job(registry, job_id)
        wait_for(lambda: state_of(registry, job_id) == "completed")


def test_promote_runs_a_delayed_job_now_and_only_once(broker, registry):
    job_id = enqueue("samples", {"n": 4}, delay_ms=3000, broker=broker)
    with running_worker(broker):
        time.sleep(0.5)  # the worker now holds the delayed copy in memory
        actions.promote_job(registry, job_id)
        wait_for(lambda: state_of(registry, job_id) == "completed", timeout=2)
        time.sleep(3.2)  # the stale delayed copy comes due and must be dropped
    job = registry.get_job(job_id)
    assert job.summary.state == "completed" and job.summary.attempts == 1
    assert registry.queue_counts("samples").total == 1


def test_clean_by_state_and_age(broker, registry):
    old = [enqueue("samples", {"n": i}, broker=broker) for i in range(3)]
    with running_worker(broker):
        wait_for(lambda: registry.queue_counts("samples").completed == 3)
        time.sleep(1.1)
        fresh = enqueue("samples", {"n": 9}, broker=broker)
        wait_for(lambda: state_of(registry, fresh) == "completed")
    result = actions.clean_jobs(registry, "samples", "completed", older_than_ms=1000)
    assert result.count == 3
    assert [j.id for j in registry.list_jobs("samples", "completed").jobs] == [fresh]
    assert all(registry.get_job(i) is None for i in old)
    with pytest.raises(ActionError, match="cannot clean active"):
        actions.clean_jobs(registry, "samples", "active", 0)


def test_drain_removes_waiting_but_keeps_delayed(broker, registry):
    for i in range(5):
        enqueue("samples", {"n": i}, broker=broker)
    enqueue("samples", {"n": 50}, priority=1, broker=broker)
    delayed = enqueue("samples", {"n": 99}, delay_ms=60_000, broker=broker)
    assert actions.drain_queue(registry, "samples").count == 6
    counts = registry.queue_counts("samples")
    assert (counts.waiting, counts.prioritized, counts.delayed) == (0, 0, 1)
    assert state_of(registry, delayed) == "delayed"


def test_pause_is_honoured_by_a_running_worker_within_a_second(broker, registry):
    with running_worker(broker):
        actions.pause_queue(registry, "samples")
        time.sleep(1.2)  # every worker refreshes its paused-queue cache once a second
        job_id = enqueue("samples", {"n": 1}, broker=broker)
        time.sleep(1.5)
        assert state_of(registry, job_id) == "waiting"
        assert registry.queue_counts("samples").paused
        actions.resume_queue(registry, "samples")
        wait_for(lambda: state_of(registry, job_id) == "completed", timeout=5)
    with pytest.raises(ActionError, match="unknown queue"):
        actions.pause_queue(registry, "no-such-queue")


def test_tenant_scope_hides_and_protects_other_organizations(broker, registry):
    mine = enqueue("samples", {"n": 1, "organizationId": "permian-ops"}, broker=broker)
    theirs = enqueue("samples", {"n": 2, "organizationId": "bakken-ops"}, broker=broker)
    assert registry.queue_counts("samples", org="permian-ops").waiting == 1
    assert [j.id for j in registry.list_jobs("samples", "waiting", org="permian-ops").jobs] == [mine]
    assert registry.get_job(theirs, org="permian-ops") is None
    with pytest.raises(ActionError, match="not found"):
        actions.remove_job(registry, theirs, org="permian-ops")
    assert actions.drain_queue(registry, "samples", org="permian-ops").count == 1
    assert state_of(registry, theirs) == "waiting"
