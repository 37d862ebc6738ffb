"""The audit stream on fakeredis: record and page back, server time, tokens kept out, malformed entries tolerated."""

from __future__ import annotations

import time

import pytest
import redis

from wellqueue_tui.auth.audit import AuditLog, AuditWriteFailed
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.auth.permissions import Action
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS

OLGA = Identity(sub="olga", role=Role.OPERATOR, org="acme")
ADA = Identity(sub="ada", role=Role.ADMIN)


def test_record_and_read_back(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    entry_id = log.record(OLGA, Action.RETRY, "job:42", 1, "ok")
    [entry] = log.recent()
    assert entry.id == entry_id
    assert (entry.who, entry.role, entry.org, entry.action, entry.target, entry.count, entry.outcome, entry.detail) == (
        "olga", "OPERATOR", "acme", "retry", "job:42", 1, "ok", "",
    )  # fmt: skip
    assert entry.problem is None


def test_time_is_redis_server_time(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    seconds, micros = fake_redis.time()
    server_now = seconds + micros / 1e6
    log.record(ADA, Action.DRAIN, "emails", 12, "ok")
    [entry] = log.recent()
    assert abs(entry.at - server_now) < 5
    assert abs(entry.at - int(entry.id.split("-")[0]) / 1000) < 1  # the id's ms part is server time too


def test_time_comes_from_the_server_not_the_host_clock(redis_client, monkeypatch) -> None:
    """A real server stamps the entry's id; a host clock set far off does not show."""
    monkeypatch.setattr("wellqueue_tui.auth.audit.time.time", lambda: 1_000_000_000.25)
    seconds, _ = redis_client.time()
    AuditLog(redis_client, KEYS.audit).record(ADA, Action.DRAIN, "emails", 1, "ok")
    assert abs(AuditLog(redis_client, KEYS.audit).recent()[0].at - seconds) < 60


def test_an_entry_kept_through_an_outage_keeps_the_host_time_it_happened(fake_redis, monkeypatch) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    with monkeypatch.context() as outage:
        outage.setattr(fake_redis, "xadd", lambda *a, **k: (_ for _ in ()).throw(redis.ConnectionError("down")))
        outage.setattr("wellqueue_tui.auth.audit.time.time", lambda: 1_000_000_000.25)
        with pytest.raises(AuditWriteFailed):
            log.record(ADA, Action.PAUSE, "emails", 1, "ok")
    log.record(ADA, Action.RESUME, "emails", 1, "ok")
    kept, fresh = reversed(log.recent())
    assert (kept.action, kept.at, kept.problem) == ("pause", 1_000_000_000.25, None)
    assert fresh.action == "resume" and abs(fresh.at - time.time()) < 60


def test_newest_first_and_paged(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    ids = [log.record(ADA, Action.REMOVE, f"job:{n}", 1, "ok") for n in range(7)]
    first = log.recent(3)
    assert [entry.target for entry in first] == ["job:6", "job:5", "job:4"]
    second = log.recent(3, before_id=first[-1].id)
    assert [entry.target for entry in second] == ["job:3", "job:2", "job:1"]
    assert [entry.id for entry in log.recent(3, before_id=second[-1].id)] == [ids[0]]


def test_denied_and_error_outcomes_are_recorded_and_unknown_refused(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    log.record(OLGA, Action.DRAIN, "emails", 0, "denied", "drain needs ADMIN; you are OPERATOR")
    log.record(ADA, Action.CLEAN, "emails", 0, "error", "Redis unavailable")
    assert [entry.outcome for entry in log.recent()] == ["error", "denied"]
    with pytest.raises(ValueError, match="outcome must be one of ok, denied, error"):
        log.record(ADA, Action.CLEAN, "emails", 0, "maybe")  # type: ignore[arg-type]


def test_tokens_never_reach_the_stream(fake_redis) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEiLCJyb2xlIjoiQURNSU4ifQ.c2lnbmF0dXJlLWJ5dGVz"
    log = AuditLog(fake_redis, KEYS.audit)
    log.record(ADA, Action.ISSUE_TOKEN, f"bob {token}", 1, "error", f"bad token {token} given")
    [entry] = log.recent()
    raw = repr(fake_redis.xrange("wq:audit"))
    assert token not in raw and "eyJ" not in raw
    assert entry.detail == "bad token [token removed] given"


def test_long_fields_are_capped(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    log.record(ADA, Action.CLEAN, "t" * 5000, 1, "ok", "d" * 50_000)
    [entry] = log.recent()
    assert len(entry.target) == 256 and len(entry.detail) == 1024


def test_stream_is_capped(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit, maxlen=10)
    for n in range(300):
        log.record(ADA, Action.VIEW, f"q{n}", 0, "ok")
    # MAXLEN ~ trims whole macro nodes, so the length stays near the cap rather than exactly at it.
    assert fake_redis.xlen("wq:audit") < 300


def test_malformed_entries_are_returned_with_a_problem(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    log.record(ADA, Action.VIEW, "overview", 0, "ok")
    fake_redis.xadd("wq:audit", {"who": b"\xff\xfe", "count": "many", "outcome": "exploded", "role": "ROOT"})
    fake_redis.xadd("wq:audit", {"unrelated": "1"})
    fake_redis.xadd("wq:audit", {"at": "yesterday", "who": "x", "role": "ADMIN", "action": "view", "target": "t",
                                 "count": "1", "outcome": "ok"})  # fmt: skip
    newest, no_fields, garbled, good = log.recent()
    assert good.problem is None
    assert "bad at" in newest.problem and newest.at == int(newest.id.split("-")[0]) / 1000
    assert "missing who" in no_fields.problem and "missing outcome" in no_fields.problem
    assert {"bad count", "unknown outcome", "unknown role"} <= set(garbled.problem.split("; "))
    assert garbled.who == "\ufffd\ufffd" and garbled.count == 0


def test_decoded_clients_work_too(fake_redis) -> None:
    import fakeredis

    client = fakeredis.FakeRedis(server=fake_redis.connection_pool.connection_kwargs["server"], decode_responses=True)
    AuditLog(client, KEYS.audit).record(OLGA, "retry", "job:1", 1, "ok")
    assert AuditLog(client, KEYS.audit).recent()[0].who == "olga"


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"limit": 0}, "between 1 and 1000"), ({"before_id": "nope"}, "look like")]
)
def test_bad_page_arguments(fake_redis, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        AuditLog(fake_redis, KEYS.audit).recent(**kwargs)


# -- scoped reads and failed writes (issue 15) ---------------------------------------------------------------

ACME_OPS = Identity(sub="otto", role=Role.OPERATOR, org="acme")
GLOBEX_OPS = Identity(sub="gina", role=Role.OPERATOR, org="globex")


def test_a_scoped_read_sees_its_orgs_entries_and_entries_about_its_targets(fake_redis) -> None:
    log = AuditLog(fake_redis, KEYS.audit)
    log.record(ACME_OPS, Action.RETRY, "job:a1", 1, "ok", target_org="acme")
    log.record(GLOBEX_OPS, Action.RETRY, "job:g1", 1, "ok", target_org="globex")
    log.record(ADA, Action.REMOVE, "job:a2", 1, "ok", target_org="acme")
    log.record(ADA, Action.DRAIN, "emails", 3, "ok")
    assert [e.target for e in log.recent(org="acme")] == ["job:a2", "job:a1"]
    assert [e.target for e in log.recent(org="globex")] == ["job:g1"]
    assert len(log.recent()) == 4
    assert log.recent(org="acme")[0].target_org == "acme"


def test_a_scoped_read_pages_past_other_orgs_entries(fake_redis, monkeypatch) -> None:
    monkeypatch.setattr("wellqueue_tui.auth.audit.MAX_PAGE", 5)
    log = AuditLog(fake_redis, KEYS.audit)
    for n in range(3):
        log.record(ACME_OPS, Action.RETRY, f"job:a{n}", 1, "ok")
        for m in range(7):
            log.record(GLOBEX_OPS, Action.RETRY, f"job:g{n}{m}", 1, "ok")
    first = log.page(2, org="acme")
    assert [e.target for e in first.entries] == ["job:a2", "job:a1"] and first.older == first.entries[-1].id
    rest = log.page(2, before_id=first.older, org="acme")
    assert [e.target for e in rest.entries] == ["job:a0"] and rest.older is None


def test_a_failed_write_is_kept_and_written_with_the_next(fake_redis) -> None:
    from wellqueue_tui.auth.audit import AuditWriteFailed

    log = AuditLog(fake_redis, KEYS.audit)
    fake_redis.set("wq:audit", "not a stream")
    with pytest.raises(AuditWriteFailed, match="wq:audit holds a string, expected a stream: fix or delete it"):
        log.record(ADA, Action.PAUSE, "emails", 1, "ok")
    assert log.pending == 1
    fake_redis.delete("wq:audit")
    log.record(ADA, Action.RESUME, "emails", 1, "ok")
    assert log.pending == 0
    assert [(e.action, e.outcome) for e in log.recent()] == [("resume", "ok"), ("pause", "ok")]
