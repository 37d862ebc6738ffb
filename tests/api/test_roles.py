"""Every endpoint against every role: the weakest allowed role and up succeed, weaker roles get 403 with
nothing changed, and each refused change leaves a `denied` audit entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from wellqueue_tui.auth.identity import Role

from .conftest import READING, ROLES, Api, last_audit, move_state

Q = "/api/jobs/queues/data-validation"
RANK = {Role.MANAGER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}
SCHEDULE = {
    "name": "nightly",
    "cron": "0 2 * * *",
    "queue": "data-validation",
    "payload": {"validationType": "daily_sweep", "date": "{{yesterday}}"},
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # may name {failed}, {delayed}, {waiting} jobs made by `prepare`
    weakest: Role
    body: Any = None
    ok: int = 200
    audited: str | None = None  # the audit action of a change


def prepare(api: Api) -> dict[str, str]:
    admin = api.as_role(Role.ADMIN)
    jobs = {
        name: admin.enqueue("data-validation", {**READING, "wellId": f"WELL-{name}"}) for name in ("failed", "waiting")
    }
    jobs["delayed"] = admin.enqueue("data-validation", READING, delay=600_000)
    move_state(api.client, jobs["failed"], "failed")
    assert admin.post("/api/jobs/schedules", SCHEDULE).status == 201
    return jobs


CASES: dict[str, Case] = {
    "list queues": Case("GET", "/api/jobs/queues", Role.MANAGER),
    "list jobs": Case("GET", f"{Q}/jobs?state=failed", Role.MANAGER),
    "job detail": Case("GET", f"{Q}/jobs/{{failed}}", Role.MANAGER),
    "queue stats": Case("GET", f"{Q}/stats", Role.MANAGER),
    "stats": Case("GET", "/api/jobs/stats", Role.MANAGER),
    "metrics": Case("GET", "/api/jobs/metrics", Role.MANAGER),
    "list schedules": Case("GET", "/api/jobs/schedules", Role.MANAGER),
    "failure groups": Case("GET", "/api/jobs/failures", Role.MANAGER),
    "enqueue": Case("POST", f"{Q}/jobs", Role.OPERATOR, {"data": READING}, 201, "enqueue"),
    "enqueue flow": Case(
        "POST",
        "/api/jobs/flows",
        Role.OPERATOR,
        {"queue": "data-validation", "data": READING, "children": [{"queue": "data-validation", "data": READING}]},
        201,
        "enqueue",
    ),
    "retry": Case("POST", f"{Q}/jobs/{{failed}}/retry", Role.OPERATOR, audited="retry"),
    "promote": Case("POST", f"{Q}/jobs/{{delayed}}/promote", Role.OPERATOR, audited="promote"),
    "cancel": Case("POST", f"{Q}/jobs/{{waiting}}/cancel", Role.OPERATOR, ok=409),  # permitted; not running
    "retry failed": Case("POST", f"{Q}/retry-failed", Role.OPERATOR, audited="retry_all"),
    "pause": Case("POST", f"{Q}/pause", Role.OPERATOR, audited="pause"),
    "resume": Case("POST", f"{Q}/resume", Role.OPERATOR, audited="resume"),
    "remove": Case("DELETE", f"{Q}/jobs/{{waiting}}", Role.ADMIN, audited="remove"),
    "clean": Case("POST", f"{Q}/clean", Role.ADMIN, {"state": "failed", "grace": 0}, audited="clean"),
    "drain": Case("POST", f"{Q}/drain", Role.ADMIN, audited="drain"),
    "create schedule": Case(
        "POST",
        "/api/jobs/schedules",
        Role.ADMIN,
        {**SCHEDULE, "name": "weekly", "cron": "0 6 * * 0"},
        201,
        "schedule_add",
    ),
    "update schedule": Case(
        "PUT", "/api/jobs/schedules/nightly", Role.ADMIN, {"cron": "30 2 * * *"}, audited="schedule_update"
    ),
    "remove schedule": Case("DELETE", "/api/jobs/schedules/nightly", Role.ADMIN, audited="schedule_remove"),
}


def snapshot(api: Api) -> dict:
    """The state a refused call must leave alone: every key but the audit stream, with its content."""
    client, state = api.client, {}
    for key in client.scan_iter(count=1000):
        if key == b"wq:audit":
            continue
        kind = client.type(key).decode()
        read: Callable = {
            "hash": client.hgetall,
            "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            "list": lambda k: client.lrange(k, 0, -1),
            "set": client.smembers,
            "string": client.get,
        }[kind]
        state[key] = read(key)
    return state


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(CASES))
def test_role_matrix(api, name, role):
    case = CASES[name]
    jobs = prepare(api)
    caller = api.as_role(role)
    before = snapshot(api)
    reply = caller.request(case.method, case.path.format(**jobs), case.body)
    if RANK[role] >= RANK[case.weakest]:
        assert reply.status == case.ok, reply
        if case.audited:
            entry = last_audit(api.client)
            assert (entry["action"], entry["outcome"], entry["role"]) == (case.audited, "ok", str(role))
    else:
        assert reply.status == 403, reply
        assert reply.json["error"] == "forbidden" and str(case.weakest) in reply.json["detail"]
        assert snapshot(api) == before
        if case.audited:
            entry = last_audit(api.client)
            assert (entry["action"], entry["outcome"], entry["who"]) == (case.audited, "denied", caller_sub(role))


def caller_sub(role: Role) -> str:
    return f"{str(role).lower()}-user"


def test_every_endpoint_is_in_the_matrix():
    from wellqueue_tui.api.openapi import endpoints

    covered = {
        (
            c.method,
            c.path.split("?")[0]
            .replace("{failed}", "{id}")
            .replace("{delayed}", "{id}")
            .replace("{waiting}", "{id}")
            .replace("data-validation", "{name}")
            .replace("nightly", "{name}"),
        )
        for c in CASES.values()
    }
    public = {"/api/jobs/health", "/api/jobs/openapi.json"}
    table = {(e.method, e.path) for e in endpoints() if e.path not in public}
    assert table == covered
