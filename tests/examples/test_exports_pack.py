"""Seed 003 (GNB Transfer): the document's `addExportJob`, `addEmailJob`, `addAIJob` and `addScheduledJob`
calls with its example data, run by a worker with the pack loaded; the AI jobs against a fake provider."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from pack_harness import example, run_pack

from examples.exports import (
    add_ai_job,
    add_email_job,
    add_export_job,
    add_scheduled_job,
)
from examples.exports.store import open_store
from wellqueue_tui.jobs.actions import promote_job
from wellqueue_tui.workers.schedules import ScheduleError

from jobs.conftest import state_of


@pytest.fixture
def gnb(redis_client, redis_url, pack_settings, monkeypatch):
    for name in ("EXPORTS_AI_API_URL", "EXPORTS_AI_API_KEY", "EXPORTS_AI_MODEL", "EXPORTS_SITE_URL"):
        monkeypatch.delenv(name, raising=False)
    seed(pack_settings.data_dir)
    with run_pack(redis_url, pack_settings, "examples.exports") as run:
        yield run


def seed(data_dir: Path) -> None:
    with open_store(data_dir) as db:
        db.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("user123", "Ayşe Yılmaz", "ayse@example.com", "customer", "tr", "2024-01-01T00:00:00Z"),
                ("user456", "John Smith", "john@example.com", "customer", "en", "2024-01-02T00:00:00Z"),
                ("admin1", "Admin", "admin@example.com", "admin", "en", "2024-01-03T00:00:00Z"),
            ],
        )
        db.executemany(
            "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "b1",
                    "user123",
                    "p1",
                    "IST to Sultanahmet",
                    "2024-03-02T09:00:00Z",
                    "confirmed",
                    2,
                    85,
                    "EUR",
                    "2024-02-01T00:00:00Z",
                ),
                (
                    "b2",
                    "user456",
                    "p2",
                    "SAW to Taksim",
                    "2024-03-20T12:00:00Z",
                    "completed",
                    1,
                    60,
                    "EUR",
                    "2024-02-02T00:00:00Z",
                ),
                (
                    "b3",
                    "user456",
                    "p1",
                    "IST to Sultanahmet",
                    "2024-04-05T08:00:00Z",
                    "cancelled",
                    3,
                    120,
                    "EUR",
                    "2024-02-03T00:00:00Z",
                ),
                (
                    "b4",
                    "user123",
                    "p3",
                    "Cappadocia balloon",
                    "2025-01-05T05:00:00Z",
                    "confirmed",
                    2,
                    400,
                    "EUR",
                    "2024-02-04T00:00:00Z",
                ),
            ],
        )
        db.executemany(
            "INSERT INTO packages VALUES (?, ?, ?, ?, ?)",
            [
                ("p1", "Old City transfer", "Airport to Sultanahmet", 85, "2024-05-01T00:00:00Z"),
                ("p2", "Bosphorus evening", "Dinner cruise with hotel pick-up", 120, "2024-05-02T00:00:00Z"),
                ("p3", "Cappadocia weekend", "Flights, balloon ride and cave hotel", 690, "2024-05-03T00:00:00Z"),
            ],
        )


def outbox_message(run, job_id: str) -> email.message.EmailMessage:
    [path] = list(run.settings.outbox_dir.glob(f"*_{job_id}*.eml"))
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


# --- exports -----------------------------------------------------------------------------------------------


def test_bookings_csv_export(gnb) -> None:
    job = gnb.completed(add_export_job("bookings-csv", example("exports", "bookings-csv"), broker=gnb.broker))
    lines = Path(job.result["path"]).read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["id", "b1", "b4"]
    assert job.summary.priority == 5 and job.summary.max_attempts == 2


def test_users_csv_export(gnb) -> None:
    job = gnb.completed(add_export_job("users-csv", example("exports", "users-csv"), broker=gnb.broker))
    assert job.result["rows"] == 2 and "admin@example.com" not in Path(job.result["path"]).read_text()


def test_revenue_pdf_export(gnb) -> None:
    job = gnb.completed(add_export_job("revenue-pdf", example("exports", "revenue-pdf"), broker=gnb.broker))
    assert Path(job.result["path"]).read_bytes().startswith(b"%PDF")
    assert job.result["rows"] == 1  # March 2024: b1 and b2; b3 was cancelled, b4 is in 2025


def test_export_with_the_documents_custom_options(gnb) -> None:
    job = gnb.completed(
        add_export_job(
            "bookings-csv",
            example("exports", "bookings-csv-all"),
            {"priority": 1, "attempts": 5, "backoff": {"type": "exponential", "delay": 5000}},
            broker=gnb.broker,
        )
    )
    assert job.summary.priority == 1 and job.summary.max_attempts == 5 and job.result["rows"] == 4
    assert job.options["wq_backoff"] == {"type": "exponential", "delay": 5000}


def test_an_unknown_export_name_is_refused_naming_the_known_ones(gnb) -> None:
    with pytest.raises(ValueError, match="bookings-csv"):
        add_export_job("bookings-xml", {}, broker=gnb.broker)


# --- e-mail ------------------------------------------------------------------------------------------------


def test_send_email(gnb) -> None:
    job_id = add_email_job("send-email", example("exports", "send-email"), broker=gnb.broker)
    job = gnb.completed(job_id)
    assert job.summary.priority == 3 and job.summary.max_attempts == 5
    message = outbox_message(gnb, job_id)
    assert message["Subject"] == "Welcome to GNB Transfer" and message["To"] == "user@example.com"
    assert message.get_body(("html",)).get_content().strip() == "<h1>Welcome!</h1>"
    assert message.get_body(("plain",)).get_content().strip() == "Welcome!"


def test_booking_confirmation(gnb) -> None:
    job_id = add_email_job("booking-confirmation", example("exports", "booking-confirmation"), broker=gnb.broker)
    gnb.completed(job_id)
    message = outbox_message(gnb, job_id)
    assert message["To"] == "ayse@example.com"
    assert message["Subject"] == "Booking confirmed: Istanbul Airport (IST) to Sultanahmet on 2024-06-01"
    text = message.get_body(("plain",)).get_content()
    assert "Dear Ayşe Yılmaz" in text and "Booking: 65a1f0c2e4b0a1b2c3d4e5f6" in text and "85.00 EUR" in text


def test_scheduled_reminder_email_waits_its_hour(gnb) -> None:
    job_id = add_email_job(
        "send-email", example("exports", "send-email-reminder"), {"delay": 3600000}, broker=gnb.broker
    )
    assert state_of(gnb.registry, job_id) == "delayed"
    promote_job(gnb.registry, job_id)
    gnb.completed(job_id)
    assert outbox_message(gnb, job_id)["Subject"] == "Reminder"


# --- AI ----------------------------------------------------------------------------------------------------


def chat_answer(content: dict):
    def answer(request):
        assert request.headers["Authorization"] == "Bearer test-key"
        return 200, {"choices": [{"message": {"role": "assistant", "content": json.dumps(content)}}]}

    return answer


@pytest.fixture
def ai_provider(fake_provider, monkeypatch):
    monkeypatch.setenv("EXPORTS_AI_API_URL", f"{fake_provider.url}/v1")
    monkeypatch.setenv("EXPORTS_AI_API_KEY", "test-key")
    return fake_provider


@pytest.mark.parametrize("name", ["package-recommendations", "delay-risk"])
def test_ai_jobs_fail_at_once_without_a_provider(gnb, name) -> None:
    job = gnb.failed(add_ai_job(name, example("exports", name), broker=gnb.broker))
    assert "not configured: set EXPORTS_AI_API_URL and EXPORTS_AI_API_KEY" in job.summary.error
    assert job.summary.attempts == 1


def test_package_recommendations_from_the_provider(gnb, ai_provider) -> None:
    ai_provider.route(
        "POST",
        "/v1/chat/completions",
        chat_answer(
            {
                "recommendations": [
                    {"packageId": "p3", "reason": "You liked day trips."},
                    {"packageId": "p9", "reason": "made up"},
                ]
            }
        ),
    )
    job = gnb.completed(
        add_ai_job("package-recommendations", example("exports", "package-recommendations"), broker=gnb.broker)
    )
    assert job.result["recommendations"] == [
        {"packageId": "p3", "name": "Cappadocia weekend", "reason": "You liked day trips."}
    ]
    assert job.summary.priority == 7 and job.options["time_limit"] == 60_000
    [request] = ai_provider.requests_to("/v1/chat/completions")
    sent = json.loads(request.json()["messages"][1]["content"])
    assert {b["tour"] for b in sent["bookings"]} == {"IST to Sultanahmet", "Cappadocia balloon"}
    with open_store(gnb.settings.data_dir) as db:
        assert db.execute("SELECT user_id FROM recommendations").fetchone()[0] == "user123"


def test_delay_risk_from_the_provider(gnb, ai_provider) -> None:
    ai_provider.route(
        "POST",
        "/v1/chat/completions",
        chat_answer({"riskLevel": "medium", "probability": 0.35, "factors": ["morning traffic on the O-4"]}),
    )
    job = gnb.completed(add_ai_job("delay-risk", example("exports", "delay-risk"), broker=gnb.broker))
    assert job.result["riskLevel"] == "medium" and job.result["probability"] == 0.35


def test_an_unusable_ai_answer_fails_the_job_saying_why(gnb, ai_provider) -> None:
    ai_provider.route("POST", "/v1/chat/completions", chat_answer({"riskLevel": "catastrophic"}))
    job = gnb.failed(add_ai_job("delay-risk", example("exports", "delay-risk"), broker=gnb.broker))
    assert "riskLevel" in job.summary.error


# --- scheduled ---------------------------------------------------------------------------------------------


def test_process_campaigns_sends_each_due_campaign_once(gnb) -> None:
    with open_store(gnb.settings.data_dir) as db:
        db.execute(
            "INSERT INTO campaigns (id, subject, html, audience_role, send_at) VALUES (?, ?, ?, ?, ?)",
            ("spring", "Spring offers", "<p>10% off</p>", "customer", "2024-03-01T00:00:00+00:00"),
        )
    job = gnb.completed(
        add_scheduled_job("process-campaigns", example("exports", "process-campaigns"), broker=gnb.broker)
    )
    assert job.result == {"success": True, "campaigns": 1, "emails": 2}
    for user in ("user123", "user456"):
        assert outbox_message(gnb, gnb.completed(f"campaign-spring-{user}").summary.id)["Subject"] == "Spring offers"
    again = gnb.completed(add_scheduled_job("process-campaigns", {}, broker=gnb.broker))
    assert again.result["campaigns"] == 0


def test_update_sitemap_once(gnb, monkeypatch) -> None:
    monkeypatch.setenv("EXPORTS_SITE_URL", "https://gnb.example")
    job = gnb.completed(add_scheduled_job("update-sitemap", example("exports", "update-sitemap"), broker=gnb.broker))
    sitemap = Path(job.result["path"]).read_text()
    assert "<loc>https://gnb.example/packages/p3</loc><lastmod>2024-05-03</lastmod>" in sitemap
    assert job.result["urls"] == 8


def test_recurring_update_sitemap_needs_schedules_on_pack_queues(gnb) -> None:
    """The engine's schedules accept only WellFlow's queues today (reported); the refusal names the queue."""
    with pytest.raises(ScheduleError, match=r"exports.scheduled"):
        add_scheduled_job(
            "update-sitemap",
            example("exports", "update-sitemap"),
            {"repeat": {"pattern": "0 0 * * *"}},
            broker=gnb.broker,
        )
