"""The `wellqueue` CLI against the private Redis: reads with --json, actions through the session, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.cli import main
from wellqueue_tui.settings import load_settings

SECRET = "s" * 40


@pytest.fixture
def cli_env(monkeypatch, tmp_path, redis_client, redis_url):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WELLQUEUE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WELLQUEUE_JWT_SECRET", SECRET)
    monkeypatch.delenv("WELLQUEUE_TOKEN", raising=False)

    def login(role: Role, org: str | None = None) -> None:
        key = load_signing_key(load_settings())
        monkeypatch.setenv(
            "WELLQUEUE_TOKEN", issue_token(key, sub=f"cli-{role}", role=role, org=org, ttl=timedelta(minutes=5))
        )

    login(Role.ADMIN)
    return login


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


VALID = {
    "wellId": "WELL-TX-0001",
    "leaseId": "LEASE-1",
    "operatorId": "OP-1",
    "location": {"latitude": 31.99, "longitude": -102.07, "county": "Midland", "state": "TX"},
    "production": {"oil": 150.5, "gas": 1200, "water": 45.2},
    "validationType": "daily_production",
    "includeHistorical": False,
    "notifyOnFailure": True,
}


def test_enqueue_list_and_show_a_job(cli_env, capsys, tmp_path):
    payload = tmp_path / "job.json"
    payload.write_text(json.dumps(VALID))
    code, out, _ = run(capsys, "enqueue", "data-validation", "--data", f"@{payload}", "--job-id", "WELL-TX-0001:d1")
    assert (code, out.strip()) == (0, "WELL-TX-0001:d1")
    code, out, _ = run(capsys, "enqueue", "data-validation", "--data", json.dumps(VALID), "--job-id", "WELL-TX-0001:d1")
    assert (code, out.strip()) == (0, "WELL-TX-0001:d1")  # idempotent

    code, out, _ = run(capsys, "queues", "--json")
    counts = {q["queue"]: q for q in json.loads(out)}
    assert code == 0 and counts["data-validation"]["waiting"] == 1
    assert set(counts) >= {"data-validation", "report-generation", "email-notifications", "webhooks"}

    code, out, _ = run(capsys, "jobs", "data-validation", "--json")
    assert [j["id"] for j in json.loads(out)["jobs"]] == ["WELL-TX-0001:d1"]
    code, out, _ = run(capsys, "job", "WELL-TX-0001:d1")
    assert code == 0 and "Midland" in out and "waiting" in out
    code, out, _ = run(capsys, "stats", "--json")
    assert code == 0 and {r["queue"] for r in json.loads(out)} >= {"data-validation"}


def test_bad_input_exits_non_zero_with_a_clear_message(cli_env, capsys):
    bad = {**VALID, "location": {**VALID["location"], "latitude": "north"}}
    code, _, err = run(capsys, "enqueue", "data-validation", "--data", json.dumps(bad))
    assert code == 2 and "location.latitude" in err
    code, _, err = run(capsys, "enqueue", "pipelines", "--data", "{}")
    assert code == 2 and "unknown queue 'pipelines'" in err
    code, _, err = run(capsys, "enqueue", "webhooks", "--data", "{not json")
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(capsys, "job", "nope")
    assert code == 1 and "not found" in err
    code, _, err = run(capsys, "clean", "webhooks", "--state", "completed", "--older-than", "soon")
    assert code == 2 and "--older-than" in err
    code, _, err = run(capsys, "retry")
    assert code == 2 and "--all-failed" in err


def test_actions_go_through_roles_and_the_audit(cli_env, capsys):
    run(capsys, "enqueue", "data-validation", "--data", json.dumps(VALID), "--job-id", "j1")
    cli_env(Role.MANAGER)
    code, _, err = run(capsys, "remove", "j1")
    assert code == 1 and "remove needs ADMIN" in err
    cli_env(Role.OPERATOR)
    code, out, _ = run(capsys, "pause", "data-validation")
    assert code == 0 and "paused" in out
    code, out, _ = run(capsys, "queues")
    assert "yes" in out.splitlines()[1]
    code, out, _ = run(capsys, "resume", "data-validation")
    cli_env(Role.ADMIN)
    code, out, _ = run(capsys, "remove", "j1")
    assert code == 0 and "removed" in out
    code, out, _ = run(capsys, "audit", "--json")
    entries = json.loads(out)
    assert [(e["action"], e["outcome"]) for e in entries[:4]] == [
        ("remove", "ok"),
        ("resume", "ok"),
        ("pause", "ok"),
        ("remove", "denied"),
    ]


def test_missing_token_is_refused_outside_dev_mode(cli_env, capsys, monkeypatch):
    monkeypatch.delenv("WELLQUEUE_TOKEN")
    code, _, err = run(capsys, "queues")
    assert code == 1 and "token issue" in err


def test_demo_enqueues_jobs_on_every_queue(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("WELLQUEUE_DEMO_WEBHOOK_URL", "https://hooks.example.com/wellqueue-demo")
    code, out, _ = run(capsys, "demo", "--count", "40")
    assert code == 0 and "enqueued 40 demo jobs" in out
    code, out, _ = run(capsys, "queues", "--json")
    states = ("waiting", "prioritized", "delayed", "active", "completed", "failed")
    assert all(sum(q[s] for s in states) > 0 for q in json.loads(out))


def test_demo_without_a_webhook_receiver_makes_wellflows_39_jobs(cli_env, capsys, monkeypatch):
    monkeypatch.delenv("WELLQUEUE_DEMO_WEBHOOK_URL", raising=False)
    code, out, _ = run(capsys, "demo")
    assert code == 0 and "enqueued 39 demo jobs" in out and "webhooks" not in out.splitlines()[0]
    assert "set WELLQUEUE_DEMO_WEBHOOK_URL" in out


def test_schedule_changes_need_admin_and_are_audited(cli_env, capsys):
    data = json.dumps({"type": "reminder", "recipients": ["ops@example.com"], "subject": "Check tanks {{today}}"})
    cli_env(Role.OPERATOR)
    code, _, err = run(
        capsys,
        "schedules",
        "add",
        "tank-check",
        "--cron",
        "0 7 * * 1-5",
        "--queue",
        "email-notifications",
        "--data",
        data,
    )
    assert code == 1 and "schedule_add needs ADMIN" in err
    cli_env(Role.ADMIN)
    code, out, err = run(
        capsys,
        "schedules",
        "add",
        "tank-check",
        "--cron",
        "0 7 * * 1-5",
        "--queue",
        "email-notifications",
        "--data",
        data,
    )
    assert code == 0, err
    cli_env(Role.OPERATOR)
    code, out, err = run(capsys, "schedules", "run-now", "tank-check")
    assert code == 0, err
    code, out, _ = run(capsys, "jobs", "email-notifications", "--json")
    assert [j["id"].startswith("manual:tank-check:") for j in json.loads(out)["jobs"]] == [True]
    code, out, _ = run(capsys, "audit", "--json")
    assert [(e["action"], e["outcome"]) for e in json.loads(out)[:3]] == [
        ("run_schedule", "ok"),
        ("schedule_add", "ok"),
        ("schedule_add", "denied"),
    ]


def test_token_is_accepted_after_the_command_too(cli_env, capsys, monkeypatch):
    run(capsys, "enqueue", "data-validation", "--data", json.dumps(VALID), "--job-id", "j1")
    cli_env(Role.OPERATOR)
    token = os.environ["WELLQUEUE_TOKEN"]
    monkeypatch.delenv("WELLQUEUE_TOKEN")
    code, _, err = run(capsys, "stats", "--json")
    assert code == 1 and "token issue" in err
    code, out, err = run(capsys, "stats", "--token", token, "--json")
    assert code == 0, err
    assert {r["queue"]: r["counts"]["waiting"] for r in json.loads(out)}["data-validation"] == 1
    code, _, err = run(capsys, "--token", token, "pause", "data-validation")
    assert code == 0, err
    code, _, err = run(capsys, "schedules", "list", "--token", token)
    assert code == 0, err
    code, out, _ = run(capsys, "audit", "--json", "--token", token)
    assert json.loads(out)[0]["who"] == f"cli-{Role.OPERATOR}"
    refused_after = run(capsys, "stats", "--token", "not-a-token")
    assert refused_after == run(capsys, "--token", "not-a-token", "stats")
    assert refused_after[0] != 0 and "not a JWT" in refused_after[2]


def test_schedules_json_without_an_action_lists_as_json(cli_env, capsys):
    data = json.dumps({"type": "reminder", "recipients": ["ops@example.com"], "subject": "Check tanks"})
    code, _, err = run(
        capsys,
        "schedules",
        "add",
        "tank-check",
        "--cron",
        "0 7 * * 1-5",
        "--queue",
        "email-notifications",
        "--data",
        data,
    )
    assert code == 0, err
    code, listed, _ = run(capsys, "schedules", "list", "--json")
    assert code == 0 and [row["name"] for row in json.loads(listed)] == ["tank-check"]
    for argv in (["schedules", "--json"], ["schedules", "--json", "list"]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert [row["name"] for row in json.loads(out)] == ["tank-check"]


def test_a_closed_pipe_ends_the_command_quietly(cli_env, tmp_path):
    """`wellqueue stats --json | head -c1`: the reader is gone before the first write (its end is closed
    before the command starts), so the write fails every time, and the command must say nothing about it."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "wellqueue_tui.cli", "stats", "--json"],
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=120,
            text=True,
            env=os.environ,
        )
    finally:
        os.close(writer)
    assert finished.stderr == ""
    assert finished.returncode == 1


# -- tenants sealed, audit failures reported apart, wrong-type keys named (issue 15) ----------------------------

ALERT = {"type": "alert", "recipients": ["ops@example.com"], "subject": "Tank high"}


def scheduled(org: str) -> str:
    return json.dumps({**ALERT, "subject": f"Tanks of {org} {{{{today}}}}", "organizationId": org})


@pytest.mark.parametrize(
    "argv",
    [
        ["enqueue", "webhooks", "--data", "{}"],
        ["demo"],
        ["workers"],
        ["audit"],
        ["schedules", "list"],
        ["redis", "status"],
    ],
)
def test_every_command_needs_a_token_when_auth_is_on(cli_env, capsys, monkeypatch, argv):
    monkeypatch.delenv("WELLQUEUE_TOKEN")
    code, out, err = run(capsys, *argv)
    assert code == 1 and "token issue" in err and out == ""


def test_enqueue_and_demo_pass_the_permission_table(cli_env, capsys, redis_client):
    mine, theirs = {**ALERT, "organizationId": "ORG-A"}, {**ALERT, "organizationId": "ORG-B"}
    cli_env(Role.MANAGER)
    code, _, err = run(capsys, "enqueue", "email-notifications", "--data", json.dumps(mine))
    assert code == 1 and "enqueue needs OPERATOR or ADMIN" in err
    cli_env(Role.OPERATOR, org="ORG-A")
    for payload in (theirs, ALERT):
        code, _, err = run(capsys, "enqueue", "email-notifications", "--data", json.dumps(payload))
        assert code == 1 and "organizationId is 'ORG-A'" in err
    code, out, err = run(capsys, "enqueue", "email-notifications", "--data", json.dumps(mine), "--job-id", "a-1")
    assert (code, out.strip()) == (0, "a-1"), err
    code, _, err = run(capsys, "demo")
    assert code == 1 and "demo needs ADMIN" in err
    cli_env(Role.ADMIN, org="ORG-A")
    code, _, err = run(capsys, "demo")
    assert code == 1 and "several organizations" in err
    assert [key for key in redis_client.scan_iter("wq:job:*") if not key.endswith(b":log")] == [b"wq:job:a-1"]
    code, out, _ = run(capsys, "audit", "--json")
    assert [(e["action"], e["outcome"]) for e in json.loads(out)[:4]] == [
        ("demo", "denied"),
        ("demo", "denied"),
        ("enqueue", "ok"),
        ("enqueue", "denied"),
    ]


def test_schedules_and_audit_are_scoped_to_the_token_org(cli_env, capsys):
    for org in ("ORG-A", "ORG-B"):
        code, _, err = run(
            capsys,
            "schedules",
            "add",
            f"tanks-{org.lower()}",
            "--cron",
            "0 7 * * *",
            "--queue",
            "email-notifications",
            "--data",
            scheduled(org),
        )
        assert code == 0, err
    cli_env(Role.OPERATOR, org="ORG-A")
    code, out, _ = run(capsys, "schedules", "list", "--json")
    assert [(row["name"], row["org"]) for row in json.loads(out)] == [("tanks-org-a", "ORG-A")]
    code, _, err = run(capsys, "schedules", "run-now", "tanks-org-b")
    assert code == 2 and "no schedule named 'tanks-org-b'" in err
    code, _, err = run(capsys, "schedules", "run-now", "tanks-org-a")
    assert code == 0, err
    cli_env(Role.ADMIN, org="ORG-A")
    for action in ("pause", "resume", "remove"):
        code, _, err = run(capsys, "schedules", action, "tanks-org-b")
        assert code == 2 and "no schedule named 'tanks-org-b'" in err
    code, _, err = run(capsys, "schedules", "update", "tanks-org-b", "--cron", "0 8 * * *")
    assert code == 2 and "no schedule named 'tanks-org-b'" in err
    code, _, err = run(
        capsys,
        "schedules",
        "add",
        "sneaky",
        "--cron",
        "0 7 * * *",
        "--queue",
        "email-notifications",
        "--data",
        scheduled("ORG-B"),
    )
    assert code == 2 and "must be 'ORG-A'" in err

    code, out, _ = run(capsys, "audit", "--json")
    seen = json.loads(out)
    assert seen and all("ORG-A" in (e["org"], e["target_org"]) for e in seen)
    assert ("schedule_add", "tanks-org-a", None, "ORG-A") in {
        (e["action"], e["target"], e["org"], e["target_org"]) for e in seen
    }
    assert not any("org-b" in e["target"] and e["outcome"] == "ok" for e in seen)
    cli_env(Role.ADMIN)
    code, out, _ = run(capsys, "schedules", "list", "--json")
    assert [(row["name"], row["enabled"]) for row in json.loads(out)] == [("tanks-org-a", True), ("tanks-org-b", True)]
    code, out, _ = run(capsys, "audit", "--json")
    assert any(e["target"] == "tanks-org-b" and e["target_org"] == "ORG-B" for e in json.loads(out))


def test_worker_records_show_no_job_errors_to_an_org_token(cli_env, capsys, redis_client):
    from wellqueue_tui.jobs.keys import DEFAULT_KEYS
    from wellqueue_tui.workers.worker_records import WorkerRecord, WorkerRecords, WorkerState

    WorkerRecords(redis_client, DEFAULT_KEYS).publish(
        [
            WorkerRecord(
                id="host:1:emails:0",
                supervisor="host:1",
                host="host",
                group="emails",
                queues=("email-notifications",),
                threads=2,
                state=WorkerState.RUNNING,
                pid=4242,
                started=None,
                restarts=0,
                last_exit_code=None,
                rss_bytes=None,
                active=1,
                last_error="job ORG-B-secret failed: bad recipient for ORG-B",
            )
        ]
    )
    code, out, _ = run(capsys, "workers", "--json")
    assert code == 0 and "ORG-B-secret" in json.loads(out)[0]["last_error"]
    cli_env(Role.MANAGER, org="ORG-A")
    code, out, err = run(capsys, "workers", "--json")
    (worker,) = json.loads(out)
    assert code == 0 and worker["id"] == "host:1:emails:0" and worker["last_error"] is None, err
    assert "ORG-B" not in out


def test_an_action_whose_audit_write_fails_is_reported_done(cli_env, capsys, redis_client):
    run(capsys, "enqueue", "data-validation", "--data", json.dumps(VALID), "--job-id", "j1")
    redis_client.delete("wq:audit")
    redis_client.set("wq:audit", "not a stream")
    code, out, err = run(capsys, "pause", "data-validation")
    assert code == 0 and "paused" in out
    assert "warning: pause was done, but the audit entry could not be written" in err
    assert "wq:audit holds a string, expected a stream: fix or delete it" in err
    assert redis_client.sismember("wq:paused", "data-validation")


def test_a_wrong_type_key_is_named_not_called_unreachable(cli_env, capsys, redis_client):
    redis_client.set("wq:queues", "oops")
    for argv in (["queues"], ["enqueue", "data-validation", "--data", json.dumps(VALID)]):
        code, _, err = run(capsys, *argv)
        assert code == 3 and "wq:queues holds a string, expected a set: fix or delete it" in err
        assert "unreachable" not in err
