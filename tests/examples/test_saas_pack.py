"""Seed 004 (SaaS background jobs): the document's `queue*` calls, REST bodies and integration examples with
its example payloads, run by a worker with the pack loaded; Stripe and webhook receivers on loopback."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from pack_harness import example, run_pack

from examples.saas import (
    KINDS,
    queue_cleanup,
    queue_data_export,
    queue_email,
    queue_report,
    queue_tenant_onboarding,
    queue_webhook,
    with_tenant_context,
)
from examples.saas.onboarding import STEPS
from examples.saas.store import add_record, open_store
from examples.saas.webhooks import WebhookPayload
from wellqueue_tui.jobs import EnqueueError
from wellqueue_tui.jobs.actions import promote_job

from jobs.conftest import state_of, wait_for


@pytest.fixture
def saas(redis_client, redis_url, pack_settings, monkeypatch):
    monkeypatch.delenv("SAAS_STRIPE_API_URL", raising=False)
    monkeypatch.delenv("SAAS_STRIPE_API_KEY", raising=False)
    seed(pack_settings.data_dir)
    with run_pack(redis_url, pack_settings, "examples.saas", threads=4) as run:
        yield run


def seed(data_dir: Path) -> None:
    for record in [
        ("audits", "a1", "Pump inspection", "Completed"),
        ("audits", "a2", "Tank audit", "Scheduled"),
        ("audits", "a3", "Fire drill", "Completed"),
        ("incidents", "i1", "Fuel spill", "Open"),
        ("work-permits", "w1", "Hot work", "Approved"),
        ("stations", "s1", "Station 7", "Active"),
    ]:
        add_record(data_dir, "org-123", *record, created_at="2024-03-01T00:00:00+00:00", site="North")
    add_record(
        data_dir, "org-999", "audits", "x1", "Other tenant's audit", "Completed", created_at="2024-03-01T00:00:00+00:00"
    )


def outbox_message(run, job_id: str) -> email.message.EmailMessage:
    safe = job_id.replace(":", "_")
    [path] = list(run.settings.outbox_dir.glob(f"*_{safe}*.eml"))
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_queue_configuration_is_the_documents() -> None:
    config = {kind.queue: (kind.max_attempts, kind.timeout_ms, kind.backoff_ms) for kind in KINDS}
    assert config["saas.email"][:2] == (5, 30_000)
    assert config["saas.reports"][1] == 5 * 60_000
    assert config["saas.data-exports"][:2] == (2, 10 * 60_000)
    assert config["saas.webhooks"][0] == 5 and config["saas.webhooks"][2] == 10_000
    assert config["saas.tenant-onboarding"][0] == 3


# --- e-mail ------------------------------------------------------------------------------------------------


def test_email_example(saas) -> None:
    job_id = queue_email(example("saas", "email"), broker=saas.broker)
    job = saas.completed(job_id)
    assert job.summary.max_attempts == 5
    message = outbox_message(saas, job_id)
    assert message["From"] == "noreply@hse.digital" and message["Subject"] == "Welcome!"
    assert message.get_body(("plain",)).get_content().strip() == "Welcome to our platform"


def test_rest_email_body_with_its_priority(saas) -> None:
    job = saas.completed(queue_email(example("saas", "rest-email"), broker=saas.broker))
    assert job.summary.priority == 2


def test_signup_welcome_email(saas) -> None:
    job_id = queue_email(example("saas", "signup-welcome-email"), broker=saas.broker)
    saas.completed(job_id)
    assert outbox_message(saas, job_id)["To"] == "jane@acme.com"


# --- reports and exports -----------------------------------------------------------------------------------


def test_report_example_filters_the_tenants_audits_and_notifies(saas) -> None:
    job_id = queue_report(example("saas", "report"), broker=saas.broker)
    job = saas.completed(job_id)
    report = json.loads(Path(job.result["path"]).read_text())
    assert [row["id"] for row in report["rows"]] == ["a1", "a3"] and job.summary.org == "org-123"
    notice = saas.completed(f"{job_id}:notify")
    assert outbox_message(saas, notice.summary.id)["Subject"] == "Your audits report is ready"


def test_rest_report_body_gets_the_callers_tenant(saas) -> None:
    with pytest.raises(EnqueueError, match="organizationId"):
        queue_report(example("saas", "rest-report"), broker=saas.broker)
    body = with_tenant_context(example("saas", "rest-report"), "org-123", "user-123")
    job = saas.completed(queue_report(body, broker=saas.broker))
    assert job.result["rows"] == 2


def test_scheduled_compliance_pdf(saas) -> None:
    job = saas.completed(queue_report(example("saas", "scheduled-compliance-report"), broker=saas.broker))
    assert Path(job.result["path"]).read_bytes().startswith(b"%PDF") and job.result["rows"] == 4


def test_data_export_example(saas) -> None:
    job = saas.completed(queue_data_export(example("saas", "data-export"), broker=saas.broker))
    assert job.summary.max_attempts == 2
    exported = json.loads(Path(job.result["path"]).read_text())
    assert [row["id"] for row in exported["audits"]] == ["a1", "a2", "a3"]  # never org-999's
    assert job.result["counts"] == {
        "stations": 1,
        "audits": 3,
        "incidents": 1,
        "work-permits": 1,
        "contractors": 0,
        "users": 0,
    }
    saas.completed(f"{job.summary.id}:notify")


def test_rest_data_export_body(saas) -> None:
    body = with_tenant_context(example("saas", "rest-data-export"), "org-123")
    job = saas.completed(queue_data_export(body, broker=saas.broker))
    assert set(job.result["counts"]) == {"stations", "audits", "incidents"}


# --- webhooks ----------------------------------------------------------------------------------------------


def to_receiver(payload: dict, receiver) -> dict:
    """The document's payload with its api.example.com URL pointed at the local receiver."""
    WebhookPayload.model_validate(payload)  # accepted as written
    return {**payload, "url": f"{receiver.url}/webhook"}


def expected_signature(secret: str, request) -> str:
    timestamp = request.headers["X-Webhook-Timestamp"]
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("name", ["webhook", "rest-webhook"])
def test_webhook_examples_are_signed_as_the_document_says(saas, fake_provider, name) -> None:
    fake_provider.route("POST", "/webhook", (200, {"ok": True}))
    payload = example("saas", name)
    job = saas.completed(queue_webhook(to_receiver(payload, fake_provider), broker=saas.broker))
    assert job.summary.max_attempts == 5 and job.options["wq_backoff"] == {"type": "exponential", "delay": 10000}
    [request] = fake_provider.requests_to("/webhook")
    assert request.body == json.dumps(payload["payload"], separators=(",", ":")).encode()
    assert request.headers["X-Webhook-Signature"] == expected_signature("webhook-secret", request)
    assert request.headers["X-Webhook-Event"] == payload["eventType"]


def test_webhook_is_retried_after_a_5xx(saas, fake_provider) -> None:
    answers = iter([(502, {"error": "bad gateway"})])
    fake_provider.route("POST", "/webhook", lambda _r: next(answers, (200, {})))
    job_id = queue_webhook(to_receiver(example("saas", "webhook"), fake_provider), broker=saas.broker)
    wait_for(lambda: state_of(saas.registry, job_id) in ("delayed", "completed"), timeout=30)
    promote_job(saas.registry, job_id)  # skip the 10-second backoff
    assert saas.completed(job_id).summary.attempts == 2


def test_webhook_to_a_private_address_is_refused_without_the_allowance(
    redis_client, redis_url, tmp_path, fake_provider
) -> None:
    from wellqueue_tui.settings import Settings

    with run_pack(redis_url, Settings(data_dir=tmp_path / "strict"), "examples.saas") as run:
        job = run.failed(queue_webhook(to_receiver(example("saas", "webhook"), fake_provider), broker=run.broker))
    assert "WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS" in job.summary.error and not fake_provider.received


# --- tenant onboarding -------------------------------------------------------------------------------------


def stripe(provider, monkeypatch, status: str = "active") -> None:
    monkeypatch.setenv("SAAS_STRIPE_API_URL", provider.url)
    monkeypatch.setenv("SAAS_STRIPE_API_KEY", "sk_test_123")
    provider.route("GET", "/v1/customers/cus_123", (200, {"id": "cus_123", "object": "customer"}))
    provider.route(
        "GET", "/v1/subscriptions/sub_123", (200, {"id": "sub_123", "customer": "cus_123", "status": status})
    )


def organizations(run) -> list[tuple]:
    with open_store(run.settings.data_dir) as db:
        return [tuple(r) for r in db.execute("SELECT id, tier, subscription_status FROM organizations")]


def test_rest_onboarding_runs_every_step_once_with_progress(saas) -> None:
    job = saas.completed(queue_tenant_onboarding(example("saas", "rest-tenant-onboarding"), broker=saas.broker))
    assert job.summary.progress == 100 and job.summary.max_attempts == 3
    assert job.result["steps"] == [step.__name__ for step in STEPS] and job.result["billing"] == "none"
    assert [line.split(": ")[-1] for line in job.logs if "step " in line] == ["done"] * len(STEPS)
    assert organizations(saas) == [("org-acme-corp", "professional", None)]
    welcome = saas.completed(job.result["welcomeEmailJob"])
    assert outbox_message(saas, welcome.summary.id)["To"] == "admin@acme.com"
    again = saas.completed(queue_tenant_onboarding(example("saas", "rest-tenant-onboarding"), broker=saas.broker))
    assert again.result == job.result  # idempotent: same organization, admin and welcome e-mail
    with open_store(saas.settings.data_dir) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1


def test_onboarding_with_stripe_ids_fails_at_once_when_stripe_is_not_configured(saas) -> None:
    job = saas.failed(queue_tenant_onboarding(example("saas", "tenant-onboarding"), broker=saas.broker))
    assert "not configured: set SAAS_STRIPE_API_URL and SAAS_STRIPE_API_KEY" in job.summary.error
    assert job.summary.attempts == 1 and organizations(saas) == []


def test_onboarding_with_stripe_ids_checks_the_subscription(saas, fake_provider, monkeypatch) -> None:
    stripe(fake_provider, monkeypatch)
    job = saas.completed(queue_tenant_onboarding(example("saas", "tenant-onboarding"), broker=saas.broker))
    assert job.result["billing"] == "active"
    assert organizations(saas) == [("org-acme-corp", "professional", "active")]
    assert all(r.headers["Authorization"] == "Bearer sk_test_123" for r in fake_provider.received)


def test_onboarding_refuses_a_cancelled_subscription(saas, fake_provider, monkeypatch) -> None:
    stripe(fake_provider, monkeypatch, status="canceled")
    job = saas.failed(queue_tenant_onboarding(example("saas", "tenant-onboarding"), broker=saas.broker))
    assert "sub_123 is canceled" in job.summary.error


# --- cleanup -----------------------------------------------------------------------------------------------


def test_cleanup_keeps_fresh_files(saas) -> None:
    report = saas.completed(queue_report(example("saas", "report"), broker=saas.broker))
    job = saas.completed(queue_cleanup(example("saas", "cleanup.interface"), broker=saas.broker))
    assert job.result["removed"] == {"reports": 0, "exports": 0} and Path(report.result["path"]).exists()
    gone = saas.completed(queue_cleanup({"target": "reports", "olderThanDays": 0}, broker=saas.broker))
    assert gone.result["removed"] == {"reports": 1} and not Path(report.result["path"]).exists()
