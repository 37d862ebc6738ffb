"""Crontab translation against a reference matcher, junk cron text and schedules, and human durations.

The reference is the crontab(5) rule written out plainly: a minute fires when minute, hour and month
match and the day matches, where the day is day-of-month AND day-of-week, except that when both are
restricted (neither starts with `*`) either one is enough. 0 and 7 are Sunday.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wellqueue_tui.durations import MAX_DURATION, DurationError, parse_duration
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.workers.crontab import cron_trigger, parse_crontab
from wellqueue_tui.workers.schedules import (
    Schedule,
    ScheduleError,
    ScheduleStore,
    next_fire_times,
)

from .conftest import forbidden_in, fuzz_settings, ran

pytestmark = pytest.mark.security

ZONE_NAME = "America/Chicago"
ZONE = ZoneInfo(ZONE_NAME)
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SEARCH_DAYS = 8 * 366  # a Feb 29 on a given weekday can be years away


# --- the reference crontab matcher ---------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0  # the number of the first name


MINUTE, HOUR, DOM = FieldRule(0, 59), FieldRule(0, 23), FieldRule(1, 31)
MONTH = FieldRule(1, 12, MONTH_NAMES, 1)
DOW = FieldRule(0, 7, DAY_NAMES, 0)


def number(rule: FieldRule, token: str) -> int:
    lowered = token.lower()
    if lowered in rule.names:
        return rule.names.index(lowered) + rule.name_base
    return int(token)


def expand(rule: FieldRule, text: str) -> set[int]:
    """crontab(5): lists of `*`, `n`, `a-b`, each with an optional `/step`; `a/step` runs to the field's end."""
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = rule.low, rule.high
        elif "-" in base:
            a, b = base.split("-")
            first, last = number(rule, a), number(rule, b)
        else:
            first = number(rule, base)
            last = rule.high if step_text else first
        values.update(range(first, last + 1, step))
    return values


@dataclass(frozen=True)
class Reference:
    minutes: set[int]
    hours: set[int]
    days: set[int]
    months: set[int]
    weekdays: set[int]  # 0 = Sunday
    either_day: bool

    @classmethod
    def parse(cls, expression: str) -> Reference:
        text = MACROS.get(expression.strip().lower(), expression)
        minute, hour, dom, month, dow = text.split()
        return cls(
            expand(MINUTE, minute),
            expand(HOUR, hour),
            expand(DOM, dom),
            expand(MONTH, month),
            {day % 7 for day in expand(DOW, dow)},
            not dom.startswith("*") and not dow.startswith("*"),
        )

    def day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.days
        dow_ok = (day.weekday() + 1) % 7 in self.weekdays  # Python: Monday = 0
        return dom_ok or dow_ok if self.either_day else dom_ok and dow_ok

    def next_fire(self, start: dt.datetime) -> dt.datetime | None:
        """The first local wall time at or after `start` that matches; None if none within SEARCH_DAYS.

        Raises Unsure when the answer falls on a day whose UTC offset changes (DST), where crontab
        implementations legitimately differ."""
        local = start.astimezone(ZONE)
        for offset in range(SEARCH_DAYS):
            day = local.date() + dt.timedelta(days=offset)
            if not self.day_matches(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    wall = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)
                    if wall < local:
                        continue
                    if _offset_changes(day):
                        raise Unsure(day)
                    return wall
        return None


class Unsure(Exception):
    pass


def _offset_changes(day: dt.date) -> bool:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=ZONE)
    end = start + dt.timedelta(hours=23, minutes=59)
    return start.utcoffset() != end.utcoffset()


def reference_next(expression: str, start: dt.datetime) -> dt.datetime | None:
    try:
        return Reference.parse(expression).next_fire(start)
    except Unsure:
        assume(False)
        raise AssertionError("unreachable") from None


# --- a grammar of valid crontab pieces -----------------------------------------------------------------


@st.composite
def field_item(draw, rule: FieldRule, names: bool = False) -> str:
    def value() -> str:
        n = draw(st.integers(rule.low, rule.high))
        if names and rule.names and draw(st.booleans()):
            index = n - rule.name_base
            if 0 <= index < len(rule.names):
                name = rule.names[index]
                return draw(st.sampled_from([name, name.upper(), name.capitalize()]))
        return str(n)

    step = draw(st.none() | st.integers(1, rule.high - rule.low))
    suffix = f"/{step}" if step else ""
    shape = draw(st.sampled_from(["star", "value", "range", "start"]))
    if shape == "star":
        return "*" + suffix
    if shape == "value":
        return value()  # a bare value takes no step: `a/n` is the "start" shape
    if shape == "start":
        return value() + (f"/{step or 1}")
    first, last = sorted([draw(st.integers(rule.low, rule.high)), draw(st.integers(rule.low, rule.high))])
    return f"{first}-{last}{suffix}"


def cron_field(rule: FieldRule, names: bool = False) -> st.SearchStrategy[str]:
    return st.lists(field_item(rule, names), min_size=1, max_size=3).map(",".join)


# Sparse minute and hour lists keep both matchers honest about "the first minute after start".
crontabs = st.one_of(
    st.tuples(
        cron_field(MINUTE),
        cron_field(HOUR),
        cron_field(DOM),
        cron_field(MONTH, names=True),
        cron_field(DOW, names=True),
    ).map(" ".join),
    st.sampled_from(sorted(MACROS)),
)
starts = st.datetimes(
    dt.datetime(2024, 1, 1), dt.datetime(2032, 12, 31), timezones=st.just(ZONE), allow_imaginary=False
)


@fuzz_settings()
@given(expression=crontabs, instants=st.lists(starts, min_size=1, max_size=3))
def test_valid_crontabs_fire_when_the_reference_matcher_says(expression: str, instants: list[dt.datetime]) -> None:
    ran("cron translation vs reference")
    parse_crontab(expression)  # the translation itself never refuses a valid expression
    try:
        trigger = cron_trigger(expression, ZONE_NAME)
    except ScheduleError as exc:
        assert "never fires" in str(exc), str(exc)
        assert reference_next(expression, dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) is None
        return
    for start in instants:
        expected = reference_next(expression, start)
        actual = trigger.get_next_fire_time(None, start)
        if expected is None:
            assert actual is None or actual > start + dt.timedelta(days=SEARCH_DAYS - 2)
            continue
        assert actual is not None, f"{expression!r} from {start}: never fires, reference says {expected}"
        assert actual.astimezone(dt.UTC) == expected.astimezone(dt.UTC), (
            f"{expression!r} from {start.isoformat()}: fires {actual.isoformat()}, reference {expected.isoformat()}"
        )


@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        # 0 and 7 are both Sunday; 2025-06-15 is a Sunday.
        ("30 9 * * 0", "2025-06-13T00:00", "2025-06-15T09:30"),
        ("30 9 * * 7", "2025-06-13T00:00", "2025-06-15T09:30"),
        ("30 9 * * sun", "2025-06-13T00:00", "2025-06-15T09:30"),
        # Both day fields restricted: the 1st OR a Monday, whichever comes first.
        ("0 8 1 * mon", "2025-06-10T12:00", "2025-06-16T08:00"),
        ("0 8 1 * mon", "2025-06-24T12:00", "2025-06-30T08:00"),
        ("0 8 1 * fri", "2025-06-28T12:00", "2025-07-01T08:00"),
        # A day-of-week `*/2` counts as a wildcard start: the rule is AND, so the 15th must also be sun/tue/thu/sat.
        ("0 8 15 * */2", "2025-06-01T00:00", "2025-06-15T08:00"),
        ("0 8 15 * */2", "2025-06-16T00:00", "2025-07-15T08:00"),
        ("@weekly", "2025-06-13T00:00", "2025-06-15T00:00"),
        # `a/n` runs from a to the end of the field: 20/6 in the hour field is 20:00 only.
        ("30/45 * * * *", "2025-06-13T10:31", "2025-06-13T11:30"),
        ("0 20/6 * * *", "2025-06-13T00:00", "2025-06-13T20:00"),
        # Midnight schedules across the spring-forward of 2024-03-10 (02:00 CST -> 03:00 CDT): no day is skipped.
        ("0 0 * * *", "2024-03-10T00:00:01", "2024-03-11T00:00"),
        ("@weekly", "2024-03-10T00:00:01", "2024-03-17T00:00"),
        ("@monthly", "2024-03-02T00:00", "2024-04-01T00:00"),
        ("15 0 * * 1-5", "2024-03-08T12:00", "2024-03-11T00:15"),
    ],
)
def test_known_crontab_answers(expression: str, start: str, expected: str) -> None:
    begin = dt.datetime.fromisoformat(start).replace(tzinfo=ZONE)
    want = dt.datetime.fromisoformat(expected).replace(tzinfo=ZONE)
    assert Reference.parse(expression).next_fire(begin) == want  # the reference agrees with the calendar
    schedule = Schedule.build(name="known", cron=expression, queue="webhooks", timezone=ZONE_NAME)
    assert next_fire_times(schedule, begin) == [want], "the scheduler's next run"


# --- junk ------------------------------------------------------------------------------------------------

cron_tokens = st.sampled_from(
    [
        "*",
        "/",
        ",",
        "-",
        "0",
        "7",
        "59",
        "60",
        "24",
        "32",
        "13",
        "99999999999999999999",
        "jan",
        "sun",
        "mon",
        "L",
        "W",
        "#",
        "?",
        "²",
        "٣",
        " ",
        "\t",
        "\x00",
        "@",
        "@daily",
    ]
)
junk_cron = st.one_of(
    st.text(max_size=60),
    st.lists(st.lists(cron_tokens, min_size=1, max_size=5).map("".join), min_size=0, max_size=7).map(" ".join),
    st.tuples(*[st.lists(cron_tokens, min_size=1, max_size=4).map("".join)] * 5).map(" ".join),
)


@fuzz_settings()
@given(expression=junk_cron, zone=st.sampled_from([ZONE_NAME, "UTC", "Mars/Olympus", "", "../../etc/passwd"]))
def test_junk_cron_text_raises_schedule_error_with_a_message(expression: str, zone: str) -> None:
    ran("cron junk")
    try:
        cron_trigger(expression, zone)
    except ScheduleError as exc:
        assert str(exc).strip()
        assert len(str(exc)) < 1000 + len(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "x" * (1 << 20),
        "1," * 500_000 + "1 * * * *",
        "* * * * " + "-" * (1 << 20),
        "0 0 " + "1-31/1," * 150_000 + "1 * *",
    ],
    ids=["1MiB-junk", "1MiB-minute-list", "1MiB-dashes", "1MiB-day-list"],
)
def test_huge_cron_text_is_answered_quickly(expression: str) -> None:
    """A megabyte of list items is technically valid crontab; translating it must still not take seconds
    (a length cap on the expression would do)."""
    started = time.perf_counter()
    try:
        cron_trigger(expression, ZONE_NAME)
    except ScheduleError as exc:
        assert len(str(exc)) < 2 * len(expression) + 1000
    assert time.perf_counter() - started < 30.0  # a hang guard, not a speed bound


json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
)
schedule_fields = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"[a-z0-9_-]{1,20}", fullmatch=True) | json_junk,
        "cron": crontabs | junk_cron | json_junk,
        "queue": st.sampled_from(["webhooks", "data-validation", "nope"]) | json_junk,
        "timezone": st.sampled_from([ZONE_NAME, "UTC", "Nowhere/City"]) | json_junk,
    },
    optional={
        "payload": st.dictionaries(
            st.text(max_size=8),
            json_junk
            | st.sampled_from(["{{today}}", "{{days_ago:7}}", "{{days_ago:99999}}", "{{nope}}", "{{fire_time}}", "{{"]),
        ),
        "enabled": json_junk,
        "description": json_junk,
        "second": junk_cron | json_junk,
        "extra": json_junk,
    },
)


@fuzz_settings()
@given(fields=schedule_fields)
def test_schedule_build_raises_only_schedule_error(fields: dict) -> None:
    ran("schedule build junk")
    try:
        schedule = Schedule.build(**fields)
    except ScheduleError as exc:
        assert str(exc).strip()
    else:
        assert schedule.trigger() is not None


def test_deeply_nested_schedule_payload_is_a_schedule_error() -> None:
    """Placeholder rendering walks the payload; a deep payload must be refused, not raise RecursionError."""
    payload: dict = {}
    for _ in range(5000):
        payload = {"a": payload}
    with pytest.raises(ScheduleError):
        Schedule.build(name="deep", cron="0 6 * * *", queue="webhooks", timezone=ZONE_NAME, payload=payload)


STORED_JUNK = [
    b"{",
    b"[]",
    b"null",
    b"\xff\xfe",
    b"[" * 100_000,
    json.dumps({"name": "x"}).encode(),
    json.dumps(
        {"name": "a", "cron": "* * * * *", "queue": "webhooks", "timezone": "UTC", "second": "\x1b[2J"}
    ).encode(),
]


def test_stored_schedule_junk_is_skipped_or_a_schedule_error(fake_redis) -> None:
    """Definitions and fire states are read back from Redis: junk there never raises anything else."""
    store = ScheduleStore(fake_redis, KEYS)
    good = Schedule.build(name="good", cron="0 6 * * *", queue="webhooks", timezone=ZONE_NAME)
    store.add(good)
    for index, raw in enumerate(STORED_JUNK):
        fake_redis.hset(KEYS.schedules, f"junk{index}", raw)
        fake_redis.hset(KEYS.schedule_state, f"junk{index}", raw)
    fake_redis.hset(KEYS.schedule_state, "good", b"[" * 100_000)

    assert [schedule.name for schedule in store.list()] == ["good"]
    for index in range(len(STORED_JUNK)):
        with pytest.raises(ScheduleError):
            store.get(f"junk{index}")
    problems = []
    for name, call in [
        ("states", store.states),
        ("state", lambda: store.state("good")),
        ("overview", lambda: store.overview(dt.datetime(2025, 6, 15, tzinfo=dt.UTC))),
    ]:
        try:
            call()
        except ScheduleError:
            pass
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}")
    assert not problems, f"junk fire state in {KEYS.schedule_state} escapes as {problems}"


def test_cron_errors_show_control_characters_escaped() -> None:
    """The field text goes into the message; it is printed to terminals (CLI) like any other error."""
    for expression in ["\x1b[2J * * * *", "* \x1b]52;c;ZXZpbA==\x07 * * *", "* * * * \x9b31m"]:
        with pytest.raises(ScheduleError) as caught:
            cron_trigger(expression, ZONE_NAME)
        assert not forbidden_in(str(caught.value)), repr(str(caught.value))


# --- durations -------------------------------------------------------------------------------------------

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@fuzz_settings()
@given(
    parts=st.lists(st.tuples(st.integers(0, 999_999_999), st.sampled_from(sorted(UNITS))), min_size=1, max_size=4),
    upper=st.booleans(),
    pad=st.sampled_from(["", " ", "\t", "\n"]),
)
def test_duration_combinations_round_trip(parts: list[tuple[int, str]], upper: bool, pad: str) -> None:
    ran("duration valid")
    text = "".join(f"{n}{unit.upper() if upper else unit}" for n, unit in parts)
    seconds = sum(n * UNITS[unit] for n, unit in parts)
    if seconds > MAX_DURATION.total_seconds():
        with pytest.raises(DurationError, match="too long"):
            parse_duration(pad + text + pad)
    else:
        assert parse_duration(pad + text + pad) == dt.timedelta(seconds=seconds)


duration_junk = st.one_of(
    st.text(max_size=30),
    st.lists(
        st.sampled_from(["1", "90", "1234567890", "-", "+", ".", "5", "h", "m", "x", "ms", " ", "1e3", "٣", "²"]),
        max_size=8,
    ).map("".join),
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=10),
)


@fuzz_settings()
@given(text=duration_junk)
def test_duration_junk_raises_duration_error(text) -> None:
    ran("duration junk")
    try:
        value = parse_duration(text)
    except DurationError as exc:
        assert "e.g." in str(exc) or "too long" in str(exc)
        assert len(str(exc)) < 300
    else:
        assert isinstance(text, str)
        assert dt.timedelta(0) <= value <= MAX_DURATION
