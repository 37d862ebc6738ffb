"""The data-validation queue: checks one well's production reading, or sweeps a whole day, against the store.

Production readings (`production_data`, `daily_production`, `monthly_production`) are recorded, valid or
invalid. The audits (`well_integrity`, `historical_verification`, `regulatory_compliance`) check the
reading against what the store already holds and record nothing. Any error raises an alert (with
`notifyOnFailure`) and fails the job for good; warnings are returned as findings.
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
from ..geography import STATE_BOUNDS, county_in_state, county_key
from ..production_store import DuplicateReadingError, ProductionStore, Reading
from .fields import PAYLOAD_CONFIG, EmailAddress, Identifier, OrganizationId

QUEUE = "data-validation"

MAX_GAS_OIL_RATIO = 100_000.0  # scf/bbl; above this an "oil" well is really a gas well or a typo
MAX_WATER_CUT = 0.98
JUMP_FACTOR = 5.0  # oil above this multiple of the trailing mean is flagged
TRAILING_DAYS = {"day": 30, "month": 93}
BOUNDS_MARGIN_DEG = 0.1
ALERT_LIST_LIMIT = 20
HISTORY_WINDOW_DAYS = 90  # how far back historical_verification re-checks a well's stored readings
MAX_WELL_MOVE_KM = 1.0  # a well's surface location does not move; beyond this the coordinates are wrong
EARTH_RADIUS_KM = 6371.0

#: The agency each producing state's operators report production to.
REGULATORS: dict[str, str] = {
    "TX": "Railroad Commission of Texas",
    "NM": "New Mexico Oil Conservation Division",
    "OK": "Oklahoma Corporation Commission",
    "ND": "North Dakota Industrial Commission",
    "LA": "Louisiana Office of Conservation",
    "CO": "Colorado Energy and Carbon Management Commission",
    "WY": "Wyoming Oil and Gas Conservation Commission",
    "PA": "Pennsylvania Department of Environmental Protection",
    "KS": "Kansas Corporation Commission",
    "MT": "Montana Board of Oil and Gas Conservation",
    "UT": "Utah Division of Oil, Gas and Mining",
    "OH": "Ohio Division of Oil and Gas Resources Management",
    "WV": "West Virginia Office of Oil and Gas",
    "CA": "California Geologic Energy Management Division",
}

# --- payload ---------------------------------------------------------------------------------

CountyName = Annotated[  # letters, with single spaces, dots, apostrophes or hyphens between words
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\W\d_]+(?:[ .'-]{1,2}[^\W\d_]+)*\.?$")
]
StateCode = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{2}$")]
Coordinate = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Volume = Annotated[float, Strict()]  # sign and finiteness are checked by the processor, so they get recorded

ValidationType = Literal[
    "production_data",
    "well_integrity",
    "historical_verification",
    "regulatory_compliance",
    "daily_production",
    "monthly_production",
    "daily_sweep",
]
READING_FIELDS = ("wellId", "leaseId", "operatorId", "location", "production")
#: The types whose reading is stored (valid or invalid); the audits only compare it with the store.
RECORDED_TYPES = frozenset({"production_data", "daily_production", "monthly_production"})


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
        issues.append(
            Issue("latitude_out_of_range", f"latitude {reading.latitude} is outside -90..90", field="location.latitude")
        )
    if not -180 <= reading.longitude <= 180:
        issues.append(
            Issue(
                "longitude_out_of_range",
                f"longitude {reading.longitude} is outside -180..180",
                field="location.longitude",
            )
        )
    return CheckOutcome(tuple(issues))


def check_state_bounds(reading: Reading) -> CheckOutcome:
    bounds = STATE_BOUNDS.get(reading.state)
    if bounds is None:
        return CheckOutcome(note=f"no bounding box for {reading.state}; not checked")
    south, north, west, east = bounds
    m = BOUNDS_MARGIN_DEG
    if south - m <= reading.latitude <= north + m and west - m <= reading.longitude <= east + m:
        return CheckOutcome()
    return CheckOutcome(
        (
            Issue(
                "outside_state",
                f"({reading.latitude}, {reading.longitude}) is outside {reading.state} "
                f"(latitude {south}..{north}, longitude {west}..{east})",
                field="location",
            ),
        )
    )


def check_volumes(reading: Reading) -> CheckOutcome:
    issues = []
    for name, value in (("oil", reading.oil_bbl), ("gas", reading.gas_mcf), ("water", reading.water_bbl)):
        if value is None or not math.isfinite(value):
            issues.append(
                Issue("non_finite_volume", f"{name} volume {value} is not a finite number", field=f"production.{name}")
            )
        elif value < 0:
            issues.append(Issue("negative_volume", f"{name} volume {value} is negative", field=f"production.{name}"))
    return CheckOutcome(tuple(issues))


def check_gas_oil_ratio(reading: Reading) -> CheckOutcome:
    volumes = _usable_volumes(reading)
    if volumes is None:
        return CheckOutcome(note="skipped: volumes unusable")
    oil, gas, _water = volumes
    if oil == 0:
        return CheckOutcome(note="gas well (no oil): ratio not applicable" if gas else "no production")
    ratio = gas * 1000 / oil
    if ratio > MAX_GAS_OIL_RATIO:
        return CheckOutcome(
            (
                Issue(
                    "gas_oil_ratio_implausible",
                    f"gas/oil ratio {ratio:,.0f} scf/bbl exceeds {MAX_GAS_OIL_RATIO:,.0f} ({gas} mcf gas, {oil} bbl oil)",
                    field="production.gas",
                ),
            )
        )
    return CheckOutcome(note=f"{ratio:,.0f} scf/bbl")


def check_water_cut(reading: Reading) -> CheckOutcome:
    volumes = _usable_volumes(reading)
    if volumes is None:
        return CheckOutcome(note="skipped: volumes unusable")
    oil, _gas, water = volumes
    liquids = oil + water
    if liquids == 0:
        return CheckOutcome(note="no liquids")
    cut = water / liquids
    if cut > MAX_WATER_CUT:
        return CheckOutcome(
            (
                Issue(
                    "water_cut_high",
                    f"water cut {cut:.1%} exceeds {MAX_WATER_CUT:.0%}",
                    field="production.water",
                ),
            )
        )
    return CheckOutcome(note=f"{cut:.1%}")


def check_county(reading: Reading) -> CheckOutcome:
    known = county_in_state(reading.county, reading.state)
    if known is None:
        return CheckOutcome(note=f"no county list for {reading.state}; not checked")
    if known:
        return CheckOutcome()
    return CheckOutcome(
        (
            Issue(
                "county_not_in_state",
                f"{reading.county!r} is not a county of {reading.state}",
                field="location.county",
            ),
        )
    )


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
    return CheckOutcome(
        (
            Issue(
                "date_in_future",
                f"reading date {reading.reading_date} is after today ({today})",
                field="production.date",
            ),
        )
    )


def check_duplicate(reading: Reading, store: ProductionStore, job_id: str) -> CheckOutcome:
    if not store.has_reading(reading.well_id, reading.reading_date, period=reading.period, excluding_job_id=job_id):
        return CheckOutcome()
    return CheckOutcome(
        (
            Issue(
                "duplicate_reading",
                f"well {reading.well_id} already has a valid {reading.period} reading for {reading.reading_date}",
                field="production.date",
            ),
        )
    )


def check_history(reading: Reading, store: ProductionStore) -> CheckOutcome:
    days = TRAILING_DAYS[reading.period]
    volumes = _usable_volumes(reading)
    if volumes is None:
        return CheckOutcome(note="skipped: volumes unusable")
    oil = volumes[0]
    mean = store.trailing_oil_mean(reading.well_id, reading.reading_date, days=days, period=reading.period)
    if mean is None or mean <= 0:
        return CheckOutcome(note=f"no oil in the previous {days} days; not compared")
    if oil > JUMP_FACTOR * mean:
        return CheckOutcome(
            (
                Issue(
                    "oil_jump",
                    f"oil {oil} bbl is {oil / mean:.1f}x the {days}-day mean of {mean:.1f} bbl",
                    severity="warning",
                    field="production.oil",
                ),
            )
        )
    return CheckOutcome(note=f"{oil / mean:.2f}x the {days}-day mean")


# --- audits: the reading against the well's stored history -------------------------------------


def check_identity(reading: Reading, store: ProductionStore) -> CheckOutcome:
    """Lease, county and state must match the well's last valid reading; an operator change is a warning."""
    last = store.latest_reading(reading.well_id)
    if last is None:
        return CheckOutcome(note=f"no reading of {reading.well_id} on file; nothing to compare")
    on_file = f"(on file since its reading of {last.reading_date})"
    issues = []
    if last.lease_id != reading.lease_id:
        issues.append(
            Issue(
                "lease_mismatch",
                f"well {reading.well_id} is on lease {last.lease_id} {on_file}, not {reading.lease_id}",
                field="leaseId",
            )
        )
    if (last.state, county_key(last.county)) != (reading.state, county_key(reading.county)):
        issues.append(
            Issue(
                "location_mismatch",
                f"well {reading.well_id} is in {last.county}, {last.state} "
                f"{on_file}, not {reading.county}, {reading.state}",
                field="location.county",
            )
        )
    if last.operator_id != reading.operator_id:
        issues.append(
            Issue(
                "operator_changed",
                f"well {reading.well_id} was operated by {last.operator_id} "
                f"{on_file}; now {reading.operator_id} (a transfer should be on file)",
                severity="warning",
                field="operatorId",
            )
        )
    return CheckOutcome(tuple(issues), note=f"matches the reading of {last.reading_date}")


def check_surface_location(reading: Reading, store: ProductionStore) -> CheckOutcome:
    last = store.latest_reading(reading.well_id)
    if last is None:
        return CheckOutcome(note="no location on file; nothing to compare")
    distance = _distance_km(last.latitude, last.longitude, reading.latitude, reading.longitude)
    if distance <= MAX_WELL_MOVE_KM:
        return CheckOutcome(note=f"{distance:.2f} km from the location on file")
    return CheckOutcome(
        (
            Issue(
                "well_moved",
                f"({reading.latitude}, {reading.longitude}) is {distance:,.1f} km from where well {reading.well_id} "
                f"was reported on {last.reading_date} ({last.latitude}, {last.longitude}); a well does not move",
                field="location",
            ),
        )
    )


def check_stored_history(reading: Reading, store: ProductionStore) -> CheckOutcome:
    """Re-run the reading checks on the well's stored valid readings of the last 90 days and look for gaps."""
    start = reading.reading_date - dt.timedelta(days=HISTORY_WINDOW_DAYS)
    stored = store.readings(start, reading.reading_date, well_ids=[reading.well_id], period="day")
    valid = [r for r in stored if r.status == "valid"]
    if not valid:
        return CheckOutcome(note=f"no valid reading in the {HISTORY_WINDOW_DAYS} days to {reading.reading_date}")
    issues: list[Issue] = []
    for old in valid:
        for _name, check in READING_CHECKS:
            issues.extend(
                replace(issue, message=f"stored reading of {old.reading_date}: {issue.message}")
                for issue in check(old).issues
                if issue.severity == "error"
            )
    days = {r.reading_date for r in valid}
    first, last = min(days), max(days)
    missing = (last - first).days + 1 - len(days)
    if missing:
        issues.append(
            Issue(
                "reading_gaps",
                f"{missing} day(s) without a valid reading between {first} and {last}",
                severity="warning",
            )
        )
    invalid = len(stored) - len(valid)
    if invalid:
        issues.append(
            Issue("invalid_readings_on_file", f"{invalid} invalid reading(s) on file since {start}", severity="warning")
        )
    return CheckOutcome(tuple(issues), note=f"{len(valid)} valid reading(s) since {start} re-checked")


def check_regulator(reading: Reading) -> CheckOutcome:
    agency = REGULATORS.get(reading.state)
    if agency is None:
        return CheckOutcome(
            (
                Issue(
                    "no_regulator_rules",
                    f"no reporting rules known for {reading.state}; its filings were not checked",
                    severity="warning",
                    field="location.state",
                ),
            )
        )
    return CheckOutcome(note=f"reports to the {agency}")


def check_previous_month_reported(reading: Reading, store: ProductionStore) -> CheckOutcome:
    """A producing well reports every month: last month needs a monthly filing or valid daily readings
    (an error when it has neither, a warning when days are missing)."""
    month_start = reading.reading_date.replace(day=1)
    first = store.first_reading_date(reading.well_id)
    if first is None or first >= month_start:
        return CheckOutcome(note=f"no production on file before {month_start:%Y-%m}; nothing due yet")
    previous_end = month_start - dt.timedelta(days=1)
    previous_start = previous_end.replace(day=1)
    label = f"{previous_start:%Y-%m}"
    if store.has_reading(reading.well_id, previous_start, period="month"):
        return CheckOutcome(note=f"monthly filing for {label} on file")
    due_from = max(first, previous_start)
    reported = {
        r.reading_date
        for r in store.readings(due_from, previous_end, well_ids=[reading.well_id], status="valid", period="day")
    }
    due = (previous_end - due_from).days + 1
    if len(reported) >= due:
        return CheckOutcome(note=f"daily readings cover {label}")
    agency = REGULATORS.get(reading.state, "regulator")
    if not reported:
        return CheckOutcome(
            (
                Issue(
                    "month_not_reported",
                    f"well {reading.well_id} produced before {label} but has no monthly filing and no valid daily "
                    f"reading for {label}; the {agency} expects every producing month reported",
                ),
            )
        )
    return CheckOutcome(
        (
            Issue(
                "month_partly_reported",
                f"no monthly filing for {label} and valid daily readings for {len(reported)} of {due} day(s) from "
                f"{due_from}; the filing to the {agency} will be estimated",
                severity="warning",
            ),
        )
    )


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _audit_steps(validation_type: str, store: ProductionStore) -> list[tuple[str, Check]]:
    """The checks an audit type adds to the reading checks."""
    if validation_type == "well_integrity":
        return [
            ("identity", lambda r: check_identity(r, store)),
            ("surface location", lambda r: check_surface_location(r, store)),
        ]
    if validation_type == "historical_verification":
        return [
            ("stored history", lambda r: check_stored_history(r, store)),
            ("history", lambda r: check_history(r, store)),
        ]
    if validation_type == "regulatory_compliance":
        return [("regulator", check_regulator), ("previous month", lambda r: check_previous_month_reported(r, store))]
    return []


def _usable_volumes(reading: Reading) -> tuple[float, float, float] | None:
    """Oil, gas and water when all three are finite and not negative, else None."""
    oil, gas, water = reading.oil_bbl, reading.gas_mcf, reading.water_bbl
    if oil is None or gas is None or water is None:
        return None
    return (oil, gas, water) if all(math.isfinite(v) and v >= 0 for v in (oil, gas, water)) else None


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
    records = payload.validationType in RECORDED_TYPES
    ctx.log(f"validating {payload.validationType} of well {reading.well_id} for {reading.reading_date}")
    ctx.progress(5)

    steps: list[tuple[str, Check]] = [*READING_CHECKS, ("reading date", lambda r: check_not_future(r, today))]
    if records:
        steps.append(("duplicate", lambda r: check_duplicate(r, store, ctx.job_id)))
        if payload.includeHistorical:
            steps.append(("history", lambda r: check_history(r, store)))
    steps += _audit_steps(payload.validationType, store)
    issues: list[Issue] = []
    for done, (name, check) in enumerate(steps, start=1):
        outcome = check(reading)
        ctx.log(_describe(name, outcome))
        issues.extend(outcome.issues)
        ctx.progress(5 + 80 * done / len(steps))

    if records:
        try:
            _record(store, reading, issues)
        except DuplicateReadingError as exc:  # another job recorded the same well and day since our check
            issues.append(Issue("duplicate_reading", str(exc), field="production.date"))
            ctx.log(f"check duplicate: error duplicate_reading: {exc}")
            _record(store, reading, issues)
    ctx.progress(90)

    errors = [i for i in issues if i.severity == "error"]
    if errors:
        ctx.log(f"recorded as invalid with {len(errors)} error(s)" if records else f"{len(errors)} error(s) found")
        if payload.notifyOnFailure:
            _alert(ctx, payload, **_failure_notice(payload, reading, issues, records))
        raise PermanentJobError(
            f"well {reading.well_id} failed {payload.validationType.replace('_', ' ')} for {reading.reading_date}: "
            + "; ".join(f"{i.code}: {i.message}" for i in errors)
        )
    if records:
        ctx.log("recorded as valid" + (f" with {len(issues)} warning(s)" if issues else ""))
    else:
        ctx.log("passed" + (f" with {len(issues)} warning(s)" if issues else "") + "; nothing recorded")
    ctx.progress(100)
    return {
        "wellId": reading.well_id,
        "date": reading.reading_date.isoformat(),
        "validationType": payload.validationType,
        "recorded": records,
        "checks": [name for name, _ in steps],
        "warnings": [asdict(i) for i in issues],
    }


def _failure_notice(payload: DataValidationPayload, reading: Reading, issues: list[Issue], records: bool) -> dict:
    """The alert's subject, body and data for a reading that failed."""
    errors = sum(1 for i in issues if i.severity == "error")
    what = payload.validationType.replace("_", " ")
    who = f"well {reading.well_id} (lease {reading.lease_id}, operator {reading.operator_id})"
    if records:
        subject = f"Production data failed validation: well {reading.well_id} on {reading.reading_date}"
        body = (
            f"The {what} reading of {who} for {reading.reading_date} failed {errors} check(s) and was "
            "recorded as invalid. Correct the reading and submit it again."
        )
    else:
        subject = f"{what.capitalize()} failed: well {reading.well_id} on {reading.reading_date}"
        body = (
            f"The {what} of {who} as of {reading.reading_date} found {errors} problem(s). Nothing was "
            "recorded; correct the well's data on file, then run the check again."
        )
    data = {"wellId": reading.well_id, "date": reading.reading_date.isoformat(), "issues": [asdict(i) for i in issues]}
    return {"subject": subject, "body": body, "data": data}


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
        shown = [
            f"- well {w.well_id} (lease {w.lease_id}), last reading {w.last_reading_date}"
            for w in missing[:ALERT_LIST_LIMIT]
        ]
        if len(missing) > ALERT_LIST_LIMIT:
            shown.append(f"- ... and {len(missing) - ALERT_LIST_LIMIT} more")
        _alert(
            ctx,
            payload,
            subject=f"Daily production sweep for {day}: {len(missing)} missing, {len(problems)} problem(s)",
            body="\n".join(
                [
                    f"The sweep of {day} found {len(missing)} well(s) without a valid reading and "
                    f"{len(problems)} problem(s) in stored readings.",
                    *(["Wells missing a reading:", *shown] if missing else []),
                ]
            ),
            data={
                "date": day.isoformat(),
                "missingWells": [w.well_id for w in missing[:200]],
                "missingCount": len(missing),
                "issues": problems[:200],
            },
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
    well_id, lease_id, operator_id = payload.wellId, payload.leaseId, payload.operatorId
    if location is None or production is None or well_id is None or lease_id is None or operator_id is None:
        raise ValueError(f"a {payload.validationType} payload without a reading")  # the model's validator forbids it
    day = production.date or today
    monthly = payload.validationType == "monthly_production"
    return Reading(
        well_id=well_id,
        lease_id=lease_id,
        operator_id=operator_id,
        organization_id=payload.organizationId,
        county=location.county,
        state=location.state,
        latitude=location.latitude,
        longitude=location.longitude,
        reading_date=day.replace(day=1) if monthly else day,
        oil_bbl=production.oil,
        gas_mcf=production.gas,
        water_bbl=production.water,
        period="month" if monthly else "day",
        job_id=job_id,
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
    example={
        "wellId": "WELL-1250",
        "leaseId": "LEASE-211",
        "operatorId": "OP-9",
        "location": {"latitude": 32.1648, "longitude": -97.8655, "county": "Howard", "state": "TX"},
        "production": {"oil": 518, "gas": 1854, "water": 21},
        "validationType": "production_data",
        "includeHistorical": False,
        "notifyOnFailure": True,
    },
)
