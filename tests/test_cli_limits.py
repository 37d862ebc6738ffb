"""`wellqueue limit`: show and set a queue's rate limit and cluster cap live, through the permission table and
the audit log."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from test_cli import SECRET, run

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.settings import load_settings


@pytest.fixture
def cli_env(monkeypatch, tmp_path, redis_client, redis_url):
    """The CLI against the private Redis with auth on, signed in as ADMIN; call it with a role to switch."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WELLQUEUE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WELLQUEUE_JWT_SECRET", SECRET)

    def login(role: Role, org: str | None = None) -> None:
        key = load_signing_key(load_settings())
        monkeypatch.setenv(
            "WELLQUEUE_TOKEN", issue_token(key, sub=f"cli-{role}", role=role, org=org, ttl=timedelta(minutes=5))
        )

    login(Role.ADMIN)
    return login


def test_set_show_and_lift_a_rate_limit(cli_env, capsys):
    code, out, _ = run(capsys, "limit", "webhooks", "10/s", "--concurrency", "4")
    assert code == 0
    assert "webhooks limits: 10/s · max 4 in flight" in out

    code, out, _ = run(capsys, "limit", "webhooks", "--json")
    shown = json.loads(out)
    assert shown["limiter"] == {"max": 10, "duration": 1000}
    assert shown["globalConcurrency"] == 4
    assert shown["live"] == {"limiter": True, "globalConcurrency": True}

    code, out, _ = run(capsys, "limit", "webhooks", "off")
    assert code == 0
    code, out, _ = run(capsys, "limit", "webhooks")
    assert "rate limit        off (set live)" in out
    assert "max in flight     4 jobs (set live)" in out

    code, out, _ = run(capsys, "limit", "webhooks", "config", "--concurrency", "config")
    assert "webhooks limits: off" in out

    code, out, _ = run(capsys, "queues", "--json")
    webhooks = next(q for q in json.loads(out) if q["queue"] == "webhooks")
    assert webhooks["limits"]["rate"] is None

    code, out, _ = run(capsys, "audit", "--json")
    entries = [e for e in json.loads(out) if e["action"] == "limit"]
    assert len(entries) == 3
    assert {e["outcome"] for e in entries} == {"ok"}


def test_a_bad_rate_is_refused_naming_the_form_and_audited(cli_env, capsys):
    code, _, err = run(capsys, "limit", "webhooks", "ten per second")
    assert code != 0
    assert "MAX/DURATION" in err
    code, out, _ = run(capsys, "limit", "webhooks", "--json")
    assert json.loads(out)["limiter"] is None
    code, out, _ = run(capsys, "audit", "--json")
    assert [e["outcome"] for e in json.loads(out) if e["action"] == "limit"] == ["error"]


def test_an_unknown_queue_is_refused(cli_env, capsys):
    code, _, err = run(capsys, "limit", "no-such-queue", "5/s")
    assert code != 0
    assert "unknown queue" in err


def test_a_manager_may_look_but_not_limit(cli_env, capsys):
    cli_env(Role.MANAGER)
    code, _, err = run(capsys, "limit", "webhooks", "5/s")
    assert code != 0
    assert "limit needs OPERATOR or ADMIN" in err
    assert run(capsys, "limit", "webhooks")[0] == 0

    cli_env(Role.OPERATOR)
    assert run(capsys, "limit", "webhooks", "5/s")[0] == 0


def test_a_token_with_an_org_may_not_limit_a_shared_queue(cli_env, capsys):
    cli_env(Role.OPERATOR, org="permian-ops")
    code, _, err = run(capsys, "limit", "webhooks", "5/s")
    assert code != 0
    assert "affects every organization" in err
