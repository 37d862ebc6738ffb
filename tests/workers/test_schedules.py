"""Schedules: crontab translation, DST behaviour, payload templates, the Redis store and the `schedules` CLI."""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wellqueue_tui.cli.schedules import add_schedule_parser, run_schedules_command
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.workers.crontab import MAX_CRON_LENGTH, cron_trigger, parse_crontab
from wellqueue_tui.workers.schedules import (
    Schedule,
    ScheduleError,
    ScheduleNotFound,
    ScheduleState,
    ScheduleStore,
    check_payload,
    default_schedules,
    fire_job_id,
    next_fire_times,
    render_payload,
)

CHICAGO = ZoneInfo("America/Chicago")
UTC = UTC


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def chicago(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CHICAGO)


def schedule(**fields) -> Schedule:
    defaults = {"name": "nightly", "cron": "0 2 * * *", "timezone": "America/Chicago", "queue": "webhooks"}
    return Schedule.build(**{**defaults, **fields})


def fires(sched: Schedule, start: datetime, n: int) -> list[datetime]:
    return next_fire_times(sched, start, n)


# --- crontab translation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "field", "expected"),
    [
        ("0 6 * * 1-5", "day_of_week", "mon-fri"),
        ("0 6 * * 0", "day_of_week", "sun"),
        ("0 6 * * 7", "day_of_week", "sun"),
        ("0 6 * * 6-7", "day_of_week", "sat-sun"),
        ("0 6 * * 5-0", "day_of_week", "fri-sun"),  # wraps through Sunday
        ("0 6 * * fri-mon", "day_of_week", "mon,fri-sun"),
        ("0 6 * * MON,wed", "day_of_week", "mon,wed"),
        ("0 6 * * 1,3,5", "day_of_week", "mon,wed,fri"),
        ("0 6 * * 1-5/2", "day_of_week", "mon,wed,fri"),
        ("0 6 * * */2", "day_of_week", "tue,thu,sat-sun"),  # crontab counts from Sunday: sun,tue,thu,sat
        ("0 6 * * 0-7", "day_of_week", "*"),
        ("*/15 * * * *", "minute", "*/15"),
        ("5/10 * * * *", "minute", "5-59/10"),
        ("0 8-18/2 * * *", "hour", "8-18/2"),
        ("0 0 1 jan-mar *", "month", "1-3"),
        ("0 0 1,15 * *", "day", "1,15"),
        ("@daily", "hour", "0"),
        ("@weekly", "day_of_week", "sun"),
        # A step wider than what is left of the range: only the first value matches.
        ("30/45 * * * *", "minute", "30"),
        ("0 20/6 * * *", "hour", "20"),
        ("59/1 * * * *", "minute", "59"),
        ("5-5/2 * * * *", "minute", "5"),
        ("0 0 * 12/2 *", "month", "12"),
        ("0 0 * 1-1/1 *", "month", "1"),
        ("0-30/30 * * * *", "minute", "0-30/30"),
    ],
)
def test_crontab_translation(expression: str, field: str, expected: str) -> None:
    assert getattr(parse_crontab(expression), field) == expected


def test_weekdays_fire_monday_to_friday_not_tuesday_to_saturday() -> None:
    # APScheduler's own from_crontab() would read 1-5 as Tue-Sat (it counts 0 as Monday).
    runs = fires(schedule(cron="0 6 * * 1-5"), chicago(2026, 6, 7, 0, 0), 5)  # from a Sunday
    assert [run.strftime("%a %H:%M") for run in runs] == [f"{day} 06:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri")]


def test_sunday_as_0_and_7_fire_on_sundays() -> None:
    for cron in ("0 6 * * 0", "0 6 * * 7", "0 6 * * sun"):
        runs = fires(schedule(cron=cron), chicago(2026, 6, 1, 0, 0), 2)
        assert [run.date().isoformat() for run in runs] == ["2026-06-07", "2026-06-14"]


def test_day_of_month_and_weekday_together_fire_on_either_as_crontab_does() -> None:
    runs = fires(schedule(cron="0 0 13 * 5"), chicago(2026, 2, 1, 0, 0), 5)  # the 13th, or any Friday
    assert [run.strftime("%m-%d") for run in runs] == ["02-06", "02-13", "02-20", "02-27", "03-06"]
    runs = fires(schedule(cron="0 0 13 3 5"), chicago(2026, 2, 1, 0, 0), 3)  # month still restricts both
    assert [run.date().isoformat() for run in runs] == ["2026-03-06", "2026-03-13", "2026-03-20"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 25 * * *", "cron field 'hour' = '25': value out of range 0-23"),
        ("60 * * * *", "cron field 'minute' = '60': value out of range 0-59"),
        ("0 0 0 * *", "cron field 'day-of-month' = '0': value out of range 1-31"),
        ("0 0 * 13 *", "cron field 'month' = '13': value out of range 1-12"),
        ("0 0 * * 8", "cron field 'day-of-week' = '8': value out of range 0-7"),
        ("0 0 * * funday", "cron field 'day-of-week' = 'funday': 'funday' is not a number"),
        ("*/0 * * * *", "cron field 'minute' = '*/0': step '0' must be a whole number"),
        ("*/90 * * * *", "step 90 is larger than the field's range 0-59"),
        ("30-10 * * * *", "range 30-10 runs backwards"),
        ("1,,2 * * * *", "cron field 'minute' = '1,,2': empty value"),
        ("² * * * *", "cron field 'minute' = '²'"),
        ("0 0 * *", "expected 5 fields"),
        ("0 0 0 * * *", "expected 5 fields"),
        ("@reboot", "unknown macro"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_cron_expressions_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        cron_trigger(expression, "America/Chicago")
    assert message in str(caught.value)


def test_steps_wider_than_their_range_fire_on_the_first_value() -> None:
    assert [run.strftime("%H:%M") for run in fires(schedule(cron="30/45 * * * *"), chicago(2026, 6, 1, 10, 31), 2)] == [
        "11:30",
        "12:30",
    ]
    assert [run.strftime("%d %H:%M") for run in fires(schedule(cron="0 20/6 * * *"), chicago(2026, 6, 1), 2)] == [
        "01 20:00",
        "02 20:00",
    ]


def test_cron_errors_show_control_characters_escaped() -> None:
    with pytest.raises(ScheduleError) as caught:
        cron_trigger("\x1b[2J * * * *", "America/Chicago")
    assert str(caught.value) == "cron field 'minute' = '\\x1b[2J': '\\x1b[2J' is not a number"


@pytest.mark.parametrize("expression", ["1," * 150 + "1 * * * *", "0 0 * * " + "-" * 1000])
def test_overlong_cron_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        cron_trigger(expression, "America/Chicago")
    assert str(caught.value) == (
        f"cron expression is {len(expression)} characters long; write it in at most {MAX_CRON_LENGTH} "
        "(use ranges and steps)"
    )
    with pytest.raises(ScheduleError, match="cron field 'second' is 301 characters long"):
        schedule(second="1," * 150 + "1")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd", "America"])
def test_bad_timezone_is_named(zone: str) -> None:
    with pytest.raises(ScheduleError, match=r"timezone .*unknown time zone; use an IANA name"):
        schedule(timezone=zone)


def test_build_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.build(name="Nightly Run", cron="0 25 * * *", timezone="Nowhere/City", queue="fax", colour="red")
    message = str(caught.value)
    parts = ("schedule name 'Nightly Run'", "cron field 'hour'", "timezone 'Nowhere/City'", "queue 'fax'", "colour")
    for part in parts:
        assert part in message


def test_schedule_timezone_defaults_to_settings() -> None:
    assert Schedule.build(name="x", cron="0 2 * * *", queue="webhooks").timezone == "America/Chicago"


# --- DST around 2026-03-08 (spring forward) and 2026-11-01 (fall back), America/Chicago ---------------------

DEFAULTS = {sched.name: sched for sched in default_schedules()}


@pytest.mark.parametrize(
    ("name", "start", "expected_utc"),
    [
        # daily 02:00: 02:00 does not exist on 2026-03-08, so it fires once at 03:00 CDT = 08:00 UTC
        ("production-data-validation", chicago(2026, 3, 7, 12, 0), [utc(2026, 3, 8, 8, 0), utc(2026, 3, 9, 7, 0)]),
        # ... and on fall-back day 02:00 CST happens once (after the repeated 01:00 hour): 08:00 UTC
        ("production-data-validation", chicago(2026, 10, 31, 12, 0), [utc(2026, 11, 1, 8, 0), utc(2026, 11, 2, 8, 0)]),
        ("permit-expiration-check", chicago(2026, 3, 7, 0, 0), [utc(2026, 3, 7, 15, 0), utc(2026, 3, 8, 14, 0)]),
        ("permit-expiration-check", chicago(2026, 10, 31, 0, 0), [utc(2026, 10, 31, 14, 0), utc(2026, 11, 1, 15, 0)]),
        # Sunday 06:00: both switch days are Sundays
        ("compliance-report", chicago(2026, 3, 1, 0, 0), [utc(2026, 3, 1, 12, 0), utc(2026, 3, 8, 11, 0)]),
        ("compliance-report", chicago(2026, 10, 25, 0, 0), [utc(2026, 10, 25, 11, 0), utc(2026, 11, 1, 12, 0)]),
        # monthly, the 1st at 08:00
        ("production-summary-report", chicago(2026, 2, 15, 0, 0), [utc(2026, 3, 1, 14, 0), utc(2026, 4, 1, 13, 0)]),
        ("production-summary-report", chicago(2026, 9, 15, 0, 0), [utc(2026, 10, 1, 13, 0), utc(2026, 11, 1, 14, 0)]),
    ],
)
def test_default_schedules_across_dst(name: str, start: datetime, expected_utc: list[datetime]) -> None:
    runs = fires(DEFAULTS[name], start, len(expected_utc))
    assert [run.astimezone(UTC) for run in runs] == expected_utc
    assert all(run.tzinfo == CHICAGO for run in runs)


def test_spring_forward_fire_is_reported_as_the_real_local_time() -> None:
    (run,) = fires(DEFAULTS["production-data-validation"], chicago(2026, 3, 7, 12, 0), 1)
    assert run.strftime("%Y-%m-%d %H:%M %Z") == "2026-03-08 03:00 CDT"
    job_id = fire_job_id(DEFAULTS["production-data-validation"], run)
    assert job_id == "cron:production-data-validation:2026-03-08T03:00"


def test_fall_back_double_fire_of_a_0130_job_maps_to_one_job_id() -> None:
    nightly = schedule(cron="30 1 * * *")
    first, second, next_day = fires(nightly, chicago(2026, 10, 31, 12, 0), 3)
    # APScheduler really does fire twice, an hour apart ...
    assert (first.astimezone(UTC), second.astimezone(UTC)) == (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 7, 30))
    # ... but both fires share the local wall-clock id, so the idempotent enqueue refuses the second.
    assert fire_job_id(nightly, first) == fire_job_id(nightly, second) == "cron:nightly:2026-11-01T01:30"
    assert fire_job_id(nightly, next_day) == "cron:nightly:2026-11-02T01:30"


def test_hourly_schedules_run_in_both_copies_of_the_repeated_hour() -> None:
    hourly = schedule(name="hourly", cron="30 * * * *")
    runs = fires(hourly, chicago(2026, 11, 1, 0, 45), 3)
    assert [fire_job_id(hourly, run) for run in runs] == [
        "cron:hourly:2026-11-01T01:30",
        "cron:hourly:2026-11-01T01:30-06:00",
        "cron:hourly:2026-11-01T02:30",
    ]


def test_a_job_in_the_skipped_hour_runs_once_at_the_shifted_time() -> None:
    # 2026-03-08: 02:00 CST becomes 03:00 CDT. 02:30 is read with the old offset: 08:30 UTC = 03:30 CDT.
    half_past = schedule(cron="30 2 * * *")
    expected = [chicago(2026, 3, 8, 3, 30), chicago(2026, 3, 9, 2, 30)]
    assert fires(half_past, chicago(2026, 3, 7, 12, 0), 2) == expected
    assert fires(half_past, chicago(2026, 3, 8, 3, 10), 2) == expected  # also when asked after the change
    # Several matches in the skipped hour still make one run, at the first one's shifted time.
    quarterly = schedule(cron="*/15 2 * * *")
    assert fires(quarterly, chicago(2026, 3, 7, 12, 0), 3) == [
        chicago(2026, 3, 8, 3, 0),
        chicago(2026, 3, 9, 2, 0),
        chicago(2026, 3, 9, 2, 15),
    ]
    # A schedule that runs every hour loses nothing real: 01:45 CST, then 03:00 CDT onwards.
    every_quarter = schedule(cron="*/15 * * * *")
    assert [run.strftime("%H:%M %Z") for run in fires(every_quarter, chicago(2026, 3, 8, 1, 40), 3)] == [
        "01:45 CST",
        "03:00 CDT",
        "03:15 CDT",
    ]


@pytest.mark.parametrize(
    ("cron", "start", "expected"),
    [
        # APScheduler 3.11's own CronTrigger skips the first run after the spring-forward change (upstream #529/#606).
        ("0 0 * * *", chicago(2024, 3, 10, 0, 0, 1), chicago(2024, 3, 11, 0, 0)),
        ("@monthly", chicago(2024, 3, 2, 0, 0), chicago(2024, 4, 1, 0, 0)),
        ("15 0 * * 1-5", chicago(2024, 3, 8, 12, 0), chicago(2024, 3, 11, 0, 15)),
        ("0 8 1 * *", chicago(2024, 3, 1, 9, 0), chicago(2024, 4, 1, 8, 0)),
    ],
)
def test_no_run_is_skipped_after_the_spring_forward_change(cron: str, start: datetime, expected: datetime) -> None:
    assert fires(schedule(cron=cron), start, 1) == [expected]


# A brute-force reference for DST weeks: every UTC minute whose local wall time matches fires, and each
# spring-forward gap owes one run: its first matching wall minute, read with the offset before the change.


def _cron_values(text: str, low: int, high: int) -> set[int]:
    """Numeric crontab lists of `*`, `n`, `a-b`, each with an optional `/step` (enough for the schedules below)."""
    values: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        first, last = (low, high) if base == "*" else (int(base.split("-")[0]), int(base.split("-")[-1]))
        values.update(range(first, last + 1, int(step or 1)))
    return values


def _wall_matcher(expression: str):
    minute, hour, dom, month, dow = {"@monthly": "0 0 1 * *"}.get(expression, expression).split()
    minutes, hours, days, months = (
        _cron_values(minute, 0, 59),
        _cron_values(hour, 0, 23),
        _cron_values(dom, 1, 31),
        _cron_values(month, 1, 12),
    )
    weekdays = {day % 7 for day in _cron_values(dow, 0, 7)}
    either = not dom.startswith("*") and not dow.startswith("*")

    def matches(wall: datetime) -> bool:
        if wall.minute not in minutes or wall.hour not in hours or wall.month not in months:
            return False
        on_day, on_weekday = wall.day in days, (wall.weekday() + 1) % 7 in weekdays
        return on_day or on_weekday if either else on_day and on_weekday

    return matches


# America/Chicago changes: second Sunday of March 02:00 CST (08:00 UTC), first Sunday of November 02:00 CDT (07:00 UTC).
CHICAGO_CHANGES = [
    utc(2024, 3, 10, 8),
    utc(2024, 11, 3, 7),
    utc(2025, 3, 9, 8),
    utc(2025, 11, 2, 7),
    utc(2026, 3, 8, 8),
    utc(2026, 11, 1, 7),
    utc(2027, 3, 14, 8),
    utc(2027, 11, 7, 7),
]
REFERENCE_SPAN = (timedelta(days=3), timedelta(days=4))  # the DST week around each change


@functools.cache
def _week_minutes(change: datetime) -> tuple[list[tuple[datetime, datetime]], list[datetime]]:
    """(instant, wall) for every UTC minute of the week plus a day, and the wall minutes that do not exist."""
    begin, end = change - REFERENCE_SPAN[0], change + REFERENCE_SPAN[1] + timedelta(days=1)
    instants = [begin + timedelta(minutes=n) for n in range(int((end - begin) / timedelta(minutes=1)))]
    real = [(instant, instant.astimezone(CHICAGO).replace(tzinfo=None)) for instant in instants]
    first_wall, last_wall = real[0][1], real[-1][1]
    walls = [first_wall + timedelta(minutes=n) for n in range(int((last_wall - first_wall) / timedelta(minutes=1)))]
    missing = [
        wall
        for wall in walls
        if wall.replace(tzinfo=CHICAGO).astimezone(UTC).astimezone(CHICAGO).replace(tzinfo=None) != wall
    ]
    return real, missing


def reference_fires(expression: str, change: datetime) -> list[datetime]:
    matches = _wall_matcher(expression)
    real, missing = _week_minutes(change)
    runs = {instant for instant, wall in real if matches(wall)}
    owed = next((wall for wall in missing if matches(wall)), None)  # one gap per change at most
    if owed is not None:
        runs.add(owed.replace(tzinfo=CHICAGO, fold=0).astimezone(UTC))
    return sorted(runs)


def test_the_reference_sees_the_gap_and_the_repeat() -> None:
    assert _offset_hours(CHICAGO_CHANGES[0] - timedelta(seconds=1)) == -6 and _offset_hours(CHICAGO_CHANGES[0]) == -5
    assert _offset_hours(CHICAGO_CHANGES[1] - timedelta(seconds=1)) == -5 and _offset_hours(CHICAGO_CHANGES[1]) == -6
    assert len(_week_minutes(CHICAGO_CHANGES[0])[1]) == 60 and not _week_minutes(CHICAGO_CHANGES[1])[1]
    assert reference_fires("30 2 * * *", CHICAGO_CHANGES[0])[:4] == [
        utc(2024, 3, 7, 8, 30),
        utc(2024, 3, 8, 8, 30),
        utc(2024, 3, 9, 8, 30),
        utc(2024, 3, 10, 8, 30),
    ]
    assert reference_fires("30 1 * * *", CHICAGO_CHANGES[1])[1:4] == [
        utc(2024, 11, 2, 6, 30),
        utc(2024, 11, 3, 6, 30),
        utc(2024, 11, 3, 7, 30),
    ]


def _offset_hours(instant: datetime) -> float:
    return instant.astimezone(CHICAGO).utcoffset().total_seconds() / 3600


@pytest.mark.parametrize(
    "cron",
    [
        *(sched.cron for sched in default_schedules()),
        "0 0 * * *",
        "30 1 * * *",
        "*/15 * * * *",
        "@monthly",
        "15 0 * * 1-5",
        "30 2 * * *",
        "0 8 13 * 5",
    ],
)
def test_dst_weeks_2024_to_2027_match_the_minute_by_minute_reference(cron: str) -> None:
    sched = schedule(cron=cron)
    trigger, matches = sched.trigger(), _wall_matcher(cron)
    for change in CHICAGO_CHANGES:
        runs = reference_fires(cron, change)
        week_start, week_end = change - REFERENCE_SPAN[0], change + REFERENCE_SPAN[1]
        # Past the reference minutes, the next run is the one found from their end: nothing skipped on the way.
        beyond = trigger.get_next_fire_time(None, _week_minutes(change)[0][-1][0] + timedelta(minutes=1))
        assert matches(beyond.replace(tzinfo=None))
        beyond = beyond.astimezone(UTC)
        # Asked "what next?" at many instants of the week, densely around the change ...
        starts = [week_start + timedelta(minutes=n) for n in range(0, 7 * 1440, 7)]
        starts += [change + timedelta(minutes=n, seconds=30) for n in range(-120, 120)]
        for start in starts:
            at = bisect.bisect_left(runs, start)
            expected = runs[at] if at < len(runs) else beyond
            # In UTC: PEP 495 makes a time in the repeated hour unequal to every time in another zone.
            assert trigger.get_next_fire_time(None, start).astimezone(UTC) == expected, f"{cron!r} from {start}"
        # ... and chained fire after fire, as APScheduler runs it.
        chain, previous = [], None
        while (run := trigger.get_next_fire_time(previous, previous or week_start)) < week_end:
            chain.append(run.astimezone(UTC))
            previous = run
        assert chain == [run for run in runs if run < week_end], f"{cron!r} in the week of {change}"


def test_fire_job_id_includes_seconds_only_for_second_level_schedules() -> None:
    assert fire_job_id(schedule(second="*/5"), utc(2026, 6, 1, 7, 0, 5)) == "cron:nightly:2026-06-01T02:00:05"


def test_fire_and_manual_ids_are_valid_job_ids() -> None:
    try:
        from wellqueue_tui.jobs.options import JOB_ID_PATTERN
    except ImportError as exc:
        pytest.skip(f"job options not importable yet: {exc}")
    longest = schedule(name="n" * 64, cron="30 * * * *", second="*/5")
    folded = next_fire_times(longest, chicago(2026, 11, 1, 1, 59), 1)[0]  # 01:00:00 CST, the repeated hour
    assert fire_job_id(longest, folded) == f"cron:{'n' * 64}:2026-11-01T01:30:00-06:00"
    for job_id in (fire_job_id(longest, folded), f"manual:{'n' * 64}:1780315200123"):
        assert JOB_ID_PATTERN.match(job_id), job_id


# --- payload templates -----------------------------------------------------------------------------------


def test_render_payload_fills_every_placeholder_recursively() -> None:
    template = {
        "when": "{{fire_time}}",
        "dates": ["{{today}}", "{{yesterday}}", "{{days_ago:7}}", "{{ days_ago:0 }}"],
        "month": {"start": "{{month_start}}", "prev": ["{{prev_month_start}}", "{{prev_month_end}}"]},
        "subject": "Report for {{yesterday}} (sent {{today}})",
        "count": 3,
        "flag": True,
        "none": None,
    }
    rendered = render_payload(template, "America/Chicago", utc(2026, 3, 1, 14, 0))  # 08:00 CST
    assert rendered == {
        "when": "2026-03-01T08:00:00-06:00",
        "dates": ["2026-03-01", "2026-02-28", "2026-02-22", "2026-03-01"],
        "month": {"start": "2026-03-01", "prev": ["2026-02-01", "2026-02-28"]},
        "subject": "Report for 2026-02-28 (sent 2026-03-01)",
        "count": 3,
        "flag": True,
        "none": None,
    }


def test_render_payload_uses_the_schedule_time_zone_for_dates() -> None:
    at = utc(2026, 3, 1, 3, 0)  # still 2026-02-28 21:00 in Chicago
    assert render_payload({"d": "{{today}}"}, "America/Chicago", at) == {"d": "2026-02-28"}
    assert render_payload({"d": "{{today}}"}, "UTC", at) == {"d": "2026-03-01"}


def test_default_payloads_render_at_their_fire_times() -> None:
    summary = DEFAULTS["production-summary-report"]
    assert render_payload(summary.payload, summary.timezone, utc(2026, 1, 1, 14, 0))["dateRange"] == {
        "start": "2025-12-01",
        "end": "2025-12-31",
    }
    weekly = DEFAULTS["compliance-report"]
    assert render_payload(weekly.payload, weekly.timezone, utc(2026, 11, 1, 12, 0))["dateRange"] == {
        "start": "2026-10-25",
        "end": "2026-10-31",
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{tomorrow}}", "payload placeholder {{tomorrow}}: unknown"),
        ("{{days_ago:x}}", "days_ago needs a whole number"),
        ("{{days_ago}}", "days_ago needs a whole number"),
        ("{{today:3}}", "payload placeholder {{today:3}}: unknown"),
    ],
)
def test_bad_placeholders_are_refused_when_the_schedule_is_built(template: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule(payload={"nested": [{"value": template}]})
    assert message in str(caught.value)


def test_deeply_nested_payloads_are_refused() -> None:
    payload: dict = {"leaf": "{{today}}"}
    for _ in range(49):
        payload = {"a": payload}
    assert schedule(payload=payload).payload == payload  # 50 levels are fine
    for deeper in ({"a": payload}, {"a": [payload]}, {"a": _nested_list(5000)}):
        with pytest.raises(ScheduleError, match="payload is nested deeper than 50 levels of objects and lists"):
            schedule(payload=deeper)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"a": {1: "x"}}, "payload.a: key '1' is not text; JSON keys are text"),
        ({"a": [1, b"raw"]}, "payload.a[1]: bytes values are not JSON; use text, numbers, true/false, null"),
        ({"a": {"b": float("nan")}}, "payload.a.b: nan is not a JSON number; use a finite number or null"),
        ({"n": 10**30}, "payload.n: a number of 100 bits; use at most 64 bits"),
        ({"s": "bad \ud800"}, "payload.s: text with a lone surrogate (\\ud800) cannot be stored; use valid Unicode"),
        ({"\x1b[2J": {(1, 2): 3}}, "payload.\\x1b[2J: key '(1, 2)' is not text"),
    ],
)
def test_payloads_must_be_plain_json(payload: dict, message: str) -> None:
    """Anything JSON would change or refuse on the way into Redis is refused when the schedule is built."""
    with pytest.raises(ScheduleError) as caught:
        schedule(payload=payload)
    assert message in str(caught.value)


def test_untrusted_text_in_errors_is_escaped_and_bounded() -> None:
    cases = [
        ({"name": "\x1b]0;x\x07" * 1000}, "schedule name '\\x1b]0;x\\x07"),
        ({"queue": "\x9b31m"}, "queue '\\x9b31m': unknown"),
        ({"timezone": "Zone/" + "x" * 10_000}, "timezone 'Zone/xxx"),
        ({"payload": {"a": "{{\x1b[2J}}"}}, "payload placeholder {{\\x1b[2J}}: unknown"),
    ]
    for fields, start in cases:
        with pytest.raises(ScheduleError) as caught:
            schedule(**fields)
        message = str(caught.value)
        assert start in message and len(message) < 400 and message.isprintable(), message


def _nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_default_payloads_match_their_queue_models() -> None:
    try:
        from wellqueue_tui.jobs.kind import all_kinds

        all_kinds()
    except ImportError as exc:
        pytest.skip(f"job kinds not importable yet: {exc}")
    for sched in default_schedules():
        assert check_payload(sched, utc(2026, 3, 1, 14, 0)) is True


# --- the store -------------------------------------------------------------------------------------------


@pytest.fixture
def store(fake_redis) -> ScheduleStore:
    return ScheduleStore(fake_redis, KEYS)


def test_crud_round_trip(store: ScheduleStore, fake_redis) -> None:
    nightly = schedule(payload={"url": "https://example.com/hook", "day": "{{yesterday}}"}, description="nightly ping")
    store.add(nightly)
    assert store.get("nightly") == nightly
    stored = json.loads(fake_redis.hget(KEYS.schedules, "nightly"))  # JSON, never pickle
    assert stored["cron"] == "0 2 * * *" and stored["payload"]["day"] == "{{yesterday}}" and "second" not in stored

    store.add(schedule(name="another", cron="0 6 * * 1-5"))
    assert [sched.name for sched in store.list()] == ["another", "nightly"]

    with pytest.raises(ScheduleError, match="already exists"):
        store.add(schedule())

    updated = store.update("nightly", cron="15 3 * * *", timezone="UTC")
    assert (updated.cron, updated.timezone, updated.payload) == ("15 3 * * *", "UTC", nightly.payload)
    assert store.get("nightly") == updated

    assert store.set_enabled("nightly", False).enabled is False
    assert store.get("nightly").enabled is False

    store.remove("nightly")
    assert store.get("nightly") is None
    assert [sched.name for sched in store.list()] == ["another"]


def test_update_validates_the_whole_schedule_and_keeps_the_old_one_on_error(store: ScheduleStore) -> None:
    store.add(schedule())
    with pytest.raises(ScheduleError, match="cron field 'hour' = '24'"):
        store.update("nightly", cron="0 24 * * *")
    with pytest.raises(ScheduleError, match="cannot change name"):
        store.update("nightly", name="renamed")
    assert store.get("nightly") == schedule()


def test_missing_schedules_are_named(store: ScheduleStore) -> None:
    for call in (
        lambda: store.update("ghost", enabled=False),
        lambda: store.remove("ghost"),
        lambda: store.require("ghost"),
    ):
        with pytest.raises(ScheduleNotFound, match="no schedule named 'ghost'"):
            call()


def test_an_unreadable_entry_is_skipped_by_list(store: ScheduleStore, fake_redis) -> None:
    store.add(schedule())
    fake_redis.hset(KEYS.schedules, "broken", '{"name": "broken"}')
    assert [sched.name for sched in store.list()] == ["nightly"]
    with pytest.raises(ScheduleError, match="'broken' is stored in an unreadable form"):
        store.get("broken")


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b"\xff\xfe", b"[" * 100_000, b'{"last_job_id": 5}'])
def test_unreadable_fire_state_counts_as_never_fired(store: ScheduleStore, fake_redis, caplog, raw: bytes) -> None:
    store.add(schedule())
    fake_redis.hset(KEYS.schedule_state, "nightly", raw)
    fake_redis.hset(KEYS.schedule_state, b"\xff\x1b", raw)
    with caplog.at_level(logging.WARNING, logger="wellqueue_tui.workers.schedules"):
        assert store.state("nightly") == ScheduleState()
        assert store.states() == {"nightly": ScheduleState(), "\\xff\x1b": ScheduleState()}
        (row,) = store.overview(chicago(2026, 6, 1))
    assert (row.name, row.last_fire_utc, row.last_job_id) == ("nightly", None, None)
    assert "fire state of schedule 'nightly' in wq:schedules:state is unreadable" in caplog.text
    store.record_fire("nightly", utc(2026, 6, 1, 7, 0), "cron:nightly:2026-06-01T02:00")
    assert store.state("nightly").last_job_id == "cron:nightly:2026-06-01T02:00"  # the next fire overwrites it


def test_updating_an_unreadable_entry_is_a_schedule_error(store: ScheduleStore, fake_redis) -> None:
    fake_redis.hset(KEYS.schedules, "broken", b"[" * 100_000)
    with pytest.raises(ScheduleError, match=r"'broken' is stored in an unreadable form .*; remove it"):
        store.update("broken", enabled=False)
    fake_redis.hset(
        KEYS.schedules,
        "odd",
        json.dumps({"name": "odd", "cron": "* * * * *", "queue": "webhooks", "\x1b]0;title\x07": 1}),
    )
    with pytest.raises(ScheduleError) as caught:
        store.get("odd")
    assert "\x1b" not in str(caught.value) and "\\x1b]0;title\\x07: Extra inputs are not permitted" in str(caught.value)


def test_every_change_is_published(store: ScheduleStore, fake_redis) -> None:
    pubsub = fake_redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(KEYS.schedules_changed)
    pubsub.get_message(timeout=0.1)
    store.add(schedule())
    store.update("nightly", cron="0 3 * * *")
    store.set_enabled("nightly", False)
    store.remove("nightly")
    notices = []
    while (message := pubsub.get_message(timeout=0.1)) is not None:
        notices.append(message["data"])
    assert notices == [b"nightly"] * 4


def test_fire_state_is_kept_apart_and_removed_with_the_schedule(store: ScheduleStore, fake_redis) -> None:
    store.add(schedule())
    assert store.state("nightly").last_fire_utc is None
    store.record_fire("nightly", chicago(2026, 3, 8, 3, 0), "cron:nightly:2026-03-08T03:00")
    state = store.state("nightly")
    assert state.last_fire_utc == utc(2026, 3, 8, 8, 0)
    assert (state.last_job_id, state.last_error) == ("cron:nightly:2026-03-08T03:00", None)
    store.update("nightly", cron="0 4 * * *")
    assert store.state("nightly") == state
    store.record_fire("nightly", utc(2026, 3, 9, 9, 0), "cron:nightly:2026-03-09T04:00", error="EnqueueError: boom")
    assert store.states()["nightly"].last_error == "EnqueueError: boom"
    store.remove("nightly")
    assert fake_redis.hget(KEYS.schedule_state, "nightly") is None


def test_overview_shows_next_run_in_both_zones(store: ScheduleStore) -> None:
    store.add(schedule())
    store.add(schedule(name="paused", enabled=False))
    store.record_fire("nightly", utc(2026, 3, 7, 8, 0), "cron:nightly:2026-03-07T02:00")
    rows = {row.name: row for row in store.overview(chicago(2026, 3, 7, 12, 0))}
    assert rows["nightly"].next_run == chicago(2026, 3, 8, 3, 0)
    assert rows["nightly"].next_run.utcoffset().total_seconds() == -5 * 3600
    assert rows["nightly"].next_run_utc == utc(2026, 3, 8, 8, 0)
    assert rows["nightly"].last_job_id == "cron:nightly:2026-03-07T02:00"
    assert (rows["paused"].next_run, rows["paused"].enabled) == (None, False)


def test_defaults_are_installed_once_and_not_brought_back(store: ScheduleStore, fake_redis) -> None:
    assert store.install_defaults() == [sched.name for sched in default_schedules()]
    assert {sched.name for sched in store.list()} == set(DEFAULTS)
    assert all(sched.timezone == "America/Chicago" for sched in store.list())
    store.remove("compliance-report")
    assert store.install_defaults() == []
    assert "compliance-report" not in {sched.name for sched in store.list()}
    fake_redis.delete(KEYS.schedules)
    assert store.install_defaults() == []  # the marker remembers, even with an empty store


def test_defaults_are_not_installed_over_existing_schedules(store: ScheduleStore, fake_redis) -> None:
    store.add(schedule())
    assert store.install_defaults() == []
    assert [sched.name for sched in store.list()] == ["nightly"]
    assert fake_redis.exists(KEYS.schedules_installed)


# --- the `schedules` command -----------------------------------------------------------------------------


class RecordingEnqueue:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, str]] = []

    def __call__(self, queue: str, payload: dict, *, job_id: str) -> str:
        self.calls.append((queue, payload, job_id))
        return job_id


def run_cli(argv: list[str], client, enqueue=None) -> int:
    parser = argparse.ArgumentParser(prog="wellqueue")
    add_schedule_parser(parser.add_subparsers(dest="command"))
    return run_schedules_command(parser.parse_args(argv), ScheduleStore(client, KEYS), enqueue or RecordingEnqueue())


def test_cli_add_list_pause_resume_remove(fake_redis, capsys, tmp_path) -> None:
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps({"url": "https://example.com/hook", "event": "tick", "data": {}}))
    assert (
        run_cli(
            [
                "schedules",
                "add",
                "ping",
                "--cron",
                "*/15 * * * *",
                "--queue",
                "webhooks",
                "--data",
                f"@{payload_file}",
                "--tz",
                "UTC",
                "--description",
                "ping",
            ],
            fake_redis,
        )
        == 0
    )
    assert "added schedule ping; next run" in capsys.readouterr().out

    assert run_cli(["schedules"], fake_redis) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["NAME", "CRON", "TZ", "QUEUE"]
    assert table[1].startswith("ping") and "*/15 * * * *" in table[1] and "UTC" in table[1] and "yes" in table[1]

    assert run_cli(["schedules", "pause", "ping"], fake_redis) == 0
    assert run_cli(["schedules", "list", "--json"], fake_redis) == 0
    output = capsys.readouterr().out
    (row,) = json.loads(output[output.index("[") :])
    assert (row["name"], row["enabled"], row["next_run"]) == ("ping", False, None)

    assert run_cli(["schedules", "resume", "ping"], fake_redis) == 0
    assert ScheduleStore(fake_redis, KEYS).get("ping").enabled is True
    assert run_cli(["schedules", "remove", "ping"], fake_redis) == 0
    assert ScheduleStore(fake_redis, KEYS).list() == []


def test_cli_update_changes_only_what_is_given(fake_redis, capsys) -> None:
    ScheduleStore(fake_redis, KEYS).add(schedule(payload={"url": "https://example.com/a", "event": "x", "data": {}}))
    assert run_cli(["schedules", "update", "nightly", "--cron", "0 6 * * 1-5", "--tz", "UTC"], fake_redis) == 0
    updated = ScheduleStore(fake_redis, KEYS).get("nightly")
    assert (updated.cron, updated.timezone, updated.queue) == ("0 6 * * 1-5", "UTC", "webhooks")
    assert updated.payload == {"url": "https://example.com/a", "event": "x", "data": {}}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "x", "--cron", "0 25 * * *", "--queue", "webhooks", "--data", "{}"], "cron field 'hour' = '25'"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "{nope"], "--data: not valid JSON"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "[1]"], "must be a JSON object"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "@/nonexistent.json"], "cannot read"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "{}", "--tz", "Moon/Base"], "timezone"),
        (["update", "x"], "nothing to change"),
        (["update", "ghost", "--cron", "0 3 * * *"], "no schedule named 'ghost'"),
        (["remove", "ghost"], "no schedule named 'ghost'"),
        (["pause", "ghost"], "no schedule named 'ghost'"),
        (["run-now", "ghost"], "no schedule named 'ghost'"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(fake_redis, capsys, argv: list[str], message: str) -> None:
    assert run_cli(["schedules", *argv], fake_redis) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_cli_add_refuses_a_payload_the_queue_model_rejects(fake_redis, capsys) -> None:
    try:
        from wellqueue_tui.jobs.kind import all_kinds

        all_kinds()
    except ImportError as exc:
        pytest.skip(f"job kinds not importable yet: {exc}")
    assert (
        run_cli(
            [
                "schedules",
                "add",
                "x",
                "--cron",
                "0 2 * * *",
                "--queue",
                "report-generation",
                "--data",
                '{"reportType": 5}',
            ],
            fake_redis,
        )
        == 2
    )
    assert "payload for queue 'report-generation' is not valid" in capsys.readouterr().err
    assert ScheduleStore(fake_redis, KEYS).get("x") is None


def test_cli_run_now_enqueues_with_a_manual_id(fake_redis, capsys) -> None:
    ScheduleStore(fake_redis, KEYS).add(schedule(payload={"day": "{{today}}"}, enabled=False))
    enqueue = RecordingEnqueue()
    assert run_cli(["schedules", "run-now", "nightly"], fake_redis, enqueue) == 0
    ((queue, payload, job_id),) = enqueue.calls
    assert queue == "webhooks" and job_id.startswith("manual:nightly:") and job_id.split(":")[2].isdigit()
    assert payload["day"] == datetime.now(CHICAGO).date().isoformat()
    assert f"enqueued {job_id}" in capsys.readouterr().out
    assert ScheduleStore(fake_redis, KEYS).state("nightly").last_job_id == job_id


# --- tenant scope (issue 15) -------------------------------------------------------------------------------


def test_a_schedule_belongs_to_its_payloads_organization(fake_redis) -> None:
    assert schedule(payload={"organizationId": "acme", "event": "x"}).org == "acme"
    assert schedule(payload={"event": "x"}).org is None
    store = ScheduleStore(fake_redis, KEYS)
    store.add(schedule(payload={"organizationId": "acme"}))
    assert [row.org for row in store.overview(datetime.now(CHICAGO))] == ["acme"]


def test_an_org_store_sees_and_changes_only_its_own_schedules(fake_redis) -> None:
    everyone = ScheduleStore(fake_redis, KEYS)
    everyone.add(schedule(name="acme-night", payload={"organizationId": "acme"}))
    everyone.add(schedule(name="globex-night", payload={"organizationId": "globex"}))
    everyone.add(schedule(name="shared", payload={}))
    acme = ScheduleStore(fake_redis, KEYS, org="acme")
    assert [s.name for s in acme.list()] == ["acme-night"]
    assert acme.get("globex-night") is None and acme.get("shared") is None
    for change in (
        lambda: acme.remove("globex-night"),
        lambda: acme.set_enabled("globex-night", False),
        lambda: acme.update("globex-night", cron="0 3 * * *"),
        lambda: acme.require("shared"),
    ):
        with pytest.raises(ScheduleNotFound, match="no schedule named"):
            change()
    assert everyone.get("globex-night").enabled and everyone.get("globex-night").cron == "0 2 * * *"
    with pytest.raises(ScheduleError, match="organizationId: must be 'acme'"):
        acme.add(schedule(name="sneaky", payload={"organizationId": "globex"}))
    with pytest.raises(ScheduleError, match="organizationId: must be 'acme'"):
        acme.update("acme-night", payload={"organizationId": "globex"})
    assert everyone.get("sneaky") is None and everyone.get("acme-night").org == "acme"
    acme.remove("acme-night")
    assert [s.name for s in everyone.list()] == ["globex-night", "shared"]


def test_cli_run_now_of_another_orgs_schedule_is_not_found(fake_redis, capsys) -> None:
    ScheduleStore(fake_redis, KEYS).add(schedule(payload={"organizationId": "globex"}))
    parser = argparse.ArgumentParser(prog="wellqueue")
    add_schedule_parser(parser.add_subparsers(dest="command"))
    enqueue = RecordingEnqueue()
    assert (
        run_schedules_command(
            parser.parse_args(["schedules", "run-now", "nightly"]), ScheduleStore(fake_redis, KEYS, org="acme"), enqueue
        )
        == 2
    )
    assert "no schedule named 'nightly'" in capsys.readouterr().err and enqueue.calls == []
