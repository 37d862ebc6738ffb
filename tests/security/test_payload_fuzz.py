"""S4: every job kind's payload model under junk, valid and oversized input, and what enqueue does with it.

Junk either validates or raises ValidationError whose text never echoes an input value; valid payloads
survive the JSON round trip the job message makes; 1 MiB strings and 10^5-deep nesting are refused
quickly with an error that names the field, on every path into the queue (API and CLI).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from wellqueue_tui import cli
from wellqueue_tui.jobs import EnqueueError, build_message, enqueue, validate_payload
from wellqueue_tui.jobs.kind import JobKind, all_kinds
from wellqueue_tui.jobs.options import JobOptions
from wellqueue_tui.sanitize import safe_str
from wellqueue_tui.wellflow.kinds.report_generation import MAX_SPAN_DAYS

from .conftest import MIB, forbidden_in, fuzz_settings, ran

pytestmark = pytest.mark.security

KINDS: dict[str, JobKind] = all_kinds()
SENTINEL = "SENTINEL7Q"  # every junk string value carries it; error text must never contain it
HANG_LIMIT_S = 30.0  # a hang guard (a regex or parser gone exponential), not a speed bound

# --- strategies for valid payloads, one per built-in kind ---------------------------------------------

identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,40}", fullmatch=True)
organization_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True)
emails = st.from_regex(r"[a-z0-9+_-]{1,8}(\.[a-z0-9+_-]{1,8}){0,2}@[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True)
county_words = st.text(st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=8)
counties = st.lists(county_words, min_size=1, max_size=3).map(" ".join)
json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
json_objects = st.dictionaries(
    st.text(max_size=12),
    st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


def without_none(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if value is not None}


@st.composite
def data_validation_payloads(draw) -> dict:
    common = {
        "organizationId": draw(optional(organization_ids)),
        "notifyOnFailure": draw(optional(st.booleans())),
        "notifyRecipients": draw(optional(st.lists(emails, max_size=3))),
    }
    if draw(st.booleans()):
        return without_none({**common, "validationType": "daily_sweep", "date": draw(optional(st.dates()))})
    volumes = st.floats(allow_nan=True, allow_infinity=True)  # finiteness is the processor's check
    return without_none(
        {
            **common,
            "validationType": draw(
                st.sampled_from(
                    [
                        "production_data",
                        "well_integrity",
                        "historical_verification",
                        "regulatory_compliance",
                        "daily_production",
                        "monthly_production",
                    ]
                )
            ),
            "wellId": draw(identifiers),
            "leaseId": draw(identifiers),
            "operatorId": draw(identifiers),
            "location": {
                "latitude": draw(st.floats(-90, 90)),
                "longitude": draw(st.floats(-180, 180)),
                "county": draw(counties),
                "state": draw(st.from_regex(r"[A-Za-z]{2}", fullmatch=True)),
            },
            "production": without_none(
                {"oil": draw(volumes), "gas": draw(volumes), "water": draw(volumes), "date": draw(optional(st.dates()))}
            ),
            "includeHistorical": draw(optional(st.booleans())),
        }
    )


@st.composite
def report_payloads(draw) -> dict:
    report_type = draw(st.sampled_from(sorted(MAX_SPAN_DAYS)))
    start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2090, 1, 1)))
    end = start + dt.timedelta(days=draw(st.integers(0, MAX_SPAN_DAYS[report_type] - 1)))
    filters = draw(
        optional(
            st.fixed_dictionaries(
                {},
                optional={
                    "operatorId": identifiers,
                    "leaseId": identifiers,
                    "wellIds": st.lists(identifiers, min_size=1, max_size=4),
                },
            )
        )
    )
    return without_none(
        {
            "reportType": report_type,
            "format": draw(st.sampled_from(["csv", "xlsx", "excel", "pdf"])),
            "dateRange": {
                "start": start.isoformat(),  # a day, or WellFlow's instant on it
                "end": end.isoformat() + draw(st.sampled_from(["", "T23:59:59.999Z", "T08:00:00-05:00"])),
            },
            "reportId": draw(optional(identifiers)),
            "priority": draw(optional(st.sampled_from(["urgent", "high", "medium", "low"]))),
            "includeCharts": draw(optional(st.booleans())),
            "recipients": draw(optional(st.lists(emails, max_size=3))),
            "organizationId": draw(optional(organization_ids)),
            "filters": filters,
        }
    )


single_line = st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=120).filter(str.strip)


@st.composite
def email_payloads(draw) -> dict:
    return without_none(
        {
            "type": draw(
                st.sampled_from(["alert", "compliance_due", "maintenance_required", "report_ready", "reminder"])
            ),
            "priority": draw(optional(st.sampled_from(["urgent", "high", "medium", "low"]))),
            "recipients": draw(st.lists(emails, min_size=1, max_size=4)),
            "subject": draw(single_line),
            "body": draw(optional(st.text(max_size=300))),
            "notificationId": draw(optional(identifiers)),
            "wellId": draw(optional(identifiers)),
            "data": draw(optional(json_objects)),
            "organizationId": draw(optional(organization_ids)),
        }
    )


@st.composite
def wellflow_email_payloads(draw) -> dict:
    """WellFlow's shape: the subject is derived from the type and `message`."""
    return without_none(
        {
            "notificationId": draw(optional(identifiers)),
            "type": draw(
                st.sampled_from(["alert", "compliance_due", "maintenance_required", "report_ready", "reminder"])
            ),
            "message": draw(single_line),
            "recipients": draw(st.lists(emails, min_size=1, max_size=4)),
            "priority": draw(optional(st.sampled_from(["urgent", "high", "medium", "low"]))),
            "wellId": draw(optional(identifiers)),
            "organizationId": draw(optional(organization_ids)),
        }
    )


@st.composite
def webhook_payloads(draw) -> dict:
    host = draw(st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){1,3}", fullmatch=True))
    path = draw(st.from_regex(r"(/[A-Za-z0-9._~-]{0,10}){0,3}", fullmatch=True))
    return without_none(
        {
            "url": f"{draw(st.sampled_from(['https', 'http']))}://{host}{path}",
            "event": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,30}", fullmatch=True)),
            "data": draw(json_objects),
            "organizationId": draw(optional(organization_ids)),
        }
    )


VALID_PAYLOADS: dict[str, st.SearchStrategy[dict]] = {
    "data-validation": data_validation_payloads(),
    "report-generation": report_payloads(),
    "email-notifications": email_payloads() | wellflow_email_payloads(),
    "webhooks": webhook_payloads(),
}


def test_every_built_in_kind_has_a_payload_strategy() -> None:
    assert set(VALID_PAYLOADS) == set(KINDS), "add a valid-payload strategy for the new kind"


# --- junk -----------------------------------------------------------------------------------------------


def field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of the model and of the models nested in it (junk keys that reach deeper)."""
    names: set[str] = set()
    pending = [model]
    while pending:
        current = pending.pop()
        for name, info in current.model_fields.items():
            names.add(name)
            for candidate in _annotation_models(info.annotation):
                pending.append(candidate)
    return names


def _annotation_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in getattr(annotation, "__args__", ()) for model in _annotation_models(arg)]


ALL_FIELD_NAMES = sorted({name for kind in KINDS.values() for name in field_names(kind.payload)})

junk_strings = st.text(max_size=40).map(lambda text: f"{SENTINEL}{text}")
junk_scalars = st.none() | st.booleans() | st.integers() | st.floats() | junk_strings
junk_keys = st.sampled_from(ALL_FIELD_NAMES) | st.text(max_size=12)
junk = st.recursive(
    junk_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(junk_keys, inner, max_size=6),
    max_leaves=30,
)


@st.composite
def damaged_payloads(draw, kind_queue: str) -> dict:
    """A valid payload with one (possibly nested) field replaced by junk, added, or removed."""
    payload = draw(VALID_PAYLOADS[kind_queue])
    target = payload
    while True:
        nested = [key for key, value in target.items() if isinstance(value, dict) and value]
        if not nested or draw(st.booleans()):
            break
        target = target[draw(st.sampled_from(sorted(nested)))]
    key = draw(st.sampled_from(sorted(target)) | junk_keys) if target else draw(junk_keys)
    if draw(st.integers(0, 4)) == 0 and key in target:
        del target[key]
    else:
        target[key] = draw(junk)
    return payload


def assert_no_echo(text: str) -> None:
    assert SENTINEL not in text, f"error text echoes an input value: {text[:500]!r}"


def check_junk(kind: JobKind, value: Any) -> None:
    try:
        kind.payload.model_validate(value)
    except ValidationError as exc:
        assert_no_echo(str(exc))
        assert_no_echo(repr(exc))
        try:
            validate_payload(kind, value)
        except EnqueueError as enqueue_error:
            assert_no_echo(str(enqueue_error))
            first = exc.errors()[0]
            location = ".".join(str(part) for part in first["loc"]) or "payload"
            shown = safe_str(location, 300)  # hostile field names are shown escaped, never raw
            assert f"{shown}: " in str(enqueue_error), "the enqueue error names the field"
        else:
            pytest.fail("validate_payload accepted what model_validate refused")


@pytest.mark.parametrize("queue", sorted(KINDS))
@fuzz_settings()
@given(data=st.data())
def test_junk_payloads_validate_or_raise_validation_error_without_echo(queue: str, data) -> None:
    ran(f"payload junk [{queue}]")
    kind = KINDS[queue]
    value = data.draw(junk | st.dictionaries(junk_keys, junk, max_size=8) | damaged_payloads(queue))
    check_junk(kind, value)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text (NaN volumes are valid readings, and NaN != NaN)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("queue", sorted(KINDS))
@fuzz_settings()
@given(data=st.data())
def test_valid_payloads_round_trip_through_model_dump(queue: str, data) -> None:
    """`exclude_unset`, as enqueue sends it: a full dump of a daily_sweep carries the reading fields as
    nulls, which its own model refuses (it checks which fields were given, not their values)."""
    ran(f"payload round trip [{queue}]")
    kind = KINDS[queue]
    model = validate_payload(kind, data.draw(VALID_PAYLOADS[queue]))
    dumped = model.model_dump(mode="json", exclude_unset=True)
    again = kind.payload.model_validate(dumped)
    assert same_json(again.model_dump(mode="json", exclude_unset=True), dumped)
    if not _has_nan(dumped):
        assert again == model


@pytest.mark.parametrize("queue", sorted(KINDS))
@fuzz_settings()
@given(data=st.data())
def test_valid_payloads_survive_the_job_message(queue: str, data) -> None:
    """What the worker validates is the message's JSON argument (enqueue dumps with exclude_none)."""
    ran(f"payload job message [{queue}]")
    kind = KINDS[queue]
    model = validate_payload(kind, data.draw(VALID_PAYLOADS[queue]))
    message = build_message(kind, model, JobOptions.build(), "job-1")
    on_the_wire = json.loads(json.dumps(message.args[0]))
    try:
        received = kind.payload.model_validate(on_the_wire)
    except ValidationError as exc:
        pytest.fail(f"the worker would refuse this enqueued payload: {exc.errors()[0]['msg']} (sent {on_the_wire})")
    assert same_json(received.model_dump(mode="json"), model.model_dump(mode="json"))


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_has_nan(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_nan(item) for item in value)
    return False


@pytest.mark.parametrize("key", ["\x1b]52;c;ZXZpbA==\x07", "k" * MIB], ids=["osc52", "1MiB"])
def test_enqueue_error_for_a_hostile_field_name_is_bounded_and_printable(key: str) -> None:
    """Unknown keys appear in the error's location (the CLI prints it to the terminal): a 1 MiB or
    escape-laden key must not come back whole."""
    for kind in KINDS.values():
        with pytest.raises(EnqueueError) as caught:
            validate_payload(kind, {key: 1})
        message = str(caught.value)
        assert len(message) < 4096, f"{kind.queue}: error message is {len(message)} characters"
        assert not forbidden_in(message), f"{kind.queue}: control characters in {message[:200]!r}"


# --- huge strings and deep nesting, through enqueue --------------------------------------------------


def nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def hostile_variants(queue: str, valid: dict) -> dict[str, tuple[Any, str | None]]:
    """name -> (payload, the field the error must name, or None when the whole payload is the problem)."""
    deep = nested_dict(100_000)
    variants: dict[str, tuple[Any, str | None]] = {
        "deep list": (nested_list(100_000), None),
        "deep dict": (deep, None),
        "huge unknown field": ({**valid, "extra": "x" * MIB}, "extra"),
    }
    for name, value in valid.items():
        if isinstance(value, str):
            variants[f"1 MiB {name}"] = ({**valid, name: "x" * MIB}, name)
        elif isinstance(value, (dict, list)):
            variants[f"deep {name}"] = (
                {**valid, name: deep if isinstance(value, dict) else nested_list(100_000)},
                name,
            )
            variants[f"1 MiB inside {name}"] = (
                {**valid, name: {"blob": "x" * MIB} if isinstance(value, dict) else ["x" * MIB]},
                name,
            )
    return variants


VALID_EXAMPLES: dict[str, dict] = {
    "data-validation": {
        "validationType": "daily_production",
        "wellId": "W-1",
        "leaseId": "L-1",
        "operatorId": "OP-1",
        "location": {"latitude": 31.9, "longitude": -102.1, "county": "Midland", "state": "TX"},
        "production": {"oil": 120.0, "gas": 300.0, "water": 40.0},
        "notifyRecipients": ["ops@example.com"],
    },
    "report-generation": {
        "reportType": "production_daily",
        "format": "csv",
        "dateRange": {"start": "2025-01-01", "end": "2025-01-31"},
        "recipients": ["a@example.com"],
    },
    "email-notifications": {
        "type": "alert",
        "recipients": ["ops@example.com"],
        "subject": "Well W-1 alert",
        "body": "text",
        "data": {"wellId": "W-1"},
    },
    "webhooks": {"url": "https://hooks.example.com/x", "event": "well.validated", "data": {"wellId": "W-1"}},
}


@pytest.mark.parametrize("queue", sorted(KINDS))
def test_huge_and_deep_payloads_are_refused_quickly_naming_the_field(queue: str, broker) -> None:
    broker.kinds.update(KINDS)  # the built-in kinds, so enqueue finds them (nothing is stored when refused)
    kind = KINDS[queue]
    validate_payload(kind, VALID_EXAMPLES[queue])  # the base really is valid
    for name, (payload, field) in hostile_variants(queue, VALID_EXAMPLES[queue]).items():
        started = time.perf_counter()
        try:
            job_id = enqueue(queue, payload, broker=broker)
        except EnqueueError as exc:
            message = str(exc)
            assert len(message) < 4096, f"{name}: error message of {len(message)} characters"
            if field is not None:
                assert field in message, f"{name}: the error does not name {field!r}: {message[:300]}"
        else:
            stored = broker.client.hget(f"wq:job:{job_id}", "data") or b""
            assert len(stored) <= 2 * MIB, f"{name}: accepted and stored {len(stored)} bytes"
        elapsed = time.perf_counter() - started
        assert elapsed < HANG_LIMIT_S, f"{name}: enqueue took {elapsed:.2f}s"


def test_cli_enqueue_with_deeply_nested_json_is_a_usage_error(capsys) -> None:
    """`json.loads` raises RecursionError (not ValueError) on 10^5 nested brackets; the CLI must still answer."""
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        started = time.perf_counter()
        code = cli.main(["enqueue", "webhooks", "--data", text])
        assert code == cli.EXIT_USAGE
        assert "--data" in capsys.readouterr().err
        assert time.perf_counter() - started < HANG_LIMIT_S


def test_cli_enqueue_with_a_huge_json_string_is_refused_quickly(capsys, monkeypatch) -> None:
    """A 1 MiB --data document parses, then fails validation naming the field; nothing is submitted."""
    # The payload is refused before anything is submitted: a broker that only knows the kinds is enough (the
    # refusal is still audited, as the local admin, on the embedded Redis of the session's data dir).
    monkeypatch.setattr(cli.CliContext, "broker", lambda self: SimpleNamespace(kinds=KINDS))
    text = json.dumps({**VALID_EXAMPLES["webhooks"], "event": "e" * MIB})
    started = time.perf_counter()
    code = cli.main(["enqueue", "webhooks", "--data", text])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE, err[:2000]
    assert "event" in err and len(err) < 4096
    assert time.perf_counter() - started < HANG_LIMIT_S


@fuzz_settings(0.5)
@given(depth=st.integers(1, 5000), where=st.sampled_from(["top", "data"]))
def test_any_nesting_depth_is_refused_or_accepted_never_crashes(depth: int, where: str) -> None:
    ran("payload nesting depth")
    kind = KINDS["webhooks"]
    payload = nested_list(depth) if where == "top" else {**VALID_EXAMPLES["webhooks"], "data": nested_dict(depth)}
    try:
        model = validate_payload(kind, payload)
    except EnqueueError as exc:
        assert "nested" in str(exc) or where == "top"
    else:
        assert where == "data" and depth <= 20
        model.model_dump(mode="json")
