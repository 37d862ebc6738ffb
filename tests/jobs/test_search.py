"""Search across every queue and state on the private redis-server, and bulk actions on all its matches."""

from __future__ import annotations

import json

import pytest
import redis

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.auth.permissions import PermissionDenied
from wellqueue_tui.jobs.bulk import retry_matches
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.models import STATES
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.jobs.search import SEARCH_ORDER, scan
from wellqueue_tui.jobs.search_query import matches, parse_query
from wellqueue_tui.session import OperatorSession

HOUR_MS = 3_600_000


def plant(
    client: redis.Redis,
    job_id: str,
    queue: str,
    state: str,
    created_ms: int,
    *,
    data: dict | None = None,
    error: str | None = None,
    org: str | None = None,
    kind: str = "sample_job",
) -> None:
    """Write a job record and its state-set entries as the registry scripts do."""
    record = {
        "id": job_id,
        "queue": queue,
        "kind": kind,
        "state": state,
        "data": json.dumps(data or {}, sort_keys=True),
        "options": "{}",
        "created_at": created_ms,
        "attempts": 1,
        "max_attempts": 3,
        "gen": 0,
        "org": org or "",
    }
    if error:
        record["error"] = error
    with client.pipeline() as pipe:
        pipe.sadd(KEYS.queues, queue)
        pipe.hset(KEYS.job(job_id), mapping=record)
        pipe.zadd(KEYS.state(queue, state), {job_id: created_ms})
        if org:
            pipe.zadd(KEYS.state(queue, state, org), {job_id: created_ms})
        pipe.execute()


@pytest.fixture
def planted(redis_client: redis.Redis) -> Registry:
    """Jobs in three queues and four states, some failing by timeout, some for one well or organization."""
    now = int(redis_client.time()[0]) * 1000
    for i in range(30):
        queue = ("webhooks", "data-validation", "reports")[i % 3]
        state = ("failed", "failed", "completed", "waiting", "delayed")[i % 5]
        error = ("TimeoutError: read timed out" if i % 2 else "ValueError: bad volume") if state == "failed" else None
        plant(
            redis_client,
            f"job-{i:02}",
            queue,
            state,
            now - (i % 4) * HOUR_MS,
            data={"wellId": f"WELL-TX-{i % 4:04}", "county": "Reeves" if i % 7 else "Loving"},
            error=error,
            org="permian-ops" if i % 3 == 0 else "delaware-basin",
        )
    return Registry(redis_client, KEYS)


def found(registry: Registry, text: str, org: str | None = None, budget: int = 7) -> set[str]:
    steps = list(scan(registry, parse_query(text), org, budget=budget))
    assert steps[-1].done and steps[-1].scanned == steps[-1].total
    return {match.id for step in steps for match in step.matches}


def expected(registry: Registry, text: str, org: str | None = None) -> set[str]:
    """What the pure predicate says of every planted job, read one by one."""
    now = registry.server_time()
    query = parse_query(text)
    jobs = [registry.get_job(f"job-{i:02}") for i in range(30)]
    return {j.summary.id for j in jobs if j and matches(query, j.summary, now) and org in (None, j.summary.org)}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "error:timeout",
        "error:timeout state:failed",
        "well:WELL-TX-0001",
        "org:permian-ops",
        "org:permian-ops error:bad",
        "kind:sample",
        "kind:other",
        "queue:webhooks",
        "queue:webhooks,reports state:failed,delayed",
        "state:completed",
        "age:>2h",
        "age:<90m",
        "loving",
        "job-1 reeves",
        "error:timeout well:WELL-TX-0003 age:>2h queue:reports",
    ],
)
def test_the_scan_finds_what_the_predicate_says_across_queues_and_states(planted: Registry, text: str):
    assert found(planted, text) == expected(planted, text)


def test_the_walk_order_names_every_state():
    assert sorted(SEARCH_ORDER) == sorted(STATES)


def test_each_qualifier_narrows(planted: Registry):
    assert len(found(planted, "")) == 30
    timeouts = found(planted, "error:timeout")
    assert timeouts and all(planted.get_job(i).summary.error.startswith("TimeoutError") for i in timeouts)
    assert {planted.get_job(i).summary.queue for i in timeouts} == {"webhooks", "data-validation", "reports"}


def test_a_tenant_sees_only_its_organization(planted: Registry):
    assert found(planted, "", org="permian-ops") == expected(planted, "", org="permian-ops")
    assert found(planted, "org:delaware-basin", org="permian-ops") == set()


def test_progress_counts_every_job_of_the_chosen_sets(planted: Registry):
    steps = list(scan(planted, parse_query("state:failed"), budget=5))
    assert steps[0].scanned == 0 and steps[0].total == 12
    assert [s.scanned for s in steps] == sorted(s.scanned for s in steps)
    assert steps[-1].scanned == 12 and steps[-1].done


def test_rows_come_for_the_first_matches_only(planted: Registry):
    steps = list(scan(planted, parse_query("state:failed"), show=5, budget=4))
    rows = [row for step in steps for row in step.rows]
    assert len(rows) == 5 and all(row.state == "failed" and row.error for row in rows)


def test_bulk_retry_of_all_matches_counts_exactly_and_audits_once(planted: Registry):
    session = OperatorSession(planted, Identity("olga", Role.OPERATOR))
    matched = [m.id for step in session.search(parse_query("error:timeout")) for m in step.matches]
    assert len(matched) == 6
    seen: list[tuple[int, int]] = []
    result = session.retry_matches(matched, "error:timeout", lambda done, asked: seen.append((done, asked)) or True)
    assert result.count == 6 and "6 of 6" in result.message
    assert seen[-1] == (6, 6)
    assert found(planted, "error:timeout state:failed") == set()
    assert len(found(planted, "state:waiting")) == 6 + 6
    entries = session.audit.page(10).entries
    assert len(entries) == 1 and entries[0].count == 6 and entries[0].target == "search: error:timeout"


def test_bulk_retry_skips_matches_that_are_not_failed_and_says_so(planted: Registry):
    ids = sorted(found(planted, "queue:webhooks"))
    result = retry_matches(planted, ids, "queue:webhooks")
    failed = len(expected(planted, "queue:webhooks state:failed"))
    assert result.count == 4 and failed == 0 and f"{len(ids) - 4} not failed" in result.message


def test_bulk_remove_of_all_matches_in_batches_can_be_cancelled(planted: Registry, monkeypatch):
    monkeypatch.setattr("wellqueue_tui.jobs.bulk.BATCH", 4)
    session = OperatorSession(planted, Identity("ada", Role.ADMIN))
    ids = sorted(found(planted, "state:completed"))
    assert len(ids) == 6
    result = session.remove_matches(ids, "state:completed", lambda done, asked: done < 4)
    assert result.count == 4 and "cancelled after 4 of 6" in result.message
    assert len(found(planted, "state:completed")) == 2
    result = session.remove_matches(ids, "state:completed")
    assert result.count == 2 and found(planted, "state:completed") == set()
    assert [e.count for e in session.audit.page(10).entries] == [2, 4]


def test_bulk_remove_needs_admin_and_the_refusal_is_audited(planted: Registry):
    session = OperatorSession(planted, Identity("olga", Role.OPERATOR))
    with pytest.raises(PermissionDenied):
        session.remove_matches(["job-00"], "state:failed")
    assert planted.get_job("job-00") is not None
    assert session.audit.page(10).entries[0].outcome == "denied"
