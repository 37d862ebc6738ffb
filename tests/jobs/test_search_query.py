"""The search language: qualifiers, their combinations, and errors that name the term at fault."""

from __future__ import annotations

import dataclasses

import pytest

from wellqueue_tui.jobs.models import JobSummary
from wellqueue_tui.jobs.search_query import QueryError, SearchQuery, matches, parse_query

NOW = 1_750_000_000.0
QUEUES = ["webhooks", "data-validation", "report-generation"]


def test_every_qualifier_combines_with_free_text():
    query = parse_query(
        'error:timeout well:WELL-TX-0001 org:permian-ops kind:Webhook queue:webhooks state:failed age:>2h "oil volume"',
        QUEUES,
    )
    assert query == SearchQuery(
        text=query.text,
        queues=("webhooks",),
        states=("failed",),
        error="timeout",
        well="WELL-TX-0001",
        org="permian-ops",
        kind="webhook",
        older_than_s=7200.0,
        words=("oil volume",),
    )


def test_queue_and_state_take_several_values():
    query = parse_query("queue:webhooks,data-validation state:failed state:delayed", QUEUES)
    assert query.queues == ("webhooks", "data-validation") and query.states == ("failed", "delayed")


def test_no_queue_or_state_means_every_one_and_newer_than():
    query = parse_query("age:<30m timeout")
    assert query.queues == () and query.states == () and query.newer_than_s == 1800 and query.words == ("timeout",)


def test_a_quoted_error_keeps_its_spaces():
    assert parse_query('error:"connection refused"').error == "connection refused"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("eror:timeout", "'eror:'"),
        ("state:broken", "'broken'"),
        ("queue:nope", "'nope'"),
        ("age:2h", "'age:2h'"),
        ("age:>2x", "'age:>2x'"),
        ("well:", "'well:'"),
        ("well:A well:B", "'well:B'"),
        ('error:"open', "quote"),
    ],
)
def test_a_bad_term_is_named(text: str, named: str):
    with pytest.raises(QueryError, match=named):
        parse_query(text, QUEUES)


def test_a_url_is_free_text_not_a_qualifier():
    assert parse_query("https://hooks.example.com").words == ("https://hooks.example.com",)


def summary(**changes) -> JobSummary:
    base = JobSummary(
        id="job-1",
        queue="webhooks",
        kind="webhook_delivery",
        state="failed",
        data={"wellId": "WELL-TX-0001", "url": "https://hooks.example.com"},
        priority=None,
        attempts=3,
        max_attempts=3,
        progress=0.0,
        created_at=NOW - 3 * 3600,
        started_at=None,
        finished_at=None,
        duration_ms=None,
        error="TimeoutError: read timed out after 10 s",
        org="permian-ops",
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("error:TIMED", True),
        ("error:refused", False),
        ("well:WELL-TX-0001", True),
        ("well:WELL-TX-0002", False),
        ("org:permian-ops", True),
        ("org:other", False),
        ("kind:webhook", True),
        ("kind:report", False),
        ("queue:webhooks state:failed", True),
        ("state:completed", False),
        ("age:>2h", True),
        ("age:>4h", False),
        ("age:<4h", True),
        ("hooks.example", True),
        ("job-1 hooks", True),
        ("hooks nothing", False),
    ],
)
def test_matches_applies_every_test(text: str, expected: bool):
    assert matches(parse_query(text), summary(), NOW) is expected


def test_a_job_without_creation_time_fits_no_age_test():
    assert not matches(parse_query("age:<1h"), summary(created_at=None), NOW)
