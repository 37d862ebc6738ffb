"""Queues and jobs over HTTP: listing, paging, detail, enqueue with BullMQ options, and the job actions."""

from __future__ import annotations

import json

import pytest

from wellqueue_tui.auth.identity import Role

from .conftest import ALERT, READING, SEED_DIR, last_audit, move_state, stored_job_ids

JOBS = "/api/jobs/queues/data-validation/jobs"


def test_queues_lists_every_kind_with_counts(api):
    admin = api.as_role(Role.ADMIN)
    admin.enqueue("data-validation", READING)
    reply = admin.get("/api/jobs/queues")
    assert reply.status == 200
    queues = {q["name"]: q for q in reply.json["queues"]}
    assert {"data-validation", "report-generation", "email-notifications", "webhooks"} <= set(queues)
    assert queues["data-validation"]["waiting"] == 1 and queues["data-validation"]["total"] == 1


def test_enqueue_returns_201_with_location_and_stores_the_job(api):
    admin = api.as_role(Role.ADMIN)
    reply = admin.post(JOBS, {"data": READING})
    assert reply.status == 201, reply
    job_id = reply.json["id"]
    assert reply.json == {"id": job_id, "queue": "data-validation", "created": True}
    assert reply.headers["Location"] == f"{JOBS}/{job_id}"
    detail = admin.get(reply.headers["Location"]).json["job"]
    assert detail["summary"]["state"] == "waiting" and detail["summary"]["data"]["wellId"] == "WELL-TX-0001"
    audit = last_audit(api.client)
    assert (audit["action"], audit["target"], audit["outcome"], audit["who"]) == (
        "enqueue",
        "data-validation",
        "ok",
        "admin-user",
    )
    assert job_id in audit["detail"]


def test_same_job_id_again_returns_200_with_the_existing_job(api):
    operator = api.as_role(Role.OPERATOR)
    first = operator.post(JOBS, {"data": READING, "opts": {"jobId": "reading-42"}})
    again = operator.post(JOBS, {"data": {**READING, "wellId": "WELL-OTHER"}, "opts": {"jobId": "reading-42"}})
    assert first.status == 201 and again.status == 200
    assert again.json["created"] is False and again.json["id"] == "reading-42"
    assert again.json["job"]["summary"]["data"]["wellId"] == "WELL-TX-0001"  # the first payload stays
    assert stored_job_ids(api.client) == [b"wq:job:reading-42"]
    assert last_audit(api.client)["count"] == "0"


def test_same_job_id_in_another_queue_is_a_conflict(api):
    admin = api.as_role(Role.ADMIN)
    admin.post(JOBS, {"data": READING, "opts": {"jobId": "shared-id"}})
    reply = admin.post("/api/jobs/queues/email-notifications/jobs", {"data": ALERT, "opts": {"jobId": "shared-id"}})
    assert reply.status == 409 and reply.json["field"] == "opts.jobId"


def test_bullmq_options_reach_the_job(api):
    admin = api.as_role(Role.ADMIN)
    opts = {
        "jobId": "opt-1",
        "priority": 3,
        "attempts": 7,
        "backoff": {"type": "fixed", "delay": 500},
        "removeOnComplete": 10,
        "removeOnFail": {"count": 5, "age": 3600},
        "timeout": 60_000,
    }
    assert admin.post(JOBS, {"data": READING, "opts": opts}).status == 201
    job = admin.get(f"{JOBS}/opt-1").json["job"]
    assert job["summary"]["state"] == "prioritized" and job["summary"]["priority"] == 3
    assert job["summary"]["max_attempts"] == 7
    assert job["options"]["wq_backoff"] == {"type": "fixed", "delay": 500}
    assert job["options"]["wq_keep"] == [10, 0, 5, 3_600_000]
    assert job["options"]["time_limit"] == 60_000
    admin.post(
        JOBS, {"data": READING, "opts": {"jobId": "opt-2", "delay": 600_000, "backoff": 1500, "removeOnComplete": True}}
    )
    job = admin.get(f"{JOBS}/opt-2").json["job"]
    assert job["summary"]["state"] == "delayed" and job["delayed_until"] is not None
    assert job["options"]["wq_backoff"] == {"type": "exponential", "delay": 1500}
    assert job["options"]["wq_keep"][0] == 0


def test_list_jobs_pages_with_offset_limit_and_start_end(api):
    admin = api.as_role(Role.ADMIN)
    ids = [admin.enqueue("data-validation", {**READING, "wellId": f"WELL-{i}"}) for i in range(5)]
    page = admin.get(f"{JOBS}?state=waiting&offset=1&limit=2").json
    assert page["total"] == 5 and [j["id"] for j in page["jobs"]] == ids[1:3]
    assert (page["offset"], page["limit"], page["state"]) == (1, 2, "waiting")
    bull = admin.get(f"{JOBS}?status=waiting&start=2&end=4").json  # BullMQ's inclusive end
    assert [j["id"] for j in bull["jobs"]] == ids[2:5]
    assert admin.get(JOBS).json["state"] == "waiting"
    assert admin.get(f"{JOBS}?state=failed").json == {
        "queue": "data-validation",
        "state": "failed",
        "total": 0,
        "offset": 0,
        "limit": 50,
        "jobs": [],
    }


@pytest.mark.parametrize(
    "query,field",
    [
        ("state=done", "state"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("start=5&end=2", None),
    ],
)
def test_bad_list_queries_are_422_naming_the_parameter(api, query, field):
    reply = api.as_role(Role.MANAGER).get(f"{JOBS}?{query}")
    assert reply.status == 422 and reply.json["error"] == "invalid"
    assert reply.json.get("field") == field


def test_job_detail_and_its_queue(api):
    admin = api.as_role(Role.ADMIN)
    job_id = admin.enqueue("data-validation", READING)
    assert admin.get(f"{JOBS}/{job_id}").json["job"]["summary"]["id"] == job_id
    wrong_queue = admin.get(f"/api/jobs/queues/report-generation/jobs/{job_id}")
    assert wrong_queue.status == 404 and wrong_queue.json["error"] == "not_found"
    assert admin.get(f"{JOBS}/no-such-job").status == 404


def test_retry_and_promote_and_remove(api):
    operator, admin = api.as_role(Role.OPERATOR), api.as_role(Role.ADMIN)
    failed = operator.enqueue("data-validation", READING)
    move_state(api.client, failed, "failed")
    reply = operator.post(f"{JOBS}/{failed}/retry")
    assert reply.status == 200 and reply.json["count"] == 1 and reply.json["action"] == "retry"
    assert operator.get(f"{JOBS}/{failed}").json["job"]["summary"]["state"] == "waiting"
    again = operator.post(f"{JOBS}/{failed}/retry")
    assert again.status == 409 and "not failed" in again.json["detail"]

    delayed = operator.enqueue("data-validation", READING, delay=600_000)
    assert operator.post(f"{JOBS}/{delayed}/promote").status == 200
    assert operator.get(f"{JOBS}/{delayed}").json["job"]["summary"]["state"] == "waiting"

    reply = admin.request("DELETE", f"{JOBS}/{delayed}")
    assert reply.status == 200 and reply.json["count"] == 1
    assert admin.get(f"{JOBS}/{delayed}").status == 404
    assert admin.request("DELETE", f"{JOBS}/{delayed}").status == 404


def test_retry_failed_pause_resume_clean_and_drain(api):
    operator, admin = api.as_role(Role.OPERATOR), api.as_role(Role.ADMIN)
    queue = "/api/jobs/queues/data-validation"
    failed = [operator.enqueue("data-validation", READING) for _ in range(3)]
    for job_id in failed:
        move_state(api.client, job_id, "failed")
    assert operator.post(f"{queue}/retry-failed").json["count"] == 3

    assert operator.post(f"{queue}/pause").status == 200
    assert api.client.sismember("wq:paused", "data-validation")
    assert admin.get("/api/jobs/queues").json["queues"][0]["paused"] is True
    assert operator.post(f"{queue}/resume").status == 200
    assert not api.client.sismember("wq:paused", "data-validation")

    old = operator.enqueue("data-validation", READING)
    move_state(api.client, old, "completed", at_ms=(api.client.time()[0] - 7200) * 1000)
    recent = operator.enqueue("data-validation", READING)
    move_state(api.client, recent, "completed")
    cleaned = admin.post(f"{queue}/clean", {"state": "completed", "grace": 3_600_000, "limit": 10})
    assert cleaned.status == 200 and cleaned.json["count"] == 1
    assert admin.get(f"{JOBS}/{old}").status == 404 and admin.get(f"{JOBS}/{recent}").status == 200
    assert admin.post(f"{queue}/clean", {"status": "completed"}).json["count"] == 1  # seed 004's field name

    drained = admin.post(f"{queue}/drain")
    assert drained.status == 200 and drained.json["count"] == 3  # the three retried jobs
    assert admin.get(JOBS).json["total"] == 0


def test_queue_stats_and_all_stats(api):
    admin = api.as_role(Role.ADMIN)
    admin.enqueue("data-validation", READING)
    one = admin.get("/api/jobs/queues/data-validation/stats")
    assert one.status == 200 and one.json["waiting"] == 1 and one.json["failureRate"] == 0.0
    every = admin.get("/api/jobs/stats").json["queues"]
    # health holds the oldest job's age, which grows between the two reads
    assert {**every["data-validation"], "health": None} == {
        **one.json,
        "health": None,
    } and "email-notifications" in every
    for health in (one.json["health"], every["data-validation"]["health"]):
        assert health["consumers"] == 0 and health["stuck"] == 0 and health["latencySeconds"] >= 0
        assert "no consumer" in health["warnings"] and health["breaker"] is None and health["firingAlerts"] == []


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/jobs/queues/nope/jobs"),
        ("POST", "/api/jobs/queues/nope/jobs"),
        ("GET", "/api/jobs/queues/nope/jobs/x"),
        ("GET", "/api/jobs/queues/nope/stats"),
        ("POST", "/api/jobs/queues/nope/pause"),
        ("POST", "/api/jobs/queues/nope/drain"),
        ("POST", "/api/jobs/queues/nope/clean"),
        ("POST", "/api/jobs/queues/nope/retry-failed"),
    ],
)
def test_unknown_queue_is_404(api, method, path):
    body = {"data": READING} if method == "POST" and path.endswith("/jobs") else None
    reply = api.as_role(Role.ADMIN).request(method, path, body)
    assert reply.status == 404 and reply.json["error"] == "not_found" and "nope" in reply.json["detail"]
    assert stored_job_ids(api.client) == []


def _seed_body(queue: str) -> bytes:
    return b'{"data": ' + (SEED_DIR / f"{queue}.json").read_bytes() + b"}"


@pytest.mark.parametrize("queue", ["data-validation", "report-generation", "email-notifications"])
def test_wellflow_example_payloads_are_accepted_byte_for_byte(api, queue):
    raw = _seed_body(queue)
    reply = api.as_role(Role.OPERATOR).post(f"/api/jobs/queues/{queue}/jobs", raw=raw)
    assert reply.status == 201, reply
    stored = api.as_role(Role.MANAGER).get(reply.headers["Location"]).json["job"]["summary"]["data"]
    assert stored == json.loads((SEED_DIR / f"{queue}.json").read_bytes())
