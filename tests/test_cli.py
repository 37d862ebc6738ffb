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
        monkeypatch.setenv("WELLQUEUE_TOKEN", issue_token(key, sub=f"cli-{role}", role=role, org=org,
                                                          ttl=timedelta(minutes=5)))

    login(Role.ADMIN)
    return login


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


VALID = {
    "wellId": "WELL-TX-0001", "leaseId": "LEASE-1", "operatorId": "OP-1",
    "location": {"latitude": 31.99, "longitude": -102.07, "county": "Midland", "state": "TX"},
    "production": {"oil": 150.5, "gas": 1200, "water": 45.2},
    "validationType": "daily_production", "includeHistorical": False, "notifyOnFailure": True,
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
        ("remove", "ok"), ("resume", "ok"), ("pause", "ok"), ("remove", "denied")]


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
    code, _, err = run(capsys, "schedules", "add", "tank-check", "--cron", "0 7 * * 1-5", "--queue",
                       "email-notifications", "--data", data)
    assert code == 1 and "schedule_add needs ADMIN" in err
    cli_env(Role.ADMIN)
    code, out, err = run(capsys, "schedules", "add", "tank-check", "--cron", "0 7 * * 1-5", "--queue",
                         "email-notifications", "--data", data)
    assert code == 0, err
    cli_env(Role.OPERATOR)
    code, out, err = run(capsys, "schedules", "run-now", "tank-check")
    assert code == 0, err
    code, out, _ = run(capsys, "jobs", "email-notifications", "--json")
    assert [j["id"].startswith("manual:tank-check:") for j in json.loads(out)["jobs"]] == [True]
    code, out, _ = run(capsys, "audit", "--json")
    assert [(e["action"], e["outcome"]) for e in json.loads(out)[:3]] == [
        ("run_schedule", "ok"), ("schedule_add", "ok"), ("schedule_add", "denied")]


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
    code, _, err = run(capsys, "schedules", "add", "tank-check", "--cron", "0 7 * * 1-5", "--queue",
                       "email-notifications", "--data", data)
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
        finished = subprocess.run([sys.executable, "-m", "wellqueue_tui.cli", "stats", "--json"], stdout=writer,
                                  stderr=subprocess.PIPE, timeout=120, text=True, env=os.environ)
    finally:
        os.close(writer)
    assert finished.stderr == ""
    assert finished.returncode == 1
