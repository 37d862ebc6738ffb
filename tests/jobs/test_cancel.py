"""Cancelling a running job on a real Redis with a real worker: a processor that checks its context stops at
its next check, one that never checks is stopped after the grace period; either way the job fails as
cancelled by the operator, once, audited. Only a running job can be cancelled, and only by an OPERATOR."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.auth.permissions import PermissionDenied
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import ActionError
from wellqueue_tui.jobs.kind import JobKind
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings

from .conftest import make_broker, running_worker, wait_for

QUEUE = "long-jobs"
OLGA = Identity("olga", Role.OPERATOR)


class Steps(BaseModel):
    steps: int = 600
    checks: bool = True


def run_steps(payload: Steps, ctx) -> dict:
    for step in range(payload.steps):
        if payload.checks:
            ctx.check_cancelled()
        ctx.progress(100 * step / payload.steps)
        time.sleep(0.05)
    return {"steps": payload.steps}


KIND = JobKind(name="run_steps", queue=QUEUE, payload=Steps, process=run_steps, max_attempts=3)


@pytest.fixture
def broker(redis_client, redis_url, tmp_path):
    settings = Settings(data_dir=tmp_path, cancel_grace_seconds=1.0)
    with make_broker(redis_url, settings, [KIND]) as broker:
        yield broker


def state_of(registry: Registry, job_id: str) -> str:
    detail = registry.get_job(job_id)
    return detail.summary.state if detail else "missing"


@pytest.mark.parametrize(
    ("checks", "error"),
    [
        (True, "JobCancelled: cancelled by olga"),
        (False, "JobCancelled: cancelled by olga (stopped after the grace period)"),
    ],
)
def test_a_cancelled_job_fails_once_as_cancelled_by_the_operator(broker, checks: bool, error: str) -> None:
    registry = Registry(broker.client, broker.keys)
    session = OperatorSession(registry, OLGA)
    with running_worker(broker, threads=1, queues=(QUEUE,)):
        job_id = enqueue(QUEUE, {"checks": checks}, broker=broker)
        wait_for(lambda: state_of(registry, job_id) == "active")
        assert session.cancel_job(job_id).count == 1
        wait_for(lambda: state_of(registry, job_id) == "failed")
        detail = registry.get_job(job_id)
        assert detail is not None and detail.summary.error == error
        assert detail.summary.attempts == 1, "a cancelled job is not retried"
        wait_for(lambda: not broker.client.exists(broker.keys.cancel_request(job_id)))
    [entry] = [e for e in AuditLog(broker.client, broker.keys.audit).recent(20) if e.action == "cancel"]
    assert (entry.who, entry.target, entry.outcome) == ("olga", job_id, "ok")


def test_only_a_running_job_can_be_cancelled_and_only_by_an_operator(broker) -> None:
    registry = Registry(broker.client, broker.keys)
    waiting = enqueue(QUEUE, {}, broker=broker)
    with pytest.raises(ActionError, match="is not running \\(it is waiting\\); remove it instead"):
        OperatorSession(registry, OLGA).cancel_job(waiting)
    with pytest.raises(ActionError, match="not found"):
        OperatorSession(registry, OLGA).cancel_job("no-such-job")
    with pytest.raises(PermissionDenied):
        OperatorSession(registry, Identity("mia", Role.MANAGER)).cancel_job(waiting)
    assert not broker.client.exists(broker.keys.cancel_request(waiting))
