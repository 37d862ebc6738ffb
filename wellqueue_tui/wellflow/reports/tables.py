"""Report contents: what each report type reads from the production store and the table it makes.

Fetching (I/O) and shaping (pure) are separate steps so the job can report progress between them.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..production_store import ProductionStore, Reading, WellTotals

ReportType = Literal[
    "production_daily", "production_monthly", "compliance_monthly", "environmental_quarterly", "safety_weekly"
]
CellKind = Literal["text", "date", "int", "number", "percent"]


@dataclass(frozen=True)
class Column:
    title: str
    kind: CellKind = "text"
    width: float = 1.0  # relative, for PDF and spreadsheet column widths


@dataclass(frozen=True)
class Chart:
    """One series to plot: a bar per label."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    unit: str


@dataclass(frozen=True)
class ReportTable:
    """A finished report in format-neutral form; the writers only lay it out."""

    report_type: str
    title: str
    start: dt.date
    end: dt.date
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    totals: tuple[Any, ...] | None = None
    chart: Chart | None = None
    notes: tuple[str, ...] = ()

    @property
    def period(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    @property
    def empty_message(self) -> str:
        return f"No data for {self.period}."


@dataclass(frozen=True)
class Scope:
    """The filters a report applies, in the store's keyword form."""

    organization_id: str | None = None
    operator_id: str | None = None
    lease_id: str | None = None
    well_ids: tuple[str, ...] | None = None

    def as_filters(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "operator_id": self.operator_id,
            "lease_id": self.lease_id,
            "well_ids": self.well_ids,
        }

    def describe(self) -> tuple[str, ...]:
        notes = []
        if self.operator_id:
            notes.append(f"Operator: {self.operator_id}")
        if self.lease_id:
            notes.append(f"Lease: {self.lease_id}")
        if self.well_ids is not None:
            more = len(self.well_ids) - 10
            shown = ", ".join(self.well_ids[:10]) + (f" and {more} more" if more > 0 else "")
            notes.append(f"Wells: {shown}")
        return tuple(notes)


TITLES: dict[str, str] = {
    "production_daily": "Daily Production Report",
    "production_monthly": "Monthly Production Report",
    "compliance_monthly": "Monthly Reporting Compliance",
    "environmental_quarterly": "Quarterly Produced Water Report",
    "safety_weekly": "Weekly Data Quality and Safety Flags",
}


def cell_text(value: Any, kind: CellKind, *, grouped: bool = False) -> str:
    """How a cell reads in text formats (CSV, PDF): blank for None, fixed decimals for numbers."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    comma = "," if grouped else ""
    if kind == "int" and isinstance(value, int | float):
        return f"{value:{comma}.0f}"
    if kind == "number" and isinstance(value, int | float):
        return f"{value:{comma}.2f}"
    if kind == "percent" and isinstance(value, int | float):
        return f"{value:.1f}"
    return str(value)


def fetch_report_data(
    report_type: ReportType, store: ProductionStore, start: dt.date, end: dt.date, scope: Scope
) -> Any:
    """Read what the report needs from the store (the slow part)."""
    return _REPORTS[report_type][0](store, start, end, scope.as_filters())


def build_table(report_type: ReportType, data: Any, start: dt.date, end: dt.date, scope: Scope) -> ReportTable:
    """Shape fetched data into the report's table, totals and chart."""
    return _REPORTS[report_type][1](data, start, end, scope)


# --- production_daily: one row per well and day -------------------------------------------------

DAILY_COLUMNS = (
    Column("Date", "date"),
    Column("Well"),
    Column("Lease"),
    Column("Operator"),
    Column("County"),
    Column("State", width=0.5),
    Column("Oil (bbl)", "number"),
    Column("Gas (mcf)", "number"),
    Column("Water (bbl)", "number"),
)


def _fetch_daily(store: ProductionStore, start: dt.date, end: dt.date, filters: dict) -> list[Reading]:
    return store.readings(start, end, status="valid", period="day", **filters)


def _build_daily(readings: list[Reading], start: dt.date, end: dt.date, scope: Scope) -> ReportTable:
    rows = tuple(
        (r.reading_date, r.well_id, r.lease_id, r.operator_id, r.county, r.state, r.oil_bbl, r.gas_mcf, r.water_bbl)
        for r in readings
    )
    oil_per_day: dict[dt.date, float] = defaultdict(float)
    for r in readings:
        oil_per_day[r.reading_date] += r.oil_bbl or 0.0
    days = sorted(oil_per_day)
    return ReportTable(
        "production_daily",
        TITLES["production_daily"],
        start,
        end,
        DAILY_COLUMNS,
        rows,
        totals=(
            "Total",
            f"{len({r.well_id for r in readings})} wells",
            None,
            None,
            None,
            None,
            _sum(r.oil_bbl for r in readings),
            _sum(r.gas_mcf for r in readings),
            _sum(r.water_bbl for r in readings),
        ),
        chart=Chart("Oil per day", tuple(d.isoformat() for d in days), tuple(oil_per_day[d] for d in days), "bbl"),
        notes=scope.describe(),
    )


# --- production_monthly: one row per well and month ---------------------------------------------

MONTHLY_COLUMNS = (
    Column("Month"),
    Column("Well"),
    Column("Lease"),
    Column("Operator"),
    Column("Days reported", "int"),
    Column("Oil (bbl)", "number"),
    Column("Gas (mcf)", "number"),
    Column("Water (bbl)", "number"),
    Column("Source", width=1.2),
)


def _fetch_monthly(
    store: ProductionStore, start: dt.date, end: dt.date, filters: dict
) -> tuple[list[WellTotals], list[Reading]]:
    # Monthly filings are dated the 1st: include the filing of the month the range starts in.
    monthly = store.readings(start.replace(day=1), end, status="valid", period="month", **filters)
    return store.well_totals(start, end, "month", **filters), monthly


def _build_monthly(
    data: tuple[list[WellTotals], list[Reading]], start: dt.date, end: dt.date, scope: Scope
) -> ReportTable:
    daily, monthly = data
    rows: dict[tuple[str, str], tuple] = {}
    for t in daily:
        if t.valid_days:
            rows[(t.bucket, t.well_id)] = (
                t.bucket,
                t.well_id,
                t.lease_id,
                t.operator_id,
                t.valid_days,
                t.oil_bbl,
                t.gas_mcf,
                t.water_bbl,
                "daily readings",
            )
    for r in monthly:  # a well's own monthly filing is authoritative for that month
        month = r.reading_date.strftime("%Y-%m")
        rows[(month, r.well_id)] = (
            month,
            r.well_id,
            r.lease_id,
            r.operator_id,
            None,
            r.oil_bbl,
            r.gas_mcf,
            r.water_bbl,
            "monthly filing",
        )
    ordered = tuple(rows[key] for key in sorted(rows))
    oil_per_month: dict[str, float] = defaultdict(float)
    for row in ordered:
        oil_per_month[row[0]] += row[5] or 0.0
    months = sorted(oil_per_month)
    return ReportTable(
        "production_monthly",
        TITLES["production_monthly"],
        start,
        end,
        MONTHLY_COLUMNS,
        ordered,
        totals=(
            "Total",
            f"{len({row[1] for row in ordered})} wells",
            None,
            None,
            None,
            _sum(row[5] for row in ordered),
            _sum(row[6] for row in ordered),
            _sum(row[7] for row in ordered),
            None,
        ),
        chart=Chart("Oil per month", tuple(months), tuple(oil_per_month[m] for m in months), "bbl"),
        notes=scope.describe(),
    )


# --- compliance_monthly: reading coverage and invalid readings per well and month ----------------

COMPLIANCE_COLUMNS = (
    Column("Month"),
    Column("Well"),
    Column("Lease"),
    Column("Operator"),
    Column("Days due", "int"),
    Column("Days with valid reading", "int", width=1.4),
    Column("Coverage (%)", "percent"),
    Column("Invalid readings", "int"),
    Column("Days missing", "int"),
)


def _fetch_well_months(store: ProductionStore, start: dt.date, end: dt.date, filters: dict) -> list[WellTotals]:
    return store.well_totals(start, end, "month", **filters)


def _build_compliance(totals: list[WellTotals], start: dt.date, end: dt.date, scope: Scope) -> ReportTable:
    rows = []
    for t in totals:
        due = _days_of_month_in_range(t.bucket, start, end)
        rows.append(
            (
                t.bucket,
                t.well_id,
                t.lease_id,
                t.operator_id,
                due,
                t.valid_days,
                _percent(t.valid_days, due),
                t.invalid_readings,
                due - t.valid_days,
            )
        )
    due_per_month: dict[str, int] = defaultdict(int)
    valid_per_month: dict[str, int] = defaultdict(int)
    for row in rows:
        due_per_month[row[0]] += row[4]
        valid_per_month[row[0]] += row[5]
    months = sorted(due_per_month)
    due_total, valid_total = sum(r[4] for r in rows), sum(r[5] for r in rows)
    return ReportTable(
        "compliance_monthly",
        TITLES["compliance_monthly"],
        start,
        end,
        COMPLIANCE_COLUMNS,
        tuple(rows),
        totals=(
            "Total",
            f"{len({r[1] for r in rows})} wells",
            None,
            None,
            due_total,
            valid_total,
            _percent(valid_total, due_total),
            sum(r[7] for r in rows),
            sum(r[8] for r in rows),
        ),
        chart=Chart(
            "Reading coverage per month",
            tuple(months),
            tuple(_percent(valid_per_month[m], due_per_month[m]) or 0.0 for m in months),
            "%",
        ),
        notes=(
            *scope.describe(),
            "Wells listed are those with at least one reading in the period; "
            "days due count calendar days of the month inside the period.",
        ),
    )


# --- environmental_quarterly: produced water per well and quarter --------------------------------

ENVIRONMENTAL_COLUMNS = (
    Column("Quarter"),
    Column("Well"),
    Column("Lease"),
    Column("Operator"),
    Column("County"),
    Column("State", width=0.5),
    Column("Days reported", "int"),
    Column("Oil (bbl)", "number"),
    Column("Water (bbl)", "number"),
    Column("Water cut (%)", "percent"),
    Column("Water/oil ratio", "number"),
)


def _fetch_well_quarters(store: ProductionStore, start: dt.date, end: dt.date, filters: dict) -> list[WellTotals]:
    return store.well_totals(start, end, "quarter", **filters)


def _build_environmental(totals: list[WellTotals], start: dt.date, end: dt.date, scope: Scope) -> ReportTable:
    rows = tuple(
        (
            t.bucket,
            t.well_id,
            t.lease_id,
            t.operator_id,
            t.county,
            t.state,
            t.valid_days,
            t.oil_bbl,
            t.water_bbl,
            _percent(t.water_bbl, t.oil_bbl + t.water_bbl),
            _ratio(t.water_bbl, t.oil_bbl),
        )
        for t in totals
        if t.valid_days
    )
    water_per_quarter: dict[str, float] = defaultdict(float)
    for row in rows:
        water_per_quarter[row[0]] += row[8]
    quarters = sorted(water_per_quarter)
    oil, water = _sum(r[7] for r in rows), _sum(r[8] for r in rows)
    return ReportTable(
        "environmental_quarterly",
        TITLES["environmental_quarterly"],
        start,
        end,
        ENVIRONMENTAL_COLUMNS,
        rows,
        totals=(
            "Total",
            f"{len({r[1] for r in rows})} wells",
            None,
            None,
            None,
            None,
            sum(r[6] for r in rows),
            oil,
            water,
            _percent(water, oil + water),
            _ratio(water, oil),
        ),
        chart=Chart(
            "Produced water per quarter", tuple(quarters), tuple(water_per_quarter[q] for q in quarters), "bbl"
        ),
        notes=scope.describe(),
    )


# --- safety_weekly: invalid and flagged readings, by week ---------------------------------------

SAFETY_COLUMNS = (
    Column("Week of", "date"),
    Column("Date", "date"),
    Column("Well"),
    Column("Lease"),
    Column("Operator"),
    Column("Status", width=0.7),
    Column("Issues", width=1.6),
    Column("Details", width=3.0),
)


def _fetch_flagged(store: ProductionStore, start: dt.date, end: dt.date, filters: dict) -> list[Reading]:
    return store.readings(start, end, with_issues=True, **filters)


def _build_safety(readings: list[Reading], start: dt.date, end: dt.date, scope: Scope) -> ReportTable:
    rows = []
    per_week: dict[dt.date, int] = defaultdict(int)
    for r in readings:
        week = r.reading_date - dt.timedelta(days=r.reading_date.weekday())
        per_week[week] += 1
        rows.append(
            (
                week,
                r.reading_date,
                r.well_id,
                r.lease_id,
                r.operator_id,
                "invalid" if r.status == "invalid" else "flagged",
                ", ".join(str(i.get("code", "")) for i in r.issues),
                "; ".join(str(i.get("message", "")) for i in r.issues),
            )
        )
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    weeks = sorted(per_week)
    invalid = sum(1 for row in rows if row[5] == "invalid")
    return ReportTable(
        "safety_weekly",
        TITLES["safety_weekly"],
        start,
        end,
        SAFETY_COLUMNS,
        tuple(rows),
        totals=(
            "Total",
            None,
            f"{len({row[2] for row in rows})} wells",
            None,
            None,
            f"{invalid} invalid, {len(rows) - invalid} flagged",
            None,
            None,
        ),
        chart=Chart(
            "Invalid and flagged readings per week",
            tuple(w.isoformat() for w in weeks),
            tuple(float(per_week[w]) for w in weeks),
            "readings",
        ),
        notes=scope.describe(),
    )


# --- helpers -----------------------------------------------------------------------------------


def _sum(values) -> float:
    return sum(v for v in values if v is not None)


def _percent(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _days_of_month_in_range(month: str, start: dt.date, end: dt.date) -> int:
    """Calendar days of month "YYYY-MM" that fall inside start..end."""
    year, number = (int(part) for part in month.split("-"))
    first = dt.date(year, number, 1)
    last = first.replace(day=calendar.monthrange(year, number)[1])
    return max(0, (min(last, end) - max(first, start)).days + 1)


_REPORTS: dict[str, tuple[Callable[..., Any], Callable[..., ReportTable]]] = {
    "production_daily": (_fetch_daily, _build_daily),
    "production_monthly": (_fetch_monthly, _build_monthly),
    "compliance_monthly": (_fetch_well_months, _build_compliance),
    "environmental_quarterly": (_fetch_well_quarters, _build_environmental),
    "safety_weekly": (_fetch_flagged, _build_safety),
}
