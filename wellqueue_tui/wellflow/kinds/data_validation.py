"""The data-validation queue: checks one well's production reading, or sweeps a whole day, against the store.

Valid readings are recorded; invalid ones are recorded as such, raise an alert and fail the job for good.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, Strict, StringConstraints, model_validator

from ...jobs.context import JobContext
from ...jobs.kind import JobKind, PermanentJobError
from ..geography import STATE_BOUNDS, county_in_state
from ..production_store import DuplicateReadingError, ProductionStore, Reading
from .fields import PAYLOAD_CONFIG, EmailAddress, Identifier, OrganizationId

QUEUE = "data-validation"

MAX_GAS_OIL_RATIO = 100_000.0  # scf/bbl; above this an "oil" well is really a gas well or a typo
MAX_WATER_CUT = 0.98
JUMP_FACTOR = 5.0  # oil above this multiple of the trailing mean is flagged
TRAILING_DAYS = {"day": 30, "month": 93}
BOUNDS_MARGIN_DEG = 0.1
ALERT_LIST_LIMIT = 20

# --- payload ---------------------------------------------------------------------------------

CountyName = Annotated[  # letters, with single spaces, dots, apostrophes or hyphens between words
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\W\d_]+(?:[ .'-]{1,2}[^\W\d_]+)*\.?$")
]
StateCode = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{2}$")]
Coordinate = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Volume = Annotated[float, Strict()]  # sign and finiteness are checked by the processor, so they get recorded

ValidationType = Literal["daily_production", "monthly_production", "daily_sweep"]
READING_FIELDS = ("wellId", "leaseId", "operatorId", "location", "production")


class Location(BaseModel):
    model_config = PAYLOAD_CONFIG

    latitude: Coordinate
    longitude: Coordinate
    county: CountyName
    state: StateCode


class Production(BaseModel):
    model_config = PAYLOAD_CONFIG

    oil: Volume  # bbl
    gas: Volume  # mcf
    water: Volume  # bbl
    date: dt.date | None = None  # default: today in the configured time zone


class DataValidationPayload(BaseModel):
    """One reading to validate, or (`daily_sweep`) a day whose readings are re-checked."""

    model_config = PAYLOAD_CONFIG

    validationType: ValidationType
    organizationId: OrganizationId | None = None
    wellId: Identifier | None = None
    leaseId: Identifier | None = None
    operatorId: Identifier | None = None
    location: Location | None = None
    production: Production | None = None
    date: dt.date | None = None  # daily_sweep only; default: yesterday in the configured time zone
    includeHistorical: bool = False
    notifyOnFailure: bool = True
    notifyRecipients: list[EmailAddress] = Field(default_factory=lambda: ["operations@example.com"], max_length=50)

    @model_validator(mode="after")
    def _fields_fit_validation_type(self) -> DataValidationPayload:
        if self.validationType == "daily_sweep":
            stray = [name for name in (*READING_FIELDS, "includeHistorical") if name in self.model_fields_set]
            if stray:
                raise ValueError(
                    f"{', '.join(stray)} not used when validationType is 'daily_sweep' "
                    "(it re-checks every well's reading for `date`); remove them"
                )
            return self
        missing = [name for name in READING_FIELDS if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} required when validationType is '{self.validationType}'")
        if "date" in self.model_fields_set:
            raise ValueError("date is only for validationType 'daily_sweep'; give the reading's day as production.date")
        return self


# --- checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"
    field: str | None = None


@dataclass(frozen=True)
class CheckOutcome:
    issues: tuple[Issue, ...] = ()
    note: str = "ok"


Check = Callable[[Reading], CheckOutcome]


def check_coordinates(reading: Reading) -> CheckOutcome:
    issues = []
    if not -90 <= reading.latitude <= 90:
        issues.append(Issue("latitude_out_of_range", f"latitude {reading.latitude} is outside -90..90",
                            field="location.latitude"))
    if not -180 <= reading.longitude <= 180:
        issues.append(Issue("longitude_out_of_range", f"longitude {reading.longitude} is outside -180..180",
                            field="location.longitude"))
    return CheckOutcome(tuple(issues))


def check_state_bounds(reading: Reading) -> CheckOutcome:
    bounds = STATE_BOUNDS.get(reading.state)
    if bounds is None:
        return CheckOutcome(note=f"no bounding box for {reading.state}; not checked")
    south, north, west, east = bounds
    m = BOUNDS_MARGIN_DEG
    if south - m <= reading.latitude <= north + m and west - m <= reading.longitude <= east + m:
        return CheckOutcome()
    return CheckOutcome((Issue(
        "outside_state",
        f"({reading.latitude}, {reading.longitude}) is outside {reading.state} "
        f"(latitude {south}..{north}, longitude {west}..{east})",
        field="location",
    ),))


def check_volumes(reading: Reading) -> CheckOutcome:
    issues = []
    for name, value in (("oil", reading.oil_bbl), ("gas", reading.gas_mcf), ("water", reading.water_bbl)):
        if value is None or not math.isfinite(value):
            issues.append(Issue("non_finite_volume", f"{name} volume {value} is not a finite number",
                                field=f"production.{name}"))
        elif value < 0:
            issues.append(Issue("negative_volume", f"{name} volume {value} is negative", field=f"production.{name}"))
    return CheckOutcome(tuple(issues))


def check_gas_oil_ratio(reading: Reading) -> CheckOutcome:
    if not _volumes_usable(reading):
        return CheckOutcome(note="skipped: volumes unusable")
    oil, gas = reading.oil_bbl, reading.gas_mcf
    if oil == 0:
        return CheckOutcome(note="gas well (no oil): ratio not applicable" if gas else "no production")
    ratio = gas * 1000 / oil
    if ratio > MAX_GAS_OIL_RATIO:
        return CheckOutcome((Issue(
            "gas_oil_ratio_implausible",
            f"gas/oil ratio {ratio:,.0f} scf/bbl exceeds {MAX_GAS_OIL_RATIO:,.0f} ({gas} mcf gas, {oil} bbl oil)",
            field="production.gas",
        ),))
    return CheckOutcome(note=f"{ratio:,.0f} scf/bbl")


def check_water_cut(reading: Reading) -> CheckOutcome:
    if not _volumes_usable(reading):
        return CheckOutcome(note="skipped: volumes unusable")
    liquids = reading.oil_bbl + reading.water_bbl
    if liquids == 0:
        return CheckOutcome(note="no liquids")
    cut = reading.water_bbl / liquids
    if cut > MAX_WATER_CUT:
        return CheckOutcome((Issue(
            "water_cut_high", f"water cut {cut:.1%} exceeds {MAX_WATER_CUT:.0%}", field="production.water",
        ),))
    return CheckOutcome(note=f"{cut:.1%}")


def check_county(reading: Reading) -> CheckOutcome:
    known = county_in_state(reading.county, reading.state)
    if known is None:
        return CheckOutcome(note=f"no county list for {reading.state}; not checked")
    if known:
        return CheckOutcome()
    return CheckOutcome((Issue(
        "county_not_in_state", f"{reading.county!r} is not a county of {reading.state}", field="location.county",
    ),))


#: Checks that need nothing but the reading; the daily sweep re-runs these on stored readings.
READING_CHECKS: tuple[tuple[str, Check], ...] = (
    ("coordinates", check_coordinates),
    ("state bounds", check_state_bounds),
    ("volumes", check_volumes),
    ("gas/oil ratio", check_gas_oil_ratio),
    ("water cut", check_water_cut),
    ("county", check_county),
)


def check_not_future(reading: Reading, today: dt.date) -> CheckOutcome:
    if reading.reading_date <= today:
        return CheckOutcome()
    return CheckOutcome((Issue(
        "date_in_future", f"reading date {reading.reading_date} is after today ({today})", field="production.date",
    ),))


def check_duplicate(reading: Reading, store: ProductionStore, job_id: str) -> CheckOutcome:
    if not store.has_reading(reading.well_id, reading.reading_date, period=reading.period, excluding_job_id=job_id):
        return CheckOutcome()
    return CheckOutcome((Issue(
        "duplicate_reading",
        f"well {reading.well_id} already has a valid {reading.period} reading for {reading.reading_date}",
        field="production.date",
    ),))


def check_history(reading: Reading, store: ProductionStore) -> CheckOutcome:
    days = TRAILING_DAYS[reading.period]
    if not _volumes_usable(reading):
        return CheckOutcome(note="skipped: volumes unusable")
    mean = store.trailing_oil_mean(reading.well_id, reading.reading_date, days=days, period=reading.period)
    if mean is None or mean <= 0:
        return CheckOutcome(note=f"no oil in the previous {days} days; not compared")
    if reading.oil_bbl > JUMP_FACTOR * mean:
        return CheckOutcome((Issue(
            "oil_jump",
            f"oil {reading.oil_bbl} bbl is {reading.oil_bbl / mean:.1f}x the {days}-day mean of {mean:.1f} bbl",
            severity="warning", field="production.oil",
        ),))
    return CheckOutcome(note=f"{reading.oil_bbl / mean:.2f}x the {days}-day mean")


def _volumes_usable(reading: Reading) -> bool:
    volumes = (reading.oil_bbl, reading.gas_mcf, reading.water_bbl)
    return all(v is not None and math.isfinite(v) and v >= 0 for v in volumes)


def _describe(name: str, outcome: CheckOutcome) -> str:
    if not outcome.issues:
        return f"check {name}: {outcome.note}"
    return f"check {name}: " + "; ".join(f"{i.severity} {i.code}: {i.message}" for i in outcome.issues)


# --- processor -------------------------------------------------------------------------------


def process(payload: DataValidationPayload, ctx: JobContext) -> dict:
    """Validate one reading, or sweep a day when validationType is daily_sweep."""
    if payload.validationType == "daily_sweep":
        return _sweep_day(payload, ctx)
    return _validate_reading(payload, ctx)


def _validate_reading(payload: DataValidationPayload, ctx: JobContext) -> dict:
    today = _today(ctx)
    reading = _reading_from(payload, today, ctx.job_id)
    store = ProductionStore(ctx.settings.production_db)
    ctx.log(f"validating {payload.validationType} of well {reading.well_id} for {reading.reading_date}")
    ctx.progress(5)

    steps: list[tuple[str, Check]] = [
        *READING_CHECKS,
        ("reading date", lambda r: check_not_future(r, today)),
        ("duplicate", lambda r: check_duplicate(r, store, ctx.job_id)),
    ]
    if payload.includeHistorical:
        steps.append(("history", lambda r: check_history(r, store)))
    issues: list[Issue] = []
    for done, (name, check) in enumerate(steps, start=1):
        outcome = check(reading)
        ctx.log(_describe(name, outcome))
        issues.extend(outcome.issues)
        ctx.progress(5 + 80 * done / len(steps))

    try:
        _record(store, reading, issues)
    except DuplicateReadingError as exc:  # another job recorded the same well and day since our check
        issues.append(Issue("duplicate_reading", str(exc), field="production.date"))
        ctx.log(f"check duplicate: error duplicate_reading: {exc}")
        _record(store, reading, issues)
    ctx.progress(90)

    errors = [i for i in issues if i.severity == "error"]
    if errors:
        ctx.log(f"recorded as invalid with {len(errors)} error(s)")
        if payload.notifyOnFailure:
            _alert(
                ctx, payload,
                subject=f"Production data failed validation: well {reading.well_id} on {reading.reading_date}",
                body=(f"The {payload.validationType.replace('_', ' ')} reading of well {reading.well_id} "
                      f"(lease {reading.lease_id}, operator {reading.operator_id}) for {reading.reading_date} "
                      f"failed {len(errors)} check(s) and was recorded as invalid. Correct the reading and "
                      "submit it again."),
                data={"wellId": reading.well_id, "date": reading.reading_date.isoformat(),
                      "issues": [asdict(i) for i in issues]},
            )
        raise PermanentJobError(
            f"well {reading.well_id} failed validation for {reading.reading_date}: "
            + "; ".join(f"{i.code}: {i.message}" for i in errors)
        )
    ctx.log("recorded as valid" + (f" with {len(issues)} warning(s)" if issues else ""))
    ctx.progress(100)
    return {
        "wellId": reading.well_id,
        "date": reading.reading_date.isoformat(),
        "validationType": payload.validationType,
        "checks": [name for name, _ in steps],
        "warnings": [asdict(i) for i in issues],
    }


def _sweep_day(payload: DataValidationPayload, ctx: JobContext) -> dict:
    today = _today(ctx)
    day = payload.date or today - dt.timedelta(days=1)
    if day > today:
        raise PermanentJobError(f"date {day} is in the future; a sweep checks a day that has already begun")
    store = ProductionStore(ctx.settings.production_db)
    readings = store.readings(day, day, organization_id=payload.organizationId, period="day")
    valid = [r for r in readings if r.status == "valid"]
    ctx.log(f"sweeping {day}: {len(readings)} reading(s), {len(valid)} valid")
    ctx.progress(10)

    problems: list[dict] = []
    for done, reading in enumerate(valid, start=1):
        for name, check in READING_CHECKS:
            for issue in check(reading).issues:
                if issue.severity == "error":
                    problems.append({"wellId": reading.well_id, **asdict(issue)})
                    ctx.log(f"well {reading.well_id}: check {name}: {issue.code}: {issue.message}")
        ctx.progress(10 + 60 * done / len(valid))
    missing = store.wells_missing_reading(day, organization_id=payload.organizationId)
    for well in missing[:ALERT_LIST_LIMIT]:
        ctx.log(f"well {well.well_id} (lease {well.lease_id}) has no reading for {day}; last {well.last_reading_date}")
    ctx.log(f"{len(missing)} well(s) missing a reading, {len(problems)} problem(s) in stored readings")
    ctx.progress(85)

    if (missing or problems) and payload.notifyOnFailure:
        shown = [f"- well {w.well_id} (lease {w.lease_id}), last reading {w.last_reading_date}"
                 for w in missing[:ALERT_LIST_LIMIT]]
        if len(missing) > ALERT_LIST_LIMIT:
            shown.append(f"- ... and {len(missing) - ALERT_LIST_LIMIT} more")
        _alert(
            ctx, payload,
            subject=f"Daily production sweep for {day}: {len(missing)} missing, {len(problems)} problem(s)",
            body="\n".join([
                f"The sweep of {day} found {len(missing)} well(s) without a valid reading and "
                f"{len(problems)} problem(s) in stored readings.",
                *(["Wells missing a reading:", *shown] if missing else []),
            ]),
            data={"date": day.isoformat(), "missingWells": [w.well_id for w in missing[:200]],
                  "missingCount": len(missing), "issues": problems[:200]},
        )
    ctx.progress(100)
    return {
        "date": day.isoformat(),
        "readings": len(readings),
        "valid": len(valid),
        "invalid": len(readings) - len(valid),
        "missingCount": len(missing),
        "missingWells": [w.well_id for w in missing[:200]],
        "problems": problems[:200],
    }


def _reading_from(payload: DataValidationPayload, today: dt.date, job_id: str) -> Reading:
    location, production = payload.location, payload.production
    day = production.date or today
    monthly = payload.validationType == "monthly_production"
    return Reading(
        well_id=payload.wellId, lease_id=payload.leaseId, operator_id=payload.operatorId,
        organization_id=payload.organizationId, county=location.county, state=location.state,
        latitude=location.latitude, longitude=location.longitude,
        reading_date=day.replace(day=1) if monthly else day,
        oil_bbl=production.oil, gas_mcf=production.gas, water_bbl=production.water,
        period="month" if monthly else "day", job_id=job_id,
    )


def _record(store: ProductionStore, reading: Reading, issues: list[Issue]) -> None:
    errors = any(i.severity == "error" for i in issues)
    store.record(replace(reading, status="invalid" if errors else "valid", issues=tuple(asdict(i) for i in issues)))


def _alert(ctx: JobContext, payload: DataValidationPayload, *, subject: str, body: str, data: dict) -> None:
    """Enqueue one high-priority alert email (data.issues lists the findings); the job-derived id
    keeps retries from sending it twice."""
    if not payload.notifyRecipients:
        ctx.log("notifyOnFailure is set but notifyRecipients is empty; no alert sent")
        return
    alert_id = ctx.enqueue(
        "email-notifications",
        {
            "type": "alert",
            "priority": "high",
            "recipients": list(payload.notifyRecipients),
            "subject": subject[:200],
            "body": body,
            "organizationId": payload.organizationId,
            "data": data,
        },
        job_id=f"alert:{ctx.job_id}",
    )
    ctx.log(f"alert {alert_id} enqueued for {len(payload.notifyRecipients)} recipient(s)")


def _today(ctx: JobContext) -> dt.date:
    return dt.datetime.now(ZoneInfo(ctx.settings.timezone)).date()


KIND = JobKind(
    name="validate_production_data",
    queue=QUEUE,
    payload=DataValidationPayload,
    process=process,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=5 * 60_000,
)
