"""Failure groups on a real redis-server: filed by the finish script as jobs fail through real workers, left as
jobs are retried, removed or trimmed, and retry-all / remove-all of a group taking every member exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from wellqueue_tui.auth.identity import LOCAL_DEV, Identity, Role
from wellqueue_tui.auth.permissions import PermissionDenied
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.cli import main
from wellqueue_tui.jobs import actions, enqueue
from wellqueue_tui.jobs.failure_groups import FailureGroups, group_jobs, remove_group, retry_group
from wellqueue_tui.jobs.keys import KeySchema
from wellqueue_tui.jobs.scripts import LUA_DIR
from wellqueue_tui.jobs.signature import group_id, signature
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import load_settings

from .conftest import running_worker, state_of, wait_for

PERMANENT = signature("PermanentJobError: n=1 can never work")
NOT_THERE = signature("RuntimeError: fixed is not there yet")


def fail_jobs(broker, registry, payloads: list[dict], **options) -> list[str]:
    ids = [enqueue("samples", payload, broker=broker, **options) for payload in payloads]
    with running_worker(broker):  # failed, or already trimmed by retention
        wait_for(lambda: all(state_of(registry, job_id) in ("failed", None) for job_id in ids))
    return ids


@pytest.fixture
def groups(broker) -> FailureGroups:
    return FailureGroups(broker.client, broker.keys)


def test_jobs_failing_for_one_cause_share_one_group(broker, registry, groups):
    permanent = fail_jobs(
        broker,
        registry,
        [{"n": n, "permanent": True, "organizationId": "ORG-8" if n < 3 else "ORG-9"} for n in range(5)],
    )
    missing = fail_jobs(broker, registry, [{"n": 7, "needs_file": "fixed"}], attempts=2)

    listed = groups.groups()
    assert [(g.signature, g.count) for g in listed] == [(PERMANENT, 5), (NOT_THERE, 1)]
    first = listed[0]
    assert first.id == group_id(PERMANENT) and first.queues == {"samples": 5}
    assert first.top_values == {"organizationId": [("ORG-8", 3), ("ORG-9", 2)]}
    assert first.error.startswith("PermanentJobError: n=") and first.first_seen <= first.last_seen
    assert sum(first.trend(first.last_seen)) == 5 and first.trend(first.last_seen)[-1] >= 1
    assert sorted(groups.job_ids(first.id)) == sorted(permanent)
    assert groups.job_ids(group_id(NOT_THERE)) == missing
    # the retried attempt (attempt 1 of 2) filed nothing: only jobs failed for good are grouped
    assert groups.size(group_id(NOT_THERE)) == 1
    page = group_jobs(registry, first.id, 0, 2)
    assert page.total == 5 and len(page.jobs) == 2 and all(job.state == "failed" for job in page.jobs)


def test_a_job_leaves_its_group_when_retried_removed_or_cleaned(broker, registry, groups):
    ids = fail_jobs(broker, registry, [{"n": n, "permanent": True, "organizationId": "ORG-1"} for n in range(4)])
    gid = group_id(PERMANENT)
    actions.retry_job(registry, ids[0])
    actions.remove_job(registry, ids[1])
    assert groups.size(gid) == 2 and groups.group(gid).count == 2
    assert groups.group(gid).top_values == {"organizationId": [("ORG-1", 2)]}
    assert actions.clean_jobs(registry, "samples", "failed", 0).count == 2
    assert groups.groups() == [] and groups.group(gid) is None
    assert broker.client.exists(broker.keys.failure_group_values(gid, "organizationId")) == 0
    with running_worker(broker):  # the retried one fails again: filed anew
        wait_for(lambda: state_of(registry, ids[0]) == "failed")
    assert groups.job_ids(gid) == [ids[0]]


def test_retention_trims_members_out_of_their_group(broker, registry, groups):
    fail_jobs(broker, registry, [{"n": n, "permanent": True} for n in range(3)], remove_on_fail=1)
    assert registry.queue_counts("samples").failed == 1
    assert groups.size(group_id(PERMANENT)) == 1 and groups.groups()[0].count == 1


def test_retry_all_and_remove_all_take_every_member_in_batches(broker, registry, groups, monkeypatch):
    monkeypatch.setattr("wellqueue_tui.jobs.failure_groups.BATCH", 3)
    ids = fail_jobs(broker, registry, [{"n": n, "permanent": True} for n in range(8)])
    other = fail_jobs(broker, registry, [{"n": 9, "needs_file": "fixed"}], attempts=1)
    gid = group_id(PERMANENT)
    seen: list[tuple[int, int]] = []
    result = retry_group(registry, gid, progress=lambda done, total: seen.append((done, total)))
    assert result.count == 8 and "8 of 8" in result.message
    assert seen == [(3, 8), (6, 8), (8, 8)]
    assert all(state_of(registry, job_id) == "waiting" for job_id in ids)
    assert groups.group(gid) is None and [g.signature for g in groups.groups()] == [NOT_THERE]
    assert state_of(registry, other[0]) == "failed"

    with running_worker(broker):
        wait_for(lambda: groups.size(gid) == 8)
    result = remove_group(registry, gid)
    assert result.count == 8 and all(registry.get_job(job_id) is None for job_id in ids)
    assert groups.group(gid) is None and groups.size(group_id(NOT_THERE)) == 1


def test_the_field_value_counters_are_bounded(redis_client):
    """81 distinct well ids filed into one group keep 50 values; the most frequent one stays, counted whole."""
    prefix = "bounded:wq"
    keys = KeySchema("bounded", prefix)
    probe = (
        (LUA_DIR / "common.lua").read_text()
        + """
for i = 1, 100 do
  local id = 'j' .. i
  redis.call('HSET', job_key(id), 'queue', 'samples', 'state', 'active')
  set_state(job_key(id), id, 'failed', i)
  local well = (i % 5 == 0) and 'WELL-HOT' or ('WELL-' .. i)
  join_failure_group(job_key(id), id, 'samples', i, 'g1', 'X: y', cjson.encode({wellId = well}), 'X: y ' .. i)
end
return 1"""
    )
    redis_client.eval(probe, 0, prefix)
    values = keys.failure_group_values("g1", "wellId")
    assert redis_client.zcard(values) == 50
    assert redis_client.zscore(values, "WELL-HOT") == 20
    groups = FailureGroups(redis_client, keys)
    [group] = groups.groups()
    assert (group.count, group.queues, group.top_values["wellId"][0]) == (100, {"samples": 100}, ("WELL-HOT", 20))


def test_one_audit_entry_per_bulk_action_with_its_count(broker, registry):
    ids = fail_jobs(broker, registry, [{"n": n, "permanent": True} for n in range(6)])
    session = OperatorSession(registry, LOCAL_DEV)
    gid = group_id(PERMANENT)
    assert session.retry_failure_group(gid).count == 6
    entries = [entry for entry in session.audit_entries() if "failure group" in entry.target]
    assert [(entry.action, entry.target, entry.count, entry.outcome) for entry in entries] == [
        ("retry_all", f"failure group {gid}", 6, "ok")
    ]
    with pytest.raises(PermissionDenied, match="retry_all needs"):
        OperatorSession(registry, Identity("mona", Role.MANAGER)).retry_failure_group(gid)
    assert all(state_of(registry, job_id) == "waiting" for job_id in ids)


def test_the_cli_lists_the_groups_and_acts_on_one(broker, registry, redis_url, tmp_path, monkeypatch, capsys):
    fail_jobs(broker, registry, [{"n": n, "permanent": True, "organizationId": "ORG-8"} for n in range(3)])
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WELLQUEUE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WELLQUEUE_JWT_SECRET", "s" * 40)
    key = load_signing_key(load_settings())
    monkeypatch.setenv("WELLQUEUE_TOKEN", issue_token(key, sub="cli", role=Role.ADMIN, ttl=timedelta(minutes=5)))

    assert main(["failures", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["signature"], listed["count"], listed["queues"]) == (
        group_id(PERMANENT),
        PERMANENT,
        3,
        {"samples": 3},
    )
    assert listed["top_values"] == {"organizationId": [["ORG-8", 3]]} and sum(listed["trend"]) == 3
    assert main(["failures"]) == 0
    out = capsys.readouterr().out
    assert PERMANENT in out and "organizationId ORG-8 ×3" in out
    assert main(["failures", "remove", group_id(PERMANENT)]) == 0
    assert "3 of 3 failed jobs removed" in capsys.readouterr().out
    assert main(["failures"]) == 0 and "no failed jobs" in capsys.readouterr().out
