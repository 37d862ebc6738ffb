"""ProductionStore: recording, uniqueness, ranged queries and concurrent use from threads and processes."""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from wellqueue_tui.wellflow.production_store import DuplicateReadingError, ProductionStore, Reading

DAY = dt.date(2026, 11, 24)


def reading(well: str = "W-1", day: dt.date = DAY, **changes) -> Reading:
    base = Reading(
        well_id=well,
        lease_id="L-1",
        operator_id="OP-1",
        organization_id="org-a",
        county="Midland",
        state="TX",
        latitude=31.99,
        longitude=-102.08,
        reading_date=day,
        oil_bbl=100.0,
        gas_mcf=250.0,
        water_bbl=40.0,
    )
    return replace(base, **changes)


@pytest.fixture
def store(tmp_path: Path) -> ProductionStore:
    return ProductionStore(tmp_path / "nested" / "production.sqlite3")


def test_creates_the_file_in_wal_mode(store: ProductionStore) -> None:
    assert store.path.exists()
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_record_round_trips_every_field(store: ProductionStore) -> None:
    issue = {"code": "oil_jump", "message": "6.0x", "severity": "warning", "field": "production.oil"}
    assert store.record(reading(issues=(issue,), job_id="job-1")) is True

    [stored] = store.readings(DAY, DAY)
    assert stored.well_id == "W-1" and stored.lease_id == "L-1" and stored.operator_id == "OP-1"
    assert stored.organization_id == "org-a" and stored.county == "Midland" and stored.state == "TX"
    assert (stored.latitude, stored.longitude) == (31.99, -102.08)
    assert stored.reading_date == DAY and stored.period == "day"
    assert (stored.oil_bbl, stored.gas_mcf, stored.water_bbl) == (100.0, 250.0, 40.0)
    assert stored.status == "valid" and stored.issues == (issue,) and stored.flagged
    assert stored.job_id == "job-1"
    assert dt.datetime.fromisoformat(stored.validated_at).tzinfo is not None


def test_non_finite_volumes_are_stored_as_null(store: ProductionStore) -> None:
    store.record(reading(oil_bbl=math.nan, gas_mcf=math.inf, status="invalid"))
    [stored] = store.readings(DAY, DAY)
    assert stored.oil_bbl is None and stored.gas_mcf is None and stored.water_bbl == 40.0


def test_one_valid_reading_per_well_and_day(store: ProductionStore) -> None:
    store.record(reading(job_id="job-1"))
    with pytest.raises(DuplicateReadingError, match="W-1 already has a valid reading for 2026-11-24"):
        store.record(reading(job_id="job-2"))
    # Invalid readings and other periods, wells and days do not collide.
    store.record(reading(job_id="job-3", status="invalid"))
    store.record(reading(job_id="job-4", period="month", reading_date=DAY.replace(day=1)))
    store.record(reading(well="W-2", job_id="job-5"))
    store.record(reading(day=DAY - dt.timedelta(days=1), job_id="job-6"))
    assert len(store.readings(DAY.replace(day=1), DAY)) == 5


def test_recording_again_for_the_same_job_is_a_no_op(store: ProductionStore) -> None:
    assert store.record(reading(job_id="job-1")) is True
    assert store.record(reading(job_id="job-1")) is False
    assert store.record(reading(job_id="job-1", status="invalid")) is False
    assert len(store.readings(DAY, DAY)) == 1


def test_has_reading_ignores_invalid_readings_and_the_asking_job(store: ProductionStore) -> None:
    store.record(reading(job_id="job-0", status="invalid"))
    assert not store.has_reading("W-1", DAY)
    store.record(reading(job_id="job-1"))
    assert store.has_reading("W-1", DAY)
    assert not store.has_reading("W-1", DAY, excluding_job_id="job-1")
    assert store.has_reading("W-1", DAY, excluding_job_id="job-9")
    assert not store.has_reading("W-1", DAY, period="month")
    assert not store.has_reading("W-2", DAY)


def test_readings_filters(store: ProductionStore) -> None:
    store.record(reading("W-1"))
    store.record(reading("W-2", operator_id="OP-2", lease_id="L-2"))
    store.record(reading("W-3", organization_id="org-b", status="invalid", issues=({"code": "x"},)))
    store.record(reading("W-4", day=DAY + dt.timedelta(days=1)))

    def wells(**filters) -> list[str]:
        return [r.well_id for r in store.readings(DAY, DAY, **filters)]

    assert wells() == ["W-1", "W-2", "W-3"]
    assert wells(organization_id="org-a") == ["W-1", "W-2"]
    assert wells(operator_id="OP-2") == ["W-2"]
    assert wells(lease_id="L-1") == ["W-1", "W-3"]
    assert wells(well_ids=["W-1", "W-3"]) == ["W-1", "W-3"]
    assert wells(well_ids=[]) == []
    assert wells(status="invalid") == ["W-3"]
    assert wells(with_issues=True) == ["W-3"]
    assert wells(period="month") == []


def test_daily_totals_sum_valid_daily_readings(store: ProductionStore) -> None:
    store.record(reading("W-1"))
    store.record(reading("W-2", oil_bbl=50.0, gas_mcf=10.0, water_bbl=5.0))
    store.record(reading("W-3", status="invalid", oil_bbl=9999.0))
    store.record(reading("W-1", day=DAY - dt.timedelta(days=1), oil_bbl=7.0))
    totals = store.daily_totals(DAY - dt.timedelta(days=1), DAY)
    assert [(t.day, t.wells, t.oil_bbl, t.gas_mcf, t.water_bbl) for t in totals] == [
        (DAY - dt.timedelta(days=1), 1, 7.0, 250.0, 40.0),
        (DAY, 2, 150.0, 260.0, 45.0),
    ]
    assert store.daily_totals(DAY, DAY, operator_id="nobody") == []


def test_well_totals_bucket_by_week_month_and_quarter(store: ProductionStore) -> None:
    days = [dt.date(2026, 9, 30), dt.date(2026, 10, 1), dt.date(2026, 10, 2)]  # Wed, Thu, Fri
    for day in days:
        store.record(reading(day=day))
    store.record(reading(day=dt.date(2026, 10, 2), status="invalid"))
    start, end = days[0], days[-1]

    [week] = store.well_totals(start, end, "week")
    assert week.bucket == "2026-09-28" and week.valid_days == 3 and week.invalid_readings == 1
    assert week.oil_bbl == 300.0 and (week.first_day, week.last_day) == (days[0], days[-1])

    months = store.well_totals(start, end, "month")
    assert [(m.bucket, m.valid_days, m.invalid_readings, m.oil_bbl) for m in months] == [
        ("2026-09", 1, 0, 100.0),
        ("2026-10", 2, 1, 200.0),
    ]
    quarters = store.well_totals(start, end, "quarter")
    assert [(q.bucket, q.valid_days) for q in quarters] == [("2026-Q3", 1), ("2026-Q4", 2)]


def test_trailing_oil_mean_uses_the_days_before(store: ProductionStore) -> None:
    store.record(reading(day=DAY - dt.timedelta(days=31), oil_bbl=10_000.0))  # outside the window
    store.record(reading(day=DAY - dt.timedelta(days=30), oil_bbl=100.0))
    store.record(reading(day=DAY - dt.timedelta(days=1), oil_bbl=200.0))
    store.record(reading(day=DAY, oil_bbl=5_000.0))  # the day itself does not count
    store.record(reading(day=DAY - dt.timedelta(days=2), oil_bbl=9_000.0, status="invalid"))
    assert store.trailing_oil_mean("W-1", DAY) == pytest.approx(150.0)
    assert store.trailing_oil_mean("W-2", DAY) is None


def test_wells_missing_reading(store: ProductionStore) -> None:
    yesterday = DAY - dt.timedelta(days=1)
    store.record(reading("W-1", day=yesterday))
    store.record(reading("W-1", day=DAY))  # reported: not missing
    store.record(reading("W-2", day=DAY - dt.timedelta(days=3)))  # missing
    store.record(reading("W-3", day=yesterday))
    store.record(reading("W-3", day=DAY, status="invalid"))  # only an invalid reading: missing
    store.record(reading("W-4", day=DAY - dt.timedelta(days=40)))  # not seen for 30 days: ignored
    store.record(reading("W-5", day=yesterday, organization_id="org-b"))

    missing = store.wells_missing_reading(DAY)
    assert [w.well_id for w in missing] == ["W-2", "W-3", "W-5"]
    assert missing[0].last_reading_date == DAY - dt.timedelta(days=3)
    assert [w.well_id for w in store.wells_missing_reading(DAY, organization_id="org-b")] == ["W-5"]


def test_concurrent_threads_each_with_their_own_connections(store: ProductionStore) -> None:
    def write(worker: int) -> None:
        for n in range(40):
            store.record(reading(f"W-{worker}", day=DAY - dt.timedelta(days=n), job_id=f"{worker}-{n}"))
            store.readings(DAY - dt.timedelta(days=5), DAY)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    assert len(store.readings(DAY - dt.timedelta(days=60), DAY)) == 160


def _write_from_process(path: str, worker: int) -> None:
    store = ProductionStore(path)
    for n in range(25):
        store.record(reading(f"P-{worker}", day=DAY - dt.timedelta(days=n), job_id=f"p{worker}-{n}"))


def test_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "production.sqlite3"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_from_process, args=(str(path), worker)) for worker in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(ProductionStore(path).readings(DAY - dt.timedelta(days=30), DAY)) == 75
