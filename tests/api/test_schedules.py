"""Schedules over HTTP: create, list, update and remove, validated as the CLI validates them, audited."""

from __future__ import annotations

from wellqueue_tui.auth.identity import Role

from .conftest import last_audit

SCHEDULES = "/api/jobs/schedules"
NIGHTLY = {
    "name": "nightly-sweep",
    "cron": "0 2 * * *",
    "queue": "data-validation",
    "payload": {"validationType": "daily_sweep", "date": "{{yesterday}}"},
    "description": "nightly",
}


def test_create_list_update_remove(api):
    admin = api.as_role(Role.ADMIN, sub="ada")
    created = admin.post(SCHEDULES, NIGHTLY)
    assert created.status == 201, created
    assert created.json["name"] == "nightly-sweep" and created.json["timezone"] == "America/Chicago"
    assert created.json["next_run"] is not None and created.json["enabled"] is True
    assert last_audit(api.client)["action"] == "schedule_add"

    listed = api.as_role(Role.MANAGER).get(SCHEDULES).json["schedules"]
    assert [s["name"] for s in listed] == ["nightly-sweep"]

    updated = admin.request("PUT", f"{SCHEDULES}/nightly-sweep", {"cron": "30 3 * * *", "enabled": False})
    assert updated.status == 200 and updated.json["cron"] == "30 3 * * *"
    assert updated.json["enabled"] is False and updated.json["next_run"] is None
    entry = last_audit(api.client)
    assert (entry["action"], entry["who"], entry["outcome"]) == ("schedule_update", "ada", "ok")

    removed = admin.request("DELETE", f"{SCHEDULES}/nightly-sweep")
    assert removed.status == 200 and removed.json["action"] == "schedule_remove"
    assert admin.get(SCHEDULES).json["schedules"] == []
    assert admin.request("DELETE", f"{SCHEDULES}/nightly-sweep").status == 404


def test_duplicate_name_is_409(api):
    admin = api.as_role(Role.ADMIN)
    assert admin.post(SCHEDULES, NIGHTLY).status == 201
    again = admin.post(SCHEDULES, {**NIGHTLY, "cron": "0 4 * * *"})
    assert again.status == 409 and again.json["field"] == "name"
    assert admin.get(SCHEDULES).json["schedules"][0]["cron"] == "0 2 * * *"


def test_invalid_schedules_are_422_and_not_stored(api):
    admin = api.as_role(Role.ADMIN)
    for body, words in [
        ({**NIGHTLY, "cron": "61 * * * *"}, "minute"),
        ({**NIGHTLY, "timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({**NIGHTLY, "queue": "nope"}, "nope"),
        ({**NIGHTLY, "name": "Bad Name"}, "Bad Name"),
        ({**NIGHTLY, "payload": {"validationType": "wrong"}}, "validationType"),
    ]:
        reply = admin.post(SCHEDULES, body)
        assert reply.status == 422 and words in reply.json["detail"], reply
        assert last_audit(api.client)["outcome"] == "error"
    assert not api.client.exists("wq:schedules")


def test_update_errors(api):
    admin = api.as_role(Role.ADMIN)
    assert admin.request("PUT", f"{SCHEDULES}/missing", {"cron": "0 1 * * *"}).status == 404
    admin.post(SCHEDULES, NIGHTLY)
    assert admin.request("PUT", f"{SCHEDULES}/nightly-sweep", {}).status == 422
    bad = admin.request("PUT", f"{SCHEDULES}/nightly-sweep", {"cron": "not cron"})
    assert bad.status == 422
    renamed = admin.request("PUT", f"{SCHEDULES}/nightly-sweep", {"name": "other"})
    assert renamed.status == 422 and renamed.json["field"] == "name"
    assert admin.get(SCHEDULES).json["schedules"][0]["cron"] == "0 2 * * *"
