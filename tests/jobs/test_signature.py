"""Failure signatures (pure): what varies from job to job is replaced, the cause stays, and the payload fields
operators filter on are picked out of WellFlow's example payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wellqueue_tui.jobs.signature import (
    MAX_SIGNATURE,
    failure_group_args,
    group_fields,
    group_id,
    normalize_message,
    signature,
    split_error,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "wellflow"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("PermanentJobError: n=2 can never work", "PermanentJobError: n=<n> can never work"),
        ("RuntimeError: planned failure 1 of 3", "RuntimeError: planned failure <n> of <n>"),
        (
            "TimeLimitExceeded: stopped after its timeout of 60000 ms",
            "TimeLimitExceeded: stopped after its timeout of <n> ms",
        ),
        ("ValueError: well WELL-TX-0001 has no lease LEASE-211", "ValueError: well <id> has no lease <id>"),
        ("KeyError: 'wellId'", "KeyError: '<value>'"),
        ('ValidationError: field "county" is "Howard"', 'ValidationError: field "<value>" is "<value>"'),
        ("job 3f2b1c9e-1d2a-4b5c-9d8e-7f6a5b4c3d2e stuck", "job <uuid> stuck"),
        ("webhook to https://hooks.example.com/a/b?x=1 failed: 503", "webhook to <url> failed: <n>"),
        ("ConnectionError: cannot reach db.internal:5432", "ConnectionError: cannot reach <host>"),
        ("OSError: timed out on 10.0.0.12:6379", "OSError: timed out on <ip>"),
        ("OSError: [Errno 2] No such file: /var/lib/wq/RPT-17-272.pdf", "OSError: [Errno <n>] No such file: <path>"),
        ("SMTPError: refused ops@example.com", "SMTPError: refused <email>"),
        ("ValueError: bad range 2025-09-05T22:42:36.494Z", "ValueError: bad range <time>"),
        ("DigestError: got a1b2c3d4e5f6 want 0xdeadbeef", "DigestError: got <hex> want <hex>"),
        ("ZeroDivisionError", "ZeroDivisionError"),
        ("ConnectError: can't connect, won't retry", "ConnectError: can't connect, won't retry"),
        ("", "(no error message)"),
    ],
)
def test_signature_replaces_what_varies(error, expected):
    assert signature(error) == expected


def test_one_cause_one_signature_whatever_the_ids():
    a = signature("HTTPError: 503 from https://a.example.com/hook for WELL-TX-0001 (attempt 3)")
    b = signature("HTTPError: 502 from https://b.example.org/x for WELL-NM-0420 (attempt 1)")
    assert a == b and group_id(a) == group_id(b)
    assert signature("KeyError: 'x'") != signature("ValueError: 'x'")  # the type is part of the cause


def test_the_type_and_first_line_only():
    assert split_error("requests.exceptions.ConnectionError: boom\nmore") == (
        "requests.exceptions.ConnectionError",
        "boom",
    )
    assert split_error("worker process died 6 times") == ("", "worker process died 6 times")
    assert signature("worker process died 6 times while running this job") == (
        "worker process died <n> times while running this job"
    )
    assert signature("ValueError: first line\nsecond line 42") == "ValueError: first line"


def test_signatures_are_bounded_and_stable():
    long = signature("ValueError: " + "word " * 500)
    assert len(long) == MAX_SIGNATURE
    assert normalize_message("  a   b\t c ") == "a b c"
    assert group_id("x") == group_id("x") and len(group_id("x")) == 16 and group_id("x") != group_id("y")


def test_group_fields_from_the_wellflow_payloads():
    validation = json.loads((FIXTURES / "data-validation.json").read_text())
    fields = group_fields(validation)
    assert fields["wellId"] == validation["wellId"] and fields["county"] == validation["location"]["county"]
    report = json.loads((FIXTURES / "report-generation.json").read_text())
    assert group_fields(report) == {"organizationId": report["organizationId"]}
    assert group_fields({"url": "https://Hooks.Example.com:8443/p?q=1"}) == {"host": "hooks.example.com"}
    assert group_fields({"url": "http://[::1"}) == {}  # unparseable: left out
    assert group_fields({"wellId": "", "organizationId": None, "location": "TX", "county": True}) == {}
    assert group_fields(["not", "a", "dict"]) == {} and group_fields(None) == {}
    assert group_fields({"wellId": "W" * 500})["wellId"] == "W" * 80


def test_failure_group_args_are_what_the_finish_script_takes():
    gid, text, fields = failure_group_args("KeyError: 'x'", {"wellId": "WELL-1"})
    assert (gid, text, json.loads(fields)) == (
        group_id("KeyError: '<value>'"),
        "KeyError: '<value>'",
        {"wellId": "WELL-1"},
    )
