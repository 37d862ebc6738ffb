"""Fix and re-run on the private redis-server: a failed job retried with an edited payload keeps the old one
in its history; a payload its kind refuses is reported field by field and changes nothing."""

from __future__ import annotations

import json

import pytest

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import ActionError
from wellqueue_tui.session import OperatorSession

from .conftest import running_worker, state_of, wait_for
from .sample_kinds import KIND


@pytest.fixture
def session(broker, registry) -> OperatorSession:
    return OperatorSession(
        registry,
        Identity("olga", Role.OPERATOR),
        enqueue_fn=lambda q, d: enqueue(q, d, broker=broker),
        kinds={KIND.queue: KIND},
    )


def failed(broker, registry) -> str:
    job_id = enqueue("samples", {"n": 7, "permanent": True}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "failed")
    return job_id


def test_retry_with_an_edited_payload_runs_it_and_keeps_the_old_one(broker, registry, session):
    job_id = failed(broker, registry)
    result = session.retry_with_data(job_id, "samples", {"n": 8})
    assert result.count == 1
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "completed")
    detail = registry.get_job(job_id)
    assert detail.summary.data == {"n": 8} and detail.result == {"n": 8, "attempt": 1}
    [change] = detail.history
    assert change.by == "olga" and json.loads(change.data) == {"n": 7, "permanent": True} and change.at > 0
    entry = session.audit.page(5).entries[0]
    assert entry.action == "retry" and entry.target == job_id and entry.outcome == "ok"


def test_an_invalid_payload_is_refused_naming_the_fields_and_nothing_changes(broker, registry, session):
    job_id = failed(broker, registry)
    assert session.check_payload("samples", {"n": "many", "extra": 1}) == [
        "n: Input should be a valid integer, unable to parse string as an integer",
        "extra: Extra inputs are not permitted",
    ]
    with pytest.raises(ActionError, match="n: Input should be a valid integer"):
        session.retry_with_data(job_id, "samples", {"n": "many"})
    detail = registry.get_job(job_id)
    assert detail.summary.state == "failed" and detail.history == []
    assert session.audit.page(5).entries[0].outcome == "error"


def test_only_a_failed_job_can_be_edited_and_retried(broker, registry, session):
    job_id = enqueue("samples", {"n": 1}, broker=broker)
    with pytest.raises(ActionError, match="not failed"):
        session.retry_with_data(job_id, "samples", {"n": 2})
    assert registry.get_job(job_id).summary.data == {"n": 1}


def test_duplicate_enqueues_a_new_job_with_the_payload(broker, registry, session):
    result = session.submit_job("samples", {"n": 3})
    new_id = result.target
    assert result.count == 1 and registry.get_job(new_id).summary.data == {"n": 3}
