"""The operator session: every role against every job action, tenant scope, and the audit trail."""

from __future__ import annotations

import pytest

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.auth.permissions import PermissionDenied
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import ActionError
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.session import OperatorSession

from .conftest import running_worker, state_of, wait_for

ADMIN = Identity("ada", Role.ADMIN)
OPERATOR = Identity("otto", Role.OPERATOR)
MANAGER = Identity("mona", Role.MANAGER)


def keyspace_digest(client) -> dict:
    """Every key with its type and size — what a refused action must leave untouched (audit excluded)."""
    digest = {}
    for key in client.scan_iter(count=1000):
        if key == b"wq:audit":
            continue
        kind = client.type(key).decode()
        size = {"hash": client.hlen, "zset": client.zcard, "list": client.llen, "set": client.scard}.get(kind)
        digest[key] = (kind, size(key) if size else client.get(key))
    return digest


@pytest.fixture
def jobs(broker, registry):
    """One failed, one delayed and one waiting job in `samples`."""
    failed = enqueue("samples", {"n": 1, "permanent": True}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, failed) == "failed")
    delayed = enqueue("samples", {"n": 2}, delay_ms=600_000, broker=broker)
    waiting = enqueue("samples", {"n": 3}, broker=broker)
    return {"failed": failed, "delayed": delayed, "waiting": waiting}


ACTIONS = {
    # action -> (weakest role, how to call it)
    "retry": (Role.OPERATOR, lambda s, j: s.retry_job(j["failed"])),
    "retry_all": (Role.OPERATOR, lambda s, j: s.retry_all_failed("samples")),
    "promote": (Role.OPERATOR, lambda s, j: s.promote_job(j["delayed"])),
    "pause": (Role.OPERATOR, lambda s, j: s.pause_queue("samples")),
    "resume": (Role.OPERATOR, lambda s, j: s.resume_queue("samples")),
    "remove": (Role.ADMIN, lambda s, j: s.remove_job(j["waiting"])),
    "clean": (Role.ADMIN, lambda s, j: s.clean_jobs("samples", "failed", 0)),
    "drain": (Role.ADMIN, lambda s, j: s.drain_queue("samples")),
}
RANK = {Role.MANAGER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.ADMIN])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_role_against_each_action(registry, jobs, role, action):
    needed, call = ACTIONS[action]
    session = OperatorSession(registry, Identity(f"user-{role}", role))
    audit = AuditLog(registry.client, KEYS.audit)
    if RANK[role] >= RANK[needed]:
        result = call(session, jobs)
        assert result.count >= 1
        entry = audit.recent(1)[0]
        assert (entry.action, entry.outcome, entry.who, entry.count) == (action, "ok", f"user-{role}", result.count)
    else:
        before = keyspace_digest(registry.client)
        with pytest.raises(PermissionDenied, match=f"{action} needs"):
            call(session, jobs)
        assert keyspace_digest(registry.client) == before
        entry = audit.recent(1)[0]
        assert (entry.action, entry.outcome) == (action, "denied")


def test_failed_action_is_audited_as_error(registry, jobs):
    session = OperatorSession(registry, ADMIN)
    with pytest.raises(ActionError):
        session.retry_job(jobs["waiting"])
    assert AuditLog(registry.client, KEYS.audit).recent(1)[0].outcome == "error"


def test_scoped_operator_sees_and_touches_only_their_organization(broker, registry):
    mine = [enqueue("samples", {"n": i, "organizationId": "permian-ops"}, broker=broker) for i in range(3)]
    theirs = [enqueue("samples", {"n": i, "organizationId": "bakken-ops"}, broker=broker) for i in range(5)]
    permian = OperatorSession(registry, Identity("pat", Role.ADMIN, org="permian-ops"))
    assert permian.queue_counts("samples").waiting == 3
    assert {j.id for j in permian.list_jobs("samples", "waiting").jobs} == set(mine)
    assert permian.search_jobs("samples", "waiting", "").total == 3
    assert permian.get_job(theirs[0]) is None
    assert permian.throughput("samples") == []  # queue-wide counters are not split by tenant
    before = keyspace_digest(registry.client)
    with pytest.raises(ActionError, match="not found"):
        permian.remove_job(theirs[0])
    with pytest.raises(ActionError, match="every organization"):
        permian.pause_queue("samples")
    assert keyspace_digest(registry.client) == before
    assert permian.drain_queue("samples").count == 3
    assert all(state_of(registry, j) == "waiting" for j in theirs)
