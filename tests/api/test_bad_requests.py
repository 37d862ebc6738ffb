"""Bodies the API refuses: invalid JSON (400), wrong media type (415), unknown fields and wrong types (422,
naming the field), over 1 MiB (413). Nothing is stored for any of them."""

from __future__ import annotations

import http.client
import json

import pytest

from wellqueue_tui.api.bodies import MAX_BODY_BYTES
from wellqueue_tui.auth.identity import Role

from .conftest import ALERT, READING, stored_job_ids

JOBS = "/api/jobs/queues/data-validation/jobs"


@pytest.mark.parametrize(
    "raw,detail",
    [
        (b'{"data": {', "not valid JSON"),
        (b'{"data": NaN}', "NaN is not a JSON number"),
        (b"\xff\xfe\x00garbage", "not"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_invalid_json_is_400(api, raw, detail):
    reply = api.as_role(Role.ADMIN).post(JOBS, raw=raw)
    assert reply.status == 400 and reply.json["error"] in ("invalid_json",) and detail in reply.json["detail"], reply
    assert stored_job_ids(api.client) == []


@pytest.mark.parametrize(
    "body,field",
    [
        ({"data": READING, "extra": 1}, "extra"),
        ({"data": READING, "opts": {"lifo": True}}, "opts.lifo"),
        ({"data": {**READING, "unknownField": 1}}, "data.unknownField"),
        ({"data": READING, "opts": {"priority": "high"}}, "opts.priority"),
        ({"data": READING, "opts": {"delay": -1}}, "opts.delay"),
        ({"data": READING, "opts": {"attempts": 0}}, "opts.attempts"),
        ({"data": READING, "opts": {"backoff": {"type": "linear", "delay": 1}}}, "opts.backoff"),
        ({"data": READING, "opts": {"jobId": "has space"}}, "opts.jobId"),
        ({"data": READING, "opts": {"removeOnComplete": -1}}, "opts.removeOnComplete"),
        ({"data": {**READING, "production": {"oil": "lots", "gas": 1, "water": 1}}}, "data.production.oil"),
        ({"data": "not an object"}, "data"),
        ({"opts": {}}, "data"),
    ],
)
def test_unknown_fields_and_wrong_types_are_422_naming_the_field(api, body, field):
    reply = api.as_role(Role.ADMIN).post(JOBS, body)
    assert reply.status == 422 and reply.json["error"] == "invalid", reply
    assert reply.json["field"].startswith(field) and field in reply.json["detail"]
    assert stored_job_ids(api.client) == []


def test_a_refused_payload_is_audited_as_an_error(api):
    api.as_role(Role.OPERATOR).post("/api/jobs/queues/email-notifications/jobs", {"data": {**ALERT, "type": "?"}})
    entry = api.client.xrevrange("wq:audit", count=1)[0][1]
    assert entry[b"action"] == b"enqueue" and entry[b"outcome"] == b"error" and b"data.type" in entry[b"detail"]


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_422(api, raw):
    reply = api.as_role(Role.ADMIN).post(JOBS, raw=raw)
    assert reply.status == 422 and "JSON object" in reply.json["detail"]


def test_empty_body_and_wrong_media_type(api):
    admin = api.as_role(Role.ADMIN)
    assert admin.post(JOBS, raw=b"").json["error"] == "empty_body"
    form = admin.post(JOBS, raw=b"data=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415 and "application/json" in form.json["detail"]
    assert stored_job_ids(api.client) == []


def test_body_over_one_mebibyte_is_413(api):
    admin = api.as_role(Role.ADMIN)
    padding = "x" * MAX_BODY_BYTES
    reply = admin.post(JOBS, raw=json.dumps({"data": {**READING, "note": padding}}).encode())
    assert reply.status == 413 and reply.json["error"] == "too_large"
    assert stored_job_ids(api.client) == []


def test_chunked_body_over_one_mebibyte_is_413(api):
    """Without a Content-Length the limit holds on the bytes actually read."""
    token = api.as_role(Role.ADMIN).token
    connection = http.client.HTTPConnection(api.server.host, api.server.port, timeout=30)
    chunks = (b'{"data": {"note": "' + b"y" * 65536 for _ in range(20))
    try:
        connection.request(
            "POST",
            JOBS,
            body=chunks,
            encode_chunked=True,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Transfer-Encoding": "chunked",
            },
        )
        response = connection.getresponse()
        assert response.status == 413 and json.loads(response.read())["error"] == "too_large"
    finally:
        connection.close()
    assert stored_job_ids(api.client) == []


def test_a_body_just_under_the_limit_is_read(api):
    """1 MiB is accepted as a body; the payload model then refuses the oversized field (422, not 413)."""
    body = json.dumps({"data": {**READING, "note": ""}})
    raw = body.replace('"note": ""', '"note": "' + "z" * (MAX_BODY_BYTES - len(body)) + '"').encode()
    assert len(raw) == MAX_BODY_BYTES
    reply = api.as_role(Role.ADMIN).post(JOBS, raw=raw)
    assert reply.status == 422


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/jobs/queues/data-validation/clean", {"state": "running"}, "state"),
        ("/api/jobs/queues/data-validation/clean", {"grace": "1h"}, "grace"),
        ("/api/jobs/queues/data-validation/clean", {"limit": 0}, "limit"),
        (
            "/api/jobs/schedules",
            {"name": "x", "cron": "0 2 * * *", "queue": "data-validation", "second": "*"},
            "second",
        ),
        ("/api/jobs/schedules", {"name": "x", "queue": "data-validation"}, "cron"),
    ],
)
def test_other_bodies_name_the_bad_field(api, path, body, field):
    reply = api.as_role(Role.ADMIN).post(path, body)
    assert reply.status == 422 and reply.json["field"] == field, reply


def test_unknown_path_and_method_are_json(api):
    admin = api.as_role(Role.ADMIN)
    missing = admin.get("/api/jobs/nothing-here")
    assert missing.status == 404 and missing.json["error"] == "not_found"
    wrong = admin.request("PATCH", "/api/jobs/queues")
    assert wrong.status == 405 and wrong.json["error"] == "method_not_allowed" and "GET" in wrong.headers["Allow"]
