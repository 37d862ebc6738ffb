"""`POST /api/jobs/flows`: a flow over HTTP, with the roles, tenant scope and audit of every enqueue."""

from __future__ import annotations

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS

from .conftest import ALERT, last_audit, stored_job_ids

FLOWS = "/api/jobs/flows"
Q = "/api/jobs/queues/email-notifications"


def flow(org: str | None = None, child_org: str | None = None) -> dict:
    def data(owner):
        return {**ALERT, "organizationId": owner} if owner else ALERT

    return {
        "queue": "email-notifications",
        "data": data(org),
        "opts": {"jobId": "parent"},
        "children": [
            {"queueName": "email-notifications", "data": data(child_org or org), "opts": {"jobId": "child-1"}},
            {
                "queue": "email-notifications",
                "data": data(child_org or org),
                "opts": {"jobId": "child-2", "ignoreDependencyOnFailure": True, "attempts": 2},
            },
        ],
    }


def test_a_flow_is_created_with_the_parent_waiting_for_its_children(api):
    operator = api.as_role(Role.OPERATOR, sub="olga")
    reply = operator.post(FLOWS, flow())
    assert reply.status == 201, reply
    assert reply.json == {
        "created": True,
        "flow": {
            "id": "parent",
            "queue": "email-notifications",
            "children": [
                {"id": "child-1", "queue": "email-notifications", "children": []},
                {"id": "child-2", "queue": "email-notifications", "children": []},
            ],
        },
    }
    parent = operator.get(f"{Q}/jobs/parent").json["job"]
    assert parent["summary"]["state"] == "waiting-children"
    assert [c["id"] for c in parent["children"]] == ["child-1", "child-2"]
    assert api.client.hget(KEYS.job("child-2"), "ido") == b"1"
    page = operator.get(f"{Q}/jobs?state=waiting-children").json
    assert page["total"] == 1 and page["jobs"][0]["id"] == "parent"
    queues = {q["name"]: q for q in operator.get("/api/jobs/queues").json["queues"]}
    assert queues["email-notifications"]["waitingChildren"] == 1 and queues["email-notifications"]["waiting"] == 2
    entry = last_audit(api.client)
    assert (entry["action"], entry["target"], entry["outcome"], entry["who"]) == (
        "enqueue",
        "email-notifications",
        "ok",
        "olga",
    )
    again = operator.post(FLOWS, flow())
    assert again.status == 200 and again.json["created"] is False and again.json["flow"]["id"] == "parent"


def test_a_bad_flow_is_refused_naming_the_job_and_nothing_is_stored(api):
    admin = api.as_role(Role.ADMIN)
    bad = flow()
    bad["children"][1]["data"] = {"type": "alert"}
    reply = admin.post(FLOWS, bad)
    assert reply.status == 422 and "flow.children[1]" in reply.json["detail"], reply
    bad = flow()
    bad["children"][0]["opts"]["bogus"] = 1
    reply = admin.post(FLOWS, bad)
    assert reply.status == 422 and "bogus" in reply.json["detail"], reply
    assert stored_job_ids(api.client) == []


def test_flows_need_the_enqueue_role_and_a_scoped_token_only_its_own_org(api):
    assert api.as_role(Role.MANAGER).post(FLOWS, flow()).status == 403
    assert api.post(FLOWS, flow()).status == 401
    scoped = api.as_role(Role.OPERATOR, org="ORG-A", sub="olga")
    reply = scoped.post(FLOWS, flow("ORG-A", child_org="ORG-B"))
    assert reply.status == 403 and "ORG-A" in reply.json["detail"]
    assert stored_job_ids(api.client) == []
    assert scoped.post(FLOWS, flow("ORG-A")).status == 201
    assert scoped.get(f"{Q}/jobs/child-1").json["job"]["summary"]["org"] == "ORG-A"
