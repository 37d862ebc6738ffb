"""The demo job generator: deterministic, covers every queue and organization, fails where it means to."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict
from datetime import date

import pytest

from wellqueue_tui.jobs.options import JobOptions
from wellqueue_tui.wellflow.demo import (
    AUDIT_TYPES,
    COUNTIES,
    DEMO_JOB_COUNT,
    NOTIFICATION_PRIORITIES,
    NOTIFICATION_TYPES,
    ORGANIZATIONS,
    REPORT_FORMATS,
    REPORT_TYPES,
    DemoJob,
    demo_jobs,
)
from wellqueue_tui.wellflow.kinds.email_notifications import EmailNotification
from wellqueue_tui.wellflow.kinds.report_generation import ReportPayload
from wellqueue_tui.wellflow.kinds.webhooks import WebhookDelivery

TODAY = date(2025, 3, 12)
QUEUES = {"data-validation", "report-generation", "email-notifications"}  # WellFlow's three
RECEIVER = "https://hooks.example.com/wellqueue-demo"
TEXAS_LATITUDES = (25.8, 36.5)
COUNTY_STATE = {(c.name, c.state) for c in COUNTIES}


@pytest.fixture(scope="module")
def jobs() -> list[DemoJob]:
    return demo_jobs(random.Random(1234), today=TODAY)


def readings(jobs: list[DemoJob]) -> list[DemoJob]:
    return [j for j in jobs if j.queue == "data-validation" and j.payload["validationType"] != "daily_sweep"]


def recorded(jobs: list[DemoJob]) -> list[DemoJob]:
    """Readings that are stored (the audits only compare with the store)."""
    return [j for j in readings(jobs) if j.payload["validationType"] not in AUDIT_TYPES]


def test_same_seed_same_jobs_and_another_seed_differs() -> None:
    first = [asdict(j) for j in demo_jobs(random.Random(7), today=TODAY)]
    again = [asdict(j) for j in demo_jobs(random.Random(7), today=TODAY)]
    other = [asdict(j) for j in demo_jobs(random.Random(8), today=TODAY)]
    assert first == again
    assert first != other


@pytest.mark.parametrize("count", [1, 5, 39, 60, 250])
def test_count_is_honoured(count: int) -> None:
    assert len(demo_jobs(random.Random(count), count, today=TODAY)) == count


def test_covers_every_queue_and_both_organizations(jobs: list[DemoJob]) -> None:
    assert len(jobs) == DEMO_JOB_COUNT == 39
    assert {j.queue for j in jobs} == QUEUES
    assert {j.payload.get("organizationId") for j in jobs} == set(ORGANIZATIONS)
    assert Counter(j.queue for j in jobs).most_common(1)[0][0] == "data-validation"


def test_every_report_type_and_format(jobs: list[DemoJob]) -> None:
    reports = [j.payload for j in jobs if j.queue == "report-generation"]
    assert {r["reportType"] for r in reports} == set(REPORT_TYPES)
    assert {r["format"] for r in reports} == set(REPORT_FORMATS) == {"pdf", "excel", "csv"}
    for report in reports:
        assert report["reportId"].startswith("RPT-") and report["priority"] in NOTIFICATION_PRIORITIES
        assert report["dateRange"]["start"].endswith("T00:00:00.000Z")  # WellFlow's toISOString() instants
        dates = ReportPayload.model_validate(report).dateRange
        assert dates.first_day <= dates.last_day < TODAY


def test_every_notification_type_and_priority(jobs: list[DemoJob]) -> None:
    emails = [EmailNotification.model_validate(j.payload) for j in jobs if j.queue == "email-notifications"]
    assert {e.type for e in emails} == set(NOTIFICATION_TYPES)
    assert {e.priority for e in emails} == set(NOTIFICATION_PRIORITIES)
    for email in emails:  # WellFlow's shape: an id, a message and the well, the subject derived
        assert email.subject is None and email.message and email.wellId
        assert email.notificationId.startswith("NOTIF-")


def test_every_validation_type_of_the_document(jobs: list[DemoJob]) -> None:
    types = {j.payload["validationType"] for j in jobs if j.queue == "data-validation"}
    assert types >= {"production_data", *AUDIT_TYPES, "daily_sweep"}


def test_wells_are_real_places_with_plausible_volumes(jobs: list[DemoJob]) -> None:
    honest = [j for j in readings(jobs) if not j.fails_on_purpose]
    assert len(honest) >= 12  # of 39 jobs
    for job in honest:
        location, production = job.payload["location"], job.payload["production"]
        assert (location["county"], location["state"]) in COUNTY_STATE
        assert job.payload["wellId"].startswith(f"WELL-{location['state']}-")
        assert job.payload["organizationId"] == ("bakken-ops" if location["state"] == "ND" else "permian-ops")
        days = 30 if job.payload["validationType"] == "monthly_production" else 1
        assert 100 * days <= production["oil"] <= 900 * days
        assert production["gas"] > 0 and production["water"] > 0
    assert {j.payload["location"]["state"] for j in honest} >= {"TX", "ND"}


def test_no_two_readings_of_one_well_share_a_day(jobs: list[DemoJob]) -> None:
    """The validator fails a second reading of a well and day as a duplicate: not a failure the demo means."""
    for seed in range(10):
        keys = [
            (j.payload["wellId"], j.payload["validationType"], j.payload["production"]["date"])
            for j in recorded(demo_jobs(random.Random(seed), 200, today=TODAY))
        ]
        assert len(keys) == len(set(keys))
        assert all(date.fromisoformat(day) < TODAY for _, _, day in keys)


def test_deliberate_failures_are_present_and_marked(jobs: list[DemoJob]) -> None:
    failing = [j for j in readings(jobs) if j.fails_on_purpose]
    reasons = set()
    for job in failing:
        location, production = job.payload["location"], job.payload["production"]
        if production["oil"] < 0:
            reasons.add("negative")
        if not TEXAS_LATITUDES[0] <= location["latitude"] <= TEXAS_LATITUDES[1]:
            reasons.add("outside")
        if (location["county"], location["state"]) not in COUNTY_STATE:
            reasons.add("county")
        assert job.note.startswith("fails on purpose")
        assert job.payload["notifyOnFailure"] is True and job.payload["notifyRecipients"]
    assert reasons == {"negative", "outside", "county"}
    assert all(not j.fails_on_purpose for j in jobs if j.queue in ("report-generation", "email-notifications"))


def test_no_webhooks_without_a_receiver(jobs: list[DemoJob]) -> None:
    """Without WELLQUEUE_DEMO_WEBHOOK_URL every delivery would fail: none is made."""
    for seed in range(10):
        assert not [j for j in demo_jobs(random.Random(seed), 200, today=TODAY) if j.queue == "webhooks"]


def test_webhooks_go_to_the_named_receiver() -> None:
    jobs = demo_jobs(random.Random(1234), today=TODAY, webhook_url=RECEIVER)
    assert len(jobs) == DEMO_JOB_COUNT
    hooks = [j for j in jobs if j.queue == "webhooks"]
    assert len(hooks) >= 2
    for job in hooks:
        WebhookDelivery.model_validate(job.payload)
        assert job.payload["url"] == RECEIVER and not job.fails_on_purpose


def test_options_are_valid_enqueue_options(jobs: list[DemoJob]) -> None:
    delays = [j.options["delay_ms"] for j in jobs if "delay_ms" in j.options]
    priorities = [j.options["priority"] for j in jobs if "priority" in j.options]
    assert delays and all(30_000 <= d <= 300_000 for d in delays)
    assert priorities
    for job in jobs:
        JobOptions.build(**job.options)


def test_every_payload_validates_against_its_kind() -> None:
    try:
        from wellqueue_tui.jobs.kind import all_kinds

        kinds = all_kinds()
    except ImportError as exc:
        pytest.skip(f"not every kind module exists yet ({exc}); the demo's payloads are checked once they do")
    for seed in range(20):
        for job in demo_jobs(random.Random(seed), today=TODAY):
            kinds[job.queue].payload.model_validate(job.payload)


def test_stored_demo_payloads_revalidate_in_the_worker():
    """What enqueue stores is what the worker validates again: it must pass a second time."""
    from wellqueue_tui.jobs import build_message, validate_payload
    from wellqueue_tui.jobs.kind import all_kinds
    from wellqueue_tui.jobs.options import JobOptions

    kinds = all_kinds()
    for job in demo_jobs(random.Random(3), 80, webhook_url=RECEIVER):
        kind = kinds[job.queue]
        message = build_message(kind, validate_payload(kind, job.payload), JobOptions.build(), "id-1")
        kind.payload.model_validate(message.args[0])
