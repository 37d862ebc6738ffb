"""Kind registration without Redis: the built-in pack loads by name, and a kind's priority and tenant hooks
shape the message the engine builds."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from pydantic import BaseModel, ConfigDict

from wellqueue_tui.jobs import all_kinds, prepare_message
from wellqueue_tui.jobs.kind import JobKind


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str = "low"
    tenant: str | None = None
    organizationId: str | None = None


def _noop(payload: Ticket, ctx) -> None:
    return None


def _broker(*kinds: JobKind) -> SimpleNamespace:
    return SimpleNamespace(kinds={kind.queue: kind for kind in kinds})


def _options(kind: JobKind, payload: dict, **options) -> dict:
    message, _delay = prepare_message(_broker(kind), kind.queue, payload, **options)
    return message.options


SEVERITY = {"critical": 1}
TICKETS = JobKind(
    name="handle_ticket",
    queue="tickets",
    payload=Ticket,
    process=_noop,
    priority_of=lambda ticket: SEVERITY.get(ticket.severity),
    tenant_field="tenant",
)


def test_priority_hook_sets_the_priority_only_when_the_caller_gave_none() -> None:
    assert _options(TICKETS, {"severity": "critical"})["wq_priority"] == 1
    assert "wq_priority" not in _options(TICKETS, {"severity": "low"})
    assert _options(TICKETS, {"severity": "critical"}, priority=7)["wq_priority"] == 7


def test_kind_without_priority_hook_keeps_the_default_priority() -> None:
    plain = JobKind(name="plain", queue="plain", payload=Ticket, process=_noop)
    assert "wq_priority" not in _options(plain, {"severity": "critical"})


def test_tenant_field_names_the_payload_field_copied_to_wq_org() -> None:
    assert _options(TICKETS, {"tenant": "acme", "organizationId": "other"})["wq_org"] == "acme"
    default = JobKind(name="plain", queue="plain", payload=Ticket, process=_noop)
    assert _options(default, {"organizationId": "acme"})["wq_org"] == "acme"
    untenanted = JobKind(name="free", queue="free", payload=Ticket, process=_noop, tenant_field=None)
    assert "wq_org" not in _options(untenanted, {"organizationId": "acme", "tenant": "acme"})


def test_all_kinds_loads_the_built_in_pack_and_extra_modules_by_queue(monkeypatch) -> None:
    module = SimpleNamespace(KIND=TICKETS)
    monkeypatch.setitem(sys.modules, "ticket_kinds", module)
    kinds = all_kinds(["ticket_kinds"])
    assert kinds["tickets"] is TICKETS
    assert {"data-validation", "report-generation", "email-notifications", "webhooks"} <= set(kinds)


def test_importing_the_engine_loads_neither_the_domain_pack_nor_the_console() -> None:
    probe = "import sys, wellqueue_tui.jobs; print('wellqueue_tui.wellflow' in sys.modules, 'textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
