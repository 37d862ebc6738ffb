"""`wellqueue alerts|breakers|timeline` through an operator session: permissions, audit, output."""

from __future__ import annotations

import argparse
import json

import pytest

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.cli import health as commands
from wellqueue_tui.health.alert_rules import AlertStore
from wellqueue_tui.health.alerts import AlertEvaluator
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.session import OperatorSession

PARSER = argparse.ArgumentParser(prog="wellqueue")
_SUB = PARSER.add_subparsers(dest="command")
commands.add_alerts_parser(_SUB)
commands.add_breakers_parser(_SUB)
commands.add_timeline_parser(_SUB)
RUNNERS = {"alerts": commands.run_alerts, "breakers": commands.run_breakers, "timeline": commands.run_timeline}


def run(registry, role: Role, *argv: str) -> int:
    args = PARSER.parse_args(argv)
    return RUNNERS[args.command](args, OperatorSession(registry, Identity(sub=f"{role.lower()}-user", role=role)))


def test_rules_are_managed_by_admins_and_muted_by_operators(broker, registry, enqueue_fn, capsys) -> None:
    assert (
        run(
            registry,
            Role.ADMIN,
            "alerts",
            "add",
            "deep",
            "--kind",
            "waiting_depth",
            "--queue",
            "samples",
            "--threshold",
            "0",
            "--for",
            "0s",
            "--recipient",
            "ops@example.com",
        )
        == 0
    )
    assert run(registry, Role.OPERATOR, "alerts", "add", "other", "--kind", "latency") == commands.EXIT_DENIED
    assert run(registry, Role.ADMIN, "alerts", "add", "bad", "--kind", "failure_rate", "--threshold", "150%") == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert run(registry, Role.ADMIN, "alerts", "update", "deep", "--threshold", "1") == 0
    assert AlertStore(broker.client, broker.keys).require("deep").threshold == 1
    assert run(registry, Role.OPERATOR, "alerts", "mute", "deep", "--for", "1h") == 0
    assert AlertStore(broker.client, broker.keys).require("deep").muted_until is not None
    assert run(registry, Role.OPERATOR, "alerts", "unmute", "deep") == 0

    for n in range(2):
        enqueue("samples", {"n": n}, broker=broker)
    AlertEvaluator(broker.client, broker.keys, enqueue_fn).run_once()
    capsys.readouterr()
    assert run(registry, Role.MANAGER, "alerts", "--json") == 0
    [firing] = json.loads(capsys.readouterr().out)
    assert (firing["rule"], firing["queue"], firing["status"]) == ("deep", "samples", "firing")
    assert run(registry, Role.MANAGER, "alerts", "list") == 0
    assert "FIRING on samples" in capsys.readouterr().out
    assert run(registry, Role.MANAGER, "alerts", "history", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["event"] == "fired"
    assert run(registry, Role.ADMIN, "alerts", "remove", "deep") == 0

    audited = [(e.action, e.outcome) for e in AuditLog(broker.client, broker.keys.audit).recent(20)][::-1]
    assert audited == [
        ("alert_add", "ok"),
        ("alert_add", "denied"),
        ("alert_add", "error"),
        ("alert_update", "ok"),
        ("alert_mute", "ok"),
        ("alert_unmute", "ok"),
        ("alert_remove", "ok"),
    ]


def test_breakers_are_configured_by_admins(broker, registry, capsys) -> None:
    assert run(registry, Role.OPERATOR, "breakers", "set", "webhooks") == commands.EXIT_DENIED
    assert run(registry, Role.ADMIN, "breakers", "set", "webhooks", "--failure-rate", "20%", "--cooldown", "1m") == 0
    capsys.readouterr()
    assert run(registry, Role.MANAGER, "breakers", "--json") == 0
    [breaker] = json.loads(capsys.readouterr().out)
    assert (breaker["queue"], breaker["failure_rate"], breaker["cooldown_s"]) == ("webhooks", 0.2, 60)
    assert run(registry, Role.ADMIN, "breakers", "set", "webhooks", "--cooldown", "10m", "--max-cooldown", "1m") == 2
    assert run(registry, Role.ADMIN, "breakers", "remove", "webhooks") == 0
    assert run(registry, Role.ADMIN, "breakers", "remove", "webhooks") == 2


@pytest.mark.parametrize("output", ["--json", "--summary", None])
def test_timeline_outputs(broker, registry, capsys, output) -> None:
    OperatorSession(registry, Identity(sub="ann", role=Role.OPERATOR)).pause_queue("samples")
    argv = ["timeline", "--since", "1h", "--queue", "samples"] + ([output] if output else [])
    assert run(registry, Role.MANAGER, *argv) == 0
    out = capsys.readouterr().out
    if output == "--json":
        assert json.loads(out)[0]["kind"] == "pause"
    else:
        assert "pause" in out and "[samples]" in out
    assert run(registry, Role.MANAGER, "timeline", "--since", "soon") == 2
