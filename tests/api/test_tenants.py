"""Tenant isolation: a token with an org sees and touches only that org's jobs (others are 404, as if
absent), enqueues only for its own org, and may not do what affects every organization."""

from __future__ import annotations

import pytest

from wellqueue_tui.auth.identity import Role

from .conftest import ALERT, Api, last_audit, move_state, stored_job_ids

Q = "/api/jobs/queues/email-notifications"


@pytest.fixture
def tenants(api: Api) -> dict[str, str]:
    """A failed and a waiting job for each of ORG-A and ORG-B (enqueued by an unscoped admin)."""
    admin = api.as_role(Role.ADMIN)
    jobs = {}
    for org in ("ORG-A", "ORG-B"):
        jobs[f"{org} failed"] = admin.enqueue("email-notifications", {**ALERT, "organizationId": org})
        jobs[f"{org} waiting"] = admin.enqueue("email-notifications", {**ALERT, "organizationId": org})
        move_state(api.client, jobs[f"{org} failed"], "failed")
    return jobs


def test_lists_counts_and_stats_show_only_the_token_org(api, tenants):
    manager = api.as_role(Role.MANAGER, org="ORG-A")
    page = manager.get(f"{Q}/jobs?state=waiting").json
    assert [job["id"] for job in page["jobs"]] == [tenants["ORG-A waiting"]] and page["total"] == 1
    counts = {q["name"]: q for q in manager.get("/api/jobs/queues").json["queues"]}
    assert counts["email-notifications"]["waiting"] == 1 and counts["email-notifications"]["failed"] == 1
    assert manager.get(f"{Q}/stats").json["total"] == 2
    assert api.as_role(Role.MANAGER).get(f"{Q}/stats").json["total"] == 4


@pytest.mark.parametrize(
    "method,suffix,role",
    [
        ("GET", "", Role.MANAGER),
        ("POST", "/retry", Role.OPERATOR),
        ("DELETE", "", Role.ADMIN),
    ],
)
def test_another_orgs_job_is_not_found(api, tenants, method, suffix, role):
    scoped = api.as_role(role, org="ORG-A")
    other = tenants["ORG-B failed"]
    reply = scoped.request(method, f"{Q}/jobs/{other}{suffix}")
    assert reply.status == 404 and reply.json["error"] == "not_found"
    assert api.as_role(Role.ADMIN).get(f"{Q}/jobs/{other}").json["job"]["summary"]["state"] == "failed"
    own = scoped.request(method, f"{Q}/jobs/{tenants['ORG-A failed']}{suffix}")
    assert own.status == 200


def test_retry_failed_and_drain_touch_only_the_token_org(api, tenants):
    assert api.as_role(Role.OPERATOR, org="ORG-A").post(f"{Q}/retry-failed").json["count"] == 1
    assert api.as_role(Role.ADMIN, org="ORG-A").post(f"{Q}/drain").json["count"] == 2  # ORG-A's two waiting
    unscoped = api.as_role(Role.ADMIN)
    assert unscoped.get(f"{Q}/jobs/{tenants['ORG-B failed']}").json["job"]["summary"]["state"] == "failed"
    assert unscoped.get(f"{Q}/jobs/{tenants['ORG-B waiting']}").status == 200


def test_enqueue_only_for_the_token_org(api):
    operator = api.as_role(Role.OPERATOR, org="ORG-A", sub="olga")
    assert operator.post(f"{Q}/jobs", {"data": {**ALERT, "organizationId": "ORG-A"}}).status == 201
    for data in ({**ALERT, "organizationId": "ORG-B"}, ALERT):
        reply = operator.post(f"{Q}/jobs", {"data": data})
        assert reply.status == 403 and "ORG-A" in reply.json["detail"]
        entry = last_audit(api.client)
        assert (entry["action"], entry["outcome"], entry["who"], entry["org"]) == ("enqueue", "denied", "olga", "ORG-A")
    assert len(stored_job_ids(api.client)) == 1


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", f"{Q}/pause", None),
        ("POST", f"{Q}/resume", None),
        ("GET", "/api/jobs/metrics", None),
        (
            "POST",
            "/api/jobs/schedules",
            {
                "name": "tenant-job",
                "cron": "0 2 * * *",
                "queue": "email-notifications",
                "payload": {**ALERT, "organizationId": "ORG-B"},
            },
        ),
        (
            "POST",
            "/api/jobs/schedules",
            {"name": "tenant-job", "cron": "0 2 * * *", "queue": "email-notifications", "payload": ALERT},
        ),
    ],
)
def test_what_affects_every_org_is_refused_to_a_scoped_token(api, method, path, body):
    reply = api.as_role(Role.ADMIN, org="ORG-A").request(method, path, body)
    assert reply.status == 403 and reply.json["error"] == "forbidden", reply
    assert not api.client.sismember("wq:paused", "email-notifications")
    assert not api.client.hexists("wq:schedules", "tenant-job")


def test_a_scoped_admin_keeps_schedules_of_their_own_org(api):
    """A schedule made with an org token is that org's: other orgs' tokens neither see nor touch it."""
    body = {
        "name": "tenant-job",
        "cron": "0 2 * * *",
        "queue": "email-notifications",
        "payload": {**ALERT, "organizationId": "ORG-A"},
    }
    org_a, org_b = api.as_role(Role.ADMIN, org="ORG-A"), api.as_role(Role.ADMIN, org="ORG-B")
    created = org_a.post("/api/jobs/schedules", body)
    assert created.status == 201 and created.json["org"] == "ORG-A"
    assert [row["name"] for row in org_a.get("/api/jobs/schedules").json["schedules"]] == ["tenant-job"]
    assert org_b.get("/api/jobs/schedules").json["schedules"] == []
    assert org_b.request("PUT", "/api/jobs/schedules/tenant-job", {"enabled": False}).status == 404
    assert org_b.request("DELETE", "/api/jobs/schedules/tenant-job", None).status == 404
    assert api.client.hexists("wq:schedules", "tenant-job")
