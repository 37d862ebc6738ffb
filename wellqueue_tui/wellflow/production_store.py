"""The embedded SQLite store of validated production readings, shared by validation and reports.

Workers in several threads and processes use it at once: one connection per call, WAL
journal, a 30 s busy timeout and short transactions.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["valid", "invalid"]
Period = Literal["day", "month"]
Bucket = Literal["week", "month", "quarter"]

#: How far back `wells_missing_reading` looks for wells that should have reported.
SEEN_WINDOW_DAYS = 30

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id              INTEGER PRIMARY KEY,
    job_id          TEXT,
    well_id         TEXT NOT NULL,
    lease_id        TEXT NOT NULL,
    operator_id     TEXT NOT NULL,
    organization_id TEXT,
    county          TEXT NOT NULL,
    state           TEXT NOT NULL,
    latitude        REAL NOT NULL,
    longitude       REAL NOT NULL,
    period          TEXT NOT NULL DEFAULT 'day' CHECK (period IN ('day', 'month')),
    reading_date    TEXT NOT NULL,
    oil_bbl         REAL,
    gas_mcf         REAL,
    water_bbl       REAL,
    validated_at    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('valid', 'invalid')),
    issues          TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX IF NOT EXISTS readings_one_valid_per_day
    ON readings (well_id, period, reading_date) WHERE status = 'valid';
CREATE UNIQUE INDEX IF NOT EXISTS readings_one_per_job ON readings (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS readings_by_date ON readings (reading_date, well_id);
"""

_COLUMNS = (
    "job_id, well_id, lease_id, operator_id, organization_id, county, state, latitude, longitude,"
    " period, reading_date, oil_bbl, gas_mcf, water_bbl, validated_at, status, issues"
)

# SQLite expressions turning reading_date into a bucket label (week = its Monday).
_BUCKET_SQL = {
    "week": "date(reading_date, '-' || ((CAST(strftime('%w', reading_date) AS INTEGER) + 6) % 7) || ' days')",
    "month": "substr(reading_date, 1, 7)",
    "quarter": "substr(reading_date, 1, 4) || '-Q' || ((CAST(substr(reading_date, 6, 2) AS INTEGER) + 2) / 3)",
}


class DuplicateReadingError(Exception):
    """Another job already recorded a valid reading for this well and day."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One well's production for one day (or one month), as validated."""

    well_id: str
    lease_id: str
    operator_id: str
    organization_id: str | None
    county: str
    state: str
    latitude: float
    longitude: float
    reading_date: dt.date
    oil_bbl: float | None
    gas_mcf: float | None
    water_bbl: float | None
    status: Status = "valid"
    issues: tuple[dict, ...] = ()
    period: Period = "day"
    job_id: str | None = None
    validated_at: str = field(default="")

    @property
    def flagged(self) -> bool:
        """A valid reading that still carries warnings."""
        return self.status == "valid" and bool(self.issues)


@dataclass(frozen=True, slots=True)
class DailyTotal:
    day: dt.date
    wells: int
    oil_bbl: float
    gas_mcf: float
    water_bbl: float


@dataclass(frozen=True, slots=True)
class WellTotals:
    """One well's valid volumes and reading counts in one week, month or quarter."""

    bucket: str
    well_id: str
    lease_id: str
    operator_id: str
    county: str
    state: str
    first_day: dt.date
    last_day: dt.date
    valid_days: int
    invalid_readings: int
    oil_bbl: float
    gas_mcf: float
    water_bbl: float


@dataclass(frozen=True, slots=True)
class WellRef:
    """A well known to the store, with the last day it reported."""

    well_id: str
    lease_id: str
    operator_id: str
    organization_id: str | None
    last_reading_date: dt.date


class ProductionStore:
    """Readings in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            yield db
        finally:
            db.close()

    def record(self, reading: Reading) -> bool:
        """Store a reading; False if its job already stored one (a re-run), raises on a duplicate."""
        validated_at = reading.validated_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        values = (
            reading.job_id,
            reading.well_id,
            reading.lease_id,
            reading.operator_id,
            reading.organization_id,
            reading.county,
            reading.state,
            reading.latitude,
            reading.longitude,
            reading.period,
            reading.reading_date.isoformat(),
            _finite_or_none(reading.oil_bbl),
            _finite_or_none(reading.gas_mcf),
            _finite_or_none(reading.water_bbl),
            validated_at,
            reading.status,
            json.dumps(list(reading.issues)),
        )
        placeholders = ", ".join("?" * len(values))
        try:
            with self._connect() as db:
                cursor = db.execute(
                    f"INSERT INTO readings ({_COLUMNS}) VALUES ({placeholders})"
                    " ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING",
                    values,
                )
                return cursor.rowcount == 1
        except sqlite3.IntegrityError:
            raise DuplicateReadingError(
                f"well {reading.well_id} already has a valid reading for {reading.reading_date.isoformat()}"
            ) from None

    def has_reading(
        self, well_id: str, day: dt.date, *, period: Period = "day", excluding_job_id: str | None = None
    ) -> bool:
        """Whether the well already has a valid reading for that day (not counting `excluding_job_id`'s)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM readings WHERE well_id = ? AND period = ? AND reading_date = ? AND status = 'valid'"
                " AND (job_id IS NULL OR job_id IS NOT ?) LIMIT 1",
                (well_id, period, day.isoformat(), excluding_job_id),
            ).fetchone()
        return row is not None

    def readings(
        self,
        start: dt.date,
        end: dt.date,
        *,
        organization_id: str | None = None,
        operator_id: str | None = None,
        lease_id: str | None = None,
        well_ids: Sequence[str] | None = None,
        status: Status | None = None,
        period: Period | None = None,
        with_issues: bool = False,
    ) -> list[Reading]:
        """Readings dated start..end (inclusive), oldest first; filters narrow, None means any."""
        where, params = _scope(start, end, organization_id, operator_id, lease_id, well_ids)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if period is not None:
            where.append("period = ?")
            params.append(period)
        if with_issues:
            where.append("issues != '[]'")
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM readings WHERE {' AND '.join(where)} ORDER BY reading_date, well_id, id",
                params,
            ).fetchall()
        return [_reading_from_row(row) for row in rows]

    def daily_totals(
        self,
        start: dt.date,
        end: dt.date,
        *,
        organization_id: str | None = None,
        operator_id: str | None = None,
        lease_id: str | None = None,
        well_ids: Sequence[str] | None = None,
    ) -> list[DailyTotal]:
        """Valid daily volumes summed per day, for days that have any."""
        where, params = _scope(start, end, organization_id, operator_id, lease_id, well_ids)
        where += ["status = 'valid'", "period = 'day'"]
        with self._connect() as db:
            rows = db.execute(
                "SELECT reading_date, COUNT(DISTINCT well_id) AS wells, TOTAL(oil_bbl) AS oil,"
                " TOTAL(gas_mcf) AS gas, TOTAL(water_bbl) AS water"
                f" FROM readings WHERE {' AND '.join(where)} GROUP BY reading_date ORDER BY reading_date",
                params,
            ).fetchall()
        return [
            DailyTotal(dt.date.fromisoformat(r["reading_date"]), r["wells"], r["oil"], r["gas"], r["water"])
            for r in rows
        ]

    def well_totals(
        self,
        start: dt.date,
        end: dt.date,
        bucket: Bucket,
        *,
        organization_id: str | None = None,
        operator_id: str | None = None,
        lease_id: str | None = None,
        well_ids: Sequence[str] | None = None,
    ) -> list[WellTotals]:
        """Daily readings grouped per well and week/month/quarter: valid sums and reading counts."""
        where, params = _scope(start, end, organization_id, operator_id, lease_id, well_ids)
        where.append("period = 'day'")
        label = _BUCKET_SQL[bucket]
        valid = "status = 'valid'"
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {label} AS bucket, well_id, MAX(lease_id) AS lease_id, MAX(operator_id) AS operator_id,"
                " MAX(county) AS county, MAX(state) AS state,"
                " MIN(reading_date) AS first_day, MAX(reading_date) AS last_day,"
                f" COUNT(DISTINCT CASE WHEN {valid} THEN reading_date END) AS valid_days,"
                f" SUM(NOT ({valid})) AS invalid_readings,"
                f" TOTAL(CASE WHEN {valid} THEN oil_bbl END) AS oil,"
                f" TOTAL(CASE WHEN {valid} THEN gas_mcf END) AS gas,"
                f" TOTAL(CASE WHEN {valid} THEN water_bbl END) AS water"
                f" FROM readings WHERE {' AND '.join(where)} GROUP BY bucket, well_id ORDER BY bucket, well_id",
                params,
            ).fetchall()
        return [
            WellTotals(
                bucket=r["bucket"],
                well_id=r["well_id"],
                lease_id=r["lease_id"],
                operator_id=r["operator_id"],
                county=r["county"],
                state=r["state"],
                first_day=dt.date.fromisoformat(r["first_day"]),
                last_day=dt.date.fromisoformat(r["last_day"]),
                valid_days=r["valid_days"],
                invalid_readings=r["invalid_readings"],
                oil_bbl=r["oil"],
                gas_mcf=r["gas"],
                water_bbl=r["water"],
            )
            for r in rows
        ]

    def trailing_oil_mean(self, well_id: str, day: dt.date, *, days: int = 30, period: Period = "day") -> float | None:
        """Mean valid oil of the well over the `days` before `day` (None without history)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT AVG(oil_bbl) AS mean FROM readings WHERE well_id = ? AND period = ? AND status = 'valid'"
                " AND reading_date >= ? AND reading_date < ? AND oil_bbl IS NOT NULL",
                (well_id, period, (day - dt.timedelta(days=days)).isoformat(), day.isoformat()),
            ).fetchone()
        return row["mean"]

    def latest_reading(self, well_id: str, *, before: dt.date | None = None) -> Reading | None:
        """The well's most recent valid reading (daily or monthly), optionally only those dated before `before`."""
        where, params = ["well_id = ?", "status = 'valid'"], [well_id]
        if before is not None:
            where.append("reading_date < ?")
            params.append(before.isoformat())
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM readings WHERE {' AND '.join(where)}"
                " ORDER BY reading_date DESC, id DESC LIMIT 1",
                params,
            ).fetchone()
        return _reading_from_row(row) if row is not None else None

    def first_reading_date(self, well_id: str) -> dt.date | None:
        """The day of the well's earliest valid reading of any period (None if it has none)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT MIN(reading_date) AS first FROM readings WHERE well_id = ? AND status = 'valid'", (well_id,)
            ).fetchone()
        return dt.date.fromisoformat(row["first"]) if row["first"] else None

    def wells_missing_reading(self, day: dt.date, *, organization_id: str | None = None) -> list[WellRef]:
        """Wells with a valid daily reading in the 30 days before `day` but none on `day`."""
        params: list[object] = [(day - dt.timedelta(days=SEEN_WINDOW_DAYS)).isoformat(), day.isoformat()]
        tenant = ""
        if organization_id is not None:
            tenant = " AND organization_id = ?"
            params.append(organization_id)
        params.append(day.isoformat())
        with self._connect() as db:
            rows = db.execute(
                "SELECT well_id, MAX(lease_id) AS lease_id, MAX(operator_id) AS operator_id,"
                " MAX(organization_id) AS organization_id, MAX(reading_date) AS last_day FROM readings"
                " WHERE period = 'day' AND status = 'valid' AND reading_date >= ? AND reading_date < ?"
                f"{tenant} AND well_id NOT IN (SELECT well_id FROM readings WHERE period = 'day'"
                " AND status = 'valid' AND reading_date = ?) GROUP BY well_id ORDER BY well_id",
                params,
            ).fetchall()
        return [
            WellRef(
                r["well_id"],
                r["lease_id"],
                r["operator_id"],
                r["organization_id"],
                dt.date.fromisoformat(r["last_day"]),
            )
            for r in rows
        ]


def _scope(
    start: dt.date,
    end: dt.date,
    organization_id: str | None,
    operator_id: str | None,
    lease_id: str | None,
    well_ids: Sequence[str] | None,
) -> tuple[list[str], list[object]]:
    """The WHERE clauses and parameters shared by every ranged query."""
    where = ["reading_date >= ?", "reading_date <= ?"]
    params: list[object] = [start.isoformat(), end.isoformat()]
    for column, value in (("organization_id", organization_id), ("operator_id", operator_id), ("lease_id", lease_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if well_ids is not None:
        where.append(f"well_id IN ({', '.join('?' * len(well_ids))})" if well_ids else "0")
        params.extend(well_ids)
    return where, params


def _reading_from_row(row: sqlite3.Row) -> Reading:
    return Reading(
        well_id=row["well_id"],
        lease_id=row["lease_id"],
        operator_id=row["operator_id"],
        organization_id=row["organization_id"],
        county=row["county"],
        state=row["state"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        reading_date=dt.date.fromisoformat(row["reading_date"]),
        oil_bbl=row["oil_bbl"],
        gas_mcf=row["gas_mcf"],
        water_bbl=row["water_bbl"],
        status=row["status"],
        issues=tuple(json.loads(row["issues"])),
        period=row["period"],
        job_id=row["job_id"],
        validated_at=row["validated_at"],
    )


def _finite_or_none(value: float | None) -> float | None:
    # SQLite turns NaN into NULL anyway; infinities would poison every SUM, so store neither.
    return value if value is not None and math.isfinite(value) else None
