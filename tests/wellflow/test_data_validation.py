"""The data-validation kind: payload rules, every check, recording, alerts and the daily sweep."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import PermanentJobError
from wellqueue_tui.wellflow.geography import COUNTIES, county_key
from wellqueue_tui.wellflow.kinds import data_validation as dv
from wellqueue_tui.wellflow.kinds.email_notifications import EmailNotification
from wellqueue_tui.wellflow.production_store import ProductionStore, Reading

from .conftest import RecordingSink, make_context

DAY = dt.date(2026, 11, 20)


def payload(**changes) -> dict:
    """The reference seed example, with overrides; nested dicts are merged."""
    data = {
        "wellId": "WELL-001",
        "leaseId": "LEASE-001",
        "operatorId": "OP-123",
        "organizationId": "org-a",
        "location": {"latitude": 31.9973, "longitude": -102.0779, "county": "Midland", "state": "TX"},
        "production": {"oil": 150.5, "gas": 320.0, "water": 45.2, "date": DAY.isoformat()},
        "validationType": "daily_production",
        "includeHistorical": False,
        "notifyOnFailure": True,
        "notifyRecipients": ["operations@example.com"],
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def run(ctx: JobContext, **changes) -> dict:
    return dv.process(dv.DataValidationPayload.model_validate(payload(**changes)), ctx)


def store_of(ctx: JobContext) -> ProductionStore:
    return ProductionStore(ctx.settings.production_db)


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [".".join(str(part) for part in error["loc"]) for error in exc.value.errors()]


# --- a clean reading -------------------------------------------------------------------------


def test_clean_reading_passes_every_check_and_is_recorded(ctx: JobContext, sink: RecordingSink) -> None:
    result = run(ctx)

    assert result["wellId"] == "WELL-001" and result["date"] == DAY.isoformat()
    assert result["checks"] == [
        "coordinates",
        "state bounds",
        "volumes",
        "gas/oil ratio",
        "water cut",
        "county",
        "reading date",
        "duplicate",
    ]
    assert result["warnings"] == []
    [stored] = store_of(ctx).readings(DAY, DAY)
    assert stored.status == "valid" and stored.issues == () and stored.job_id == ctx.job_id
    assert stored.organization_id == "org-a" and stored.oil_bbl == 150.5
    assert sink.enqueued == []
    for name in result["checks"]:
        assert any(line.startswith(f"check {name}:") for line in sink.logs), name
    assert sink.progress_values == sorted(sink.progress_values) and sink.progress_values[-1] == 100


def test_reading_date_defaults_to_today_in_the_configured_time_zone(tmp_path) -> None:
    ctx = make_context(tmp_path, timezone="Pacific/Kiritimati")  # UTC+14: "today" differs from UTC's half the day
    result = run(ctx, production={"date": None})
    assert result["date"] == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()


def test_gas_well_without_oil_is_not_a_ratio_failure(ctx: JobContext, sink: RecordingSink) -> None:
    run(ctx, production={"oil": 0, "gas": 900.0, "water": 0})
    assert "check gas/oil ratio: gas well (no oil): ratio not applicable" in sink.logs


def test_ratio_limits_are_inclusive(ctx: JobContext) -> None:
    # GOR exactly 100,000 scf/bbl and water cut exactly 98% pass.
    run(ctx, production={"oil": 2.0, "gas": 200.0, "water": 98.0})


def test_unlisted_state_skips_county_and_bounds(ctx: JobContext, sink: RecordingSink) -> None:
    run(ctx, location={"state": "AB", "county": "Wheatland", "latitude": 51.0, "longitude": -113.0})
    assert "check county: no county list for AB; not checked" in sink.logs
    assert "check state bounds: no bounding box for AB; not checked" in sink.logs


@pytest.mark.parametrize(
    ("location", "county_ok"),
    [
        ({"state": "NM", "county": "Lea", "latitude": 32.7, "longitude": -103.4}, True),
        ({"state": "NM", "county": "Dona Ana", "latitude": 32.3, "longitude": -106.8}, True),
        ({"state": "ND", "county": "McKenzie County", "latitude": 47.8, "longitude": -103.4}, True),
        ({"state": "OK", "county": "le flore", "latitude": 34.9, "longitude": -94.7}, True),
        ({"state": "TX", "county": "De Witt", "latitude": 29.1, "longitude": -97.4}, True),
        ({"state": "NM", "county": "Midland", "latitude": 32.7, "longitude": -103.4}, False),
    ],
)
def test_county_lists_of_producing_states(location: dict, county_ok: bool, ctx: JobContext) -> None:
    if county_ok:
        run(ctx, location=location)
    else:
        with pytest.raises(PermanentJobError, match="county_not_in_state"):
            run(ctx, location=location)


def test_texas_county_list_is_complete() -> None:
    texas = COUNTIES["TX"]
    assert len(texas) == 254 == len(set(texas))
    assert {"Midland", "Loving", "Reeves", "Ector", "Karnes", "DeWitt", "Zavala", "Anderson"} <= set(texas)
    assert {state: len(names) for state, names in COUNTIES.items()} == {"TX": 254, "NM": 33, "OK": 77, "ND": 53}
    assert all(len(set(map(county_key, names))) == len(names) for names in COUNTIES.values())


# --- each failing check ----------------------------------------------------------------------

FAILURES = [
    ("latitude_out_of_range", {"location": {"latitude": 95.0}}),
    ("longitude_out_of_range", {"location": {"longitude": -190.0}}),
    ("outside_state", {"location": {"latitude": 39.74, "longitude": -104.99}}),  # Denver, filed as TX
    ("negative_volume", {"production": {"oil": -1.0}}),
    ("non_finite_volume", {"production": {"gas": math.inf}}),
    ("non_finite_volume", {"production": {"water": math.nan}}),
    ("gas_oil_ratio_implausible", {"production": {"oil": 1.0, "gas": 200.0}}),  # 200,000 scf/bbl
    ("water_cut_high", {"production": {"oil": 1.0, "water": 99.0}}),  # 99%
    ("county_not_in_state", {"location": {"county": "Lea"}}),
    ("date_in_future", {"production": {"date": (dt.date.today() + dt.timedelta(days=3)).isoformat()}}),
]


@pytest.mark.parametrize(("code", "changes"), FAILURES, ids=[f"{code}-{i}" for i, (code, _) in enumerate(FAILURES)])
def test_each_check_fails_the_job_records_invalid_and_alerts(
    code: str, changes: dict, ctx: JobContext, sink: RecordingSink
) -> None:
    with pytest.raises(PermanentJobError, match=code):
        run(ctx, **changes)

    day = dt.date.fromisoformat(payload(**changes)["production"]["date"])
    [stored] = store_of(ctx).readings(day, day)
    assert stored.status == "invalid"
    assert code in [issue["code"] for issue in stored.issues]
    [alert] = sink.enqueued
    assert alert.queue == "email-notifications"
    assert alert.options == {"job_id": f"alert:{ctx.job_id}"}
    assert alert.payload["type"] == "alert" and alert.payload["priority"] == "high"
    assert alert.payload["recipients"] == ["operations@example.com"]
    assert alert.payload["organizationId"] == "org-a"
    assert alert.payload["data"]["wellId"] == "WELL-001"
    assert code in [issue["code"] for issue in alert.payload["data"]["issues"]]
    assert "WELL-001" in alert.payload["subject"] and "recorded as invalid" in alert.payload["body"]
    EmailNotification.model_validate(alert.payload)  # the email queue accepts it as is
    assert any(code in line for line in sink.logs)


def test_no_alert_when_notify_is_off_or_nobody_to_tell(tmp_path) -> None:
    for n, changes in enumerate([{"notifyOnFailure": False}, {"notifyRecipients": []}]):
        sink = RecordingSink()
        ctx = make_context(tmp_path, sink=sink, job_id=f"job-{n}")
        with pytest.raises(PermanentJobError):
            run(ctx, location={"latitude": 95.0}, **changes)
        assert sink.enqueued == []


# --- duplicates ------------------------------------------------------------------------------


def test_duplicate_reading_for_the_same_well_and_day(tmp_path) -> None:
    run(make_context(tmp_path, job_id="first"))
    sink = RecordingSink()
    with pytest.raises(PermanentJobError, match="duplicate_reading"):
        run(make_context(tmp_path, sink=sink, job_id="second"))
    assert sink.enqueued[0].payload["data"]["issues"][0]["code"] == "duplicate_reading"
    statuses = sorted(r.status for r in ProductionStore(tmp_path / "production.sqlite3").readings(DAY, DAY))
    assert statuses == ["invalid", "valid"]


def test_running_the_same_job_again_is_not_a_duplicate(tmp_path) -> None:
    run(make_context(tmp_path, job_id="job-1"))
    run(make_context(tmp_path, job_id="job-1", attempt=2))  # redelivered after a crash
    assert len(ProductionStore(tmp_path / "production.sqlite3").readings(DAY, DAY)) == 1


def test_duplicate_recorded_between_check_and_insert(tmp_path, monkeypatch) -> None:
    run(make_context(tmp_path, job_id="first"))
    monkeypatch.setattr(ProductionStore, "has_reading", lambda *args, **kwargs: False)
    with pytest.raises(PermanentJobError, match="duplicate_reading"):
        run(make_context(tmp_path, job_id="racer"))


def test_monthly_reading_is_filed_on_the_first_and_checked_per_month(tmp_path) -> None:
    run(make_context(tmp_path, job_id="day"))  # a daily reading does not clash with the monthly filing
    result = run(
        make_context(tmp_path, job_id="month"),
        validationType="monthly_production",
        production={"oil": 4500.0, "gas": 9000.0, "water": 1300.0},
    )
    assert result["date"] == "2026-11-01"
    [monthly] = ProductionStore(tmp_path / "production.sqlite3").readings(DAY.replace(day=1), DAY, period="month")
    assert monthly.period == "month" and monthly.oil_bbl == 4500.0
    with pytest.raises(PermanentJobError, match="duplicate_reading"):
        run(
            make_context(tmp_path, job_id="month-again"),
            validationType="monthly_production",
            production={"date": "2026-11-15"},
        )


# --- history ---------------------------------------------------------------------------------


def seed_history(ctx: JobContext, oil: float = 100.0, days: int = 10) -> None:
    store = store_of(ctx)
    for n in range(1, days + 1):
        store.record(
            Reading(
                "WELL-001",
                "LEASE-001",
                "OP-123",
                "org-a",
                "Midland",
                "TX",
                31.99,
                -102.07,
                DAY - dt.timedelta(days=n),
                oil,
                300.0,
                40.0,
            )
        )


def test_jump_over_five_times_the_trailing_mean_is_a_warning(ctx: JobContext, sink: RecordingSink) -> None:
    seed_history(ctx)
    result = run(ctx, includeHistorical=True, production={"oil": 600.0})

    assert "history" in result["checks"]
    [warning] = result["warnings"]
    assert warning["code"] == "oil_jump" and warning["severity"] == "warning"
    assert "6.0x the 30-day mean of 100.0 bbl" in warning["message"]
    [stored] = store_of(ctx).readings(DAY, DAY)
    assert stored.status == "valid" and stored.flagged
    assert sink.enqueued == []


def test_history_within_range_or_not_requested(tmp_path) -> None:
    first = make_context(tmp_path, job_id="a")
    seed_history(first)
    assert run(first, includeHistorical=True, production={"oil": 450.0})["warnings"] == []
    second = make_context(tmp_path, job_id="b")
    result = run(second, includeHistorical=False, wellId="WELL-002", production={"oil": 10_000.0, "gas": 100.0})
    assert "history" not in result["checks"] and result["warnings"] == []


def test_history_without_prior_readings_is_skipped(ctx: JobContext, sink: RecordingSink) -> None:
    run(ctx, includeHistorical=True)
    assert "check history: no oil in the previous 30 days; not compared" in sink.logs


# --- the daily sweep -------------------------------------------------------------------------


def test_sweep_reports_wells_missing_a_reading(ctx: JobContext, sink: RecordingSink) -> None:
    store = store_of(ctx)
    base = Reading("W-A", "L-1", "OP-1", None, "Midland", "TX", 31.99, -102.07, DAY, 10.0, 20.0, 5.0)
    store.record(base)
    store.record(replace(base, reading_date=DAY - dt.timedelta(days=1)))
    store.record(replace(base, well_id="W-B", reading_date=DAY - dt.timedelta(days=2)))
    store.record(replace(base, well_id="W-C", reading_date=DAY - dt.timedelta(days=29)))
    store.record(replace(base, well_id="W-OLD", reading_date=DAY - dt.timedelta(days=45)))

    payload = dv.DataValidationPayload.model_validate({"validationType": "daily_sweep", "date": DAY.isoformat()})
    result = dv.process(payload, ctx)

    assert result["missingWells"] == ["W-B", "W-C"] and result["missingCount"] == 2
    assert result["readings"] == 1 and result["valid"] == 1 and result["problems"] == []
    [alert] = sink.enqueued
    assert alert.options == {"job_id": f"alert:{ctx.job_id}"}
    assert alert.payload["type"] == "alert" and alert.payload["priority"] == "high"
    assert alert.payload["data"]["missingWells"] == ["W-B", "W-C"]
    assert "W-B" in alert.payload["body"] and "W-C" in alert.payload["body"]
    EmailNotification.model_validate(alert.payload)
    assert sink.progress_values[-1] == 100


def test_sweep_rechecks_stored_readings(ctx: JobContext, sink: RecordingSink) -> None:
    # Stored before the county rule existed: the sweep catches it.
    store_of(ctx).record(Reading("W-A", "L-1", "OP-1", None, "Gotham", "TX", 31.99, -102.07, DAY, 10.0, 20.0, 5.0))
    result = dv.process(dv.DataValidationPayload(validationType="daily_sweep", date=DAY), ctx)
    assert [(p["wellId"], p["code"]) for p in result["problems"]] == [("W-A", "county_not_in_state")]
    assert sink.enqueued[0].payload["data"]["issues"][0]["code"] == "county_not_in_state"


def test_sweep_of_a_clean_day_sends_nothing(ctx: JobContext, sink: RecordingSink) -> None:
    store_of(ctx).record(Reading("W-A", "L-1", "OP-1", None, "Midland", "TX", 31.99, -102.07, DAY, 1.0, 2.0, 0.5))
    result = dv.process(dv.DataValidationPayload(validationType="daily_sweep", date=DAY), ctx)
    assert result["missingCount"] == 0 and sink.enqueued == []


def test_sweep_defaults_to_yesterday_and_refuses_the_future(ctx: JobContext) -> None:
    today = dt.datetime.now(ZoneInfo(ctx.settings.timezone)).date()
    result = dv.process(dv.DataValidationPayload(validationType="daily_sweep"), ctx)
    assert result["date"] == (today - dt.timedelta(days=1)).isoformat()
    with pytest.raises(PermanentJobError, match="in the future"):
        dv.process(dv.DataValidationPayload(validationType="daily_sweep", date=today + dt.timedelta(days=2)), ctx)


# --- payload validation ----------------------------------------------------------------------


def test_seed_and_scheduled_payloads_validate() -> None:
    seed = dv.DataValidationPayload.model_validate(payload(location={"state": " tx "}))
    assert seed.location.state == "TX" and seed.production.date == DAY
    sweep = dv.DataValidationPayload.model_validate({"validationType": "daily_sweep", "date": "2026-11-24"})
    assert sweep.date == dt.date(2026, 11, 24) and sweep.notifyRecipients == ["operations@example.com"]


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"location": {"latitude": "north"}}, "location.latitude"),
        ({"location": {"latitude": True}}, "location.latitude"),
        ({"location": {"state": "Texas"}}, "location.state"),
        ({"location": {"county": "=cmd|' /C calc'!A0"}}, "location.county"),
        ({"production": {"oil": "lots"}}, "production.oil"),
        ({"production": {"date": "yesterday"}}, "production.date"),
        ({"validationType": "weekly_production"}, "validationType"),
        ({"notifyRecipients": ["not-an-address"]}, "notifyRecipients.0"),
        ({"wellId": "x" * 65}, "wellId"),
        ({"wellId": "bad\nid"}, "wellId"),
        ({"organizationId": "org a"}, "organizationId"),
        ({"priority": "high"}, "priority"),
        ({"location": {"elevation": 3}}, "location.elevation"),
    ],
)
def test_invalid_payloads_name_the_field(changes: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as exc:
        dv.DataValidationPayload.model_validate(payload(**changes))
    assert loc in error_locs(exc)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"validationType": "daily_production"}, "wellId, leaseId, operatorId, location, production required"),
        ({k: v for k, v in payload().items() if k != "location"}, "location required"),
        ({"validationType": "daily_sweep", "wellId": "W-1"}, "wellId not used when validationType is 'daily_sweep'"),
        ({**payload(), "date": "2026-11-24"}, "date is only for validationType 'daily_sweep'"),
    ],
)
def test_fields_must_fit_the_validation_type(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        dv.DataValidationPayload.model_validate(data)


def test_errors_do_not_echo_the_input() -> None:
    with pytest.raises(ValidationError) as exc:
        dv.DataValidationPayload.model_validate(payload(wellId="secret-token-value\x00"))
    assert "secret-token-value" not in str(exc.value)


def test_kind_wiring() -> None:
    kind = dv.KIND
    assert (kind.name, kind.queue, kind.payload) == (
        "validate_production_data",
        "data-validation",
        dv.DataValidationPayload,
    )
    assert kind.process is dv.process and kind.max_attempts == 3 and kind.backoff_ms == 2000


# --- the document's validation types -------------------------------------------------------------

WELLFLOW_EXAMPLE = {
    "wellId": "WELL-1250",
    "leaseId": "LEASE-211",
    "operatorId": "OP-9",
    "location": {"latitude": 32.164755413290436, "longitude": -97.86549451222577, "county": "Howard", "state": "TX"},
    "production": {"oil": 518, "gas": 1854, "water": 21},
    "validationType": "production_data",
    "includeHistorical": False,
    "notifyOnFailure": True,
}


def test_production_data_is_validated_and_recorded_like_a_daily_reading(ctx: JobContext) -> None:
    result = dv.process(dv.DataValidationPayload.model_validate(WELLFLOW_EXAMPLE), ctx)
    assert result["recorded"] is True and result["validationType"] == "production_data"
    assert "duplicate" in result["checks"]
    day = dt.date.fromisoformat(result["date"])
    [stored] = store_of(ctx).readings(day, day)
    assert (stored.well_id, stored.period, stored.status) == ("WELL-1250", "day", "valid")


def history(ctx: JobContext, days: range, **changes) -> None:
    """Valid daily readings of WELL-001 on DAY minus each of `days`."""
    store = store_of(ctx)
    base = Reading(
        "WELL-001",
        "LEASE-001",
        "OP-123",
        "org-a",
        "Midland",
        "TX",
        31.9973,
        -102.0779,
        DAY,
        150.0,
        320.0,
        45.0,
        job_id=None,
    )
    for back in days:
        store.record(replace(base, reading_date=DAY - dt.timedelta(days=back), **changes))


def audit(ctx: JobContext, validation_type: str, **changes) -> dict:
    result = run(ctx, validationType=validation_type, **changes)
    assert result["recorded"] is False
    return result


@pytest.mark.parametrize("validation_type", ["well_integrity", "historical_verification", "regulatory_compliance"])
def test_audits_record_nothing_and_pass_a_well_without_history(
    validation_type: str, ctx: JobContext, sink: RecordingSink
) -> None:
    result = audit(ctx, validation_type)
    assert result["warnings"] == [] and sink.enqueued == []
    assert store_of(ctx).readings(DAY - dt.timedelta(days=400), DAY) == []
    assert any("nothing" in line or "no " in line for line in sink.logs)


def test_well_integrity_passes_when_the_well_matches_its_file(ctx: JobContext) -> None:
    history(ctx, range(1, 4))
    result = audit(ctx, "well_integrity")
    assert result["warnings"] == [] and {"identity", "surface location"} <= set(result["checks"])


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"leaseId": "LEASE-999"}, "lease_mismatch"),
        ({"location": {"county": "Ector"}}, "location_mismatch"),
        ({"location": {"latitude": 32.1647, "longitude": -97.8654}}, "well_moved"),  # ~400 km away
    ],
)
def test_well_integrity_errors_alert_and_fail(changes: dict, code: str, ctx: JobContext, sink: RecordingSink) -> None:
    history(ctx, range(1, 4))
    with pytest.raises(PermanentJobError, match=code):
        run(ctx, validationType="well_integrity", **changes)
    [alert] = sink.enqueued
    assert code in [issue["code"] for issue in alert.payload["data"]["issues"]]
    assert alert.payload["subject"].startswith("Well integrity failed: well WELL-001")
    assert "Nothing was recorded" in alert.payload["body"]
    EmailNotification.model_validate(alert.payload)
    assert len(store_of(ctx).readings(DAY - dt.timedelta(days=10), DAY)) == 3  # only the history


def test_well_integrity_operator_change_is_a_warning(ctx: JobContext) -> None:
    history(ctx, range(1, 4))
    result = audit(ctx, "well_integrity", operatorId="OP-777")
    assert [w["code"] for w in result["warnings"]] == ["operator_changed"]


def test_historical_verification_rechecks_the_stored_readings(ctx: JobContext, sink: RecordingSink) -> None:
    history(ctx, [1, 2, 5])  # days 3 and 4 missing
    history(ctx, [6], oil_bbl=-3.0)  # stored as valid before the volume rule: re-checking finds it
    with pytest.raises(PermanentJobError, match="negative_volume: stored reading of"):
        run(ctx, validationType="historical_verification")
    issues = {issue["code"]: issue for issue in sink.enqueued[0].payload["data"]["issues"]}
    assert issues["reading_gaps"]["severity"] == "warning" and "2 day(s)" in issues["reading_gaps"]["message"]


def test_historical_verification_of_a_clean_history_lists_its_findings(ctx: JobContext) -> None:
    history(ctx, [1, 2, 4], oil_bbl=10.0)  # a quiet well, so today's 150 bbl is a jump
    store_of(ctx).record(
        Reading(
            "WELL-001",
            "LEASE-001",
            "OP-123",
            "org-a",
            "Midland",
            "TX",
            31.99,
            -102.07,
            DAY - dt.timedelta(days=2),
            -1.0,
            0.0,
            0.0,
            status="invalid",
        )
    )
    result = audit(ctx, "historical_verification")
    assert {w["code"] for w in result["warnings"]} == {"reading_gaps", "invalid_readings_on_file", "oil_jump"}


def test_regulatory_compliance_needs_last_month_reported(ctx: JobContext, sink: RecordingSink) -> None:
    # Producing since two months before DAY's month, nothing filed for the month before DAY's.
    history(ctx, [60])
    with pytest.raises(PermanentJobError, match="month_not_reported"):
        run(ctx, validationType="regulatory_compliance")
    [alert] = sink.enqueued
    assert "Railroad Commission of Texas" in alert.payload["data"]["issues"][0]["message"]


def test_regulatory_compliance_accepts_a_monthly_filing_and_warns_on_missing_days(tmp_path) -> None:
    previous_month = (DAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    filed = make_context(tmp_path / "filed")
    history(filed, [60])
    store_of(filed).record(
        Reading(
            "WELL-001",
            "LEASE-001",
            "OP-123",
            "org-a",
            "Midland",
            "TX",
            31.99,
            -102.07,
            previous_month,
            4500.0,
            9000.0,
            1200.0,
            period="month",
        )
    )
    assert audit(filed, "regulatory_compliance")["warnings"] == []

    partial = make_context(tmp_path / "partial")
    history(partial, [60, DAY.day + 3])  # one day of the previous month
    result = audit(partial, "regulatory_compliance")
    assert [w["code"] for w in result["warnings"]] == ["month_partly_reported"]


def test_regulatory_compliance_in_a_state_without_rules_warns(ctx: JobContext) -> None:
    result = audit(
        ctx,
        "regulatory_compliance",
        location={"state": "AK", "county": "North Slope", "latitude": 70.3, "longitude": -148.7},
    )
    assert [w["code"] for w in result["warnings"]] == ["no_regulator_rules"]


def test_audits_take_the_same_fields_as_a_reading() -> None:
    with pytest.raises(ValidationError, match="production required"):
        dv.DataValidationPayload.model_validate(
            {**WELLFLOW_EXAMPLE, "validationType": "well_integrity", "production": None}
        )
    with pytest.raises(ValidationError) as exc:
        dv.DataValidationPayload.model_validate({**WELLFLOW_EXAMPLE, "validationTyp": "production_data"})
    assert "validationTyp" in error_locs(exc)
