"""Crontab parsing and its translation into APScheduler triggers that fire at local wall-clock times,
the same on DST-change days as on others."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from ..sanitize import safe_str

# A crontab line is short; a cap keeps a megabyte of list items from costing seconds to translate.
MAX_CRON_LENGTH = 200
# A fixed starting point for "does this expression ever fire?" (a leap year, so Feb 29 counts).
VALIDATION_INSTANT = datetime(2024, 1, 1, tzinfo=UTC)


class ScheduleError(ValueError):
    """A schedule cannot be used or found; the message names the field or schedule and what to do."""


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
# Crontab numbering: 0 (and 7) = Sunday. APScheduler 3 numbers Monday as 0, so we only ever hand it names.
_CRONTAB_WEEKDAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_APS_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: dict[str, int]


_SECOND = _Field("second", 0, 59, {})
_MINUTE = _Field("minute", 0, 59, {})
_HOUR = _Field("hour", 0, 23, {})
_DAY = _Field("day-of-month", 1, 31, {})
_MONTH = _Field("month", 1, 12, _MONTHS)
_WEEKDAY = _Field("day-of-week", 0, 7, _CRONTAB_WEEKDAYS)


@dataclass(frozen=True)
class CronSpec:
    """A crontab expression translated into APScheduler 3 `CronTrigger` field expressions."""

    second: str
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str
    # Crontab fires when day-of-month OR day-of-week matches if both are restricted; APScheduler ANDs fields.
    either_day: bool
    # The hour field is a wildcard ("*", "*/2"): such schedules run in both copies of a repeated DST hour.
    hour_wildcard: bool


def parse_crontab(expression: str, second: str = "0") -> CronSpec:
    """Translate a 5-field crontab (or an @daily-style macro) into APScheduler fields.

    Raises ScheduleError naming the bad field, e.g. "cron field 'hour' = '25': value out of range 0-23".
    """
    _check_length("cron expression", expression)
    _check_length("cron field 'second'", second)
    text = _MACROS.get(expression.strip().lower(), expression.strip())
    if text.startswith("@"):
        raise ScheduleError(f"cron expression {quoted(expression)}: unknown macro; use one of {', '.join(_MACROS)}")
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleError(
            f"cron expression {quoted(expression)}: expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}"
        )
    minute, hour, day, month, weekday = parts
    return CronSpec(
        second=_range_expression(_SECOND, second),
        minute=_range_expression(_MINUTE, minute),
        hour=_range_expression(_HOUR, hour),
        day=_range_expression(_DAY, day),
        month=_range_expression(_MONTH, month),
        day_of_week=_weekday_expression(weekday),
        either_day=not day.startswith("*") and not weekday.startswith("*"),
        hour_wildcard=hour.startswith("*"),
    )


def second_expression(text: str) -> str:
    """The seconds field (offered only for tests' every-second schedules) in APScheduler syntax."""
    _check_length("cron field 'second'", text)
    return _range_expression(_SECOND, text)


def cron_trigger(expression: str, tz_name: str, second: str = "0") -> BaseTrigger:
    """The APScheduler trigger for a crontab expression in an IANA time zone."""
    spec = parse_crontab(expression, second)
    zone = load_zone(tz_name)

    def make(day: str, day_of_week: str) -> CronTrigger:
        # UTC has no DST: this trigger matches local wall-clock times, which LocalCronTrigger maps to instants.
        return CronTrigger(
            second=spec.second,
            minute=spec.minute,
            hour=spec.hour,
            day=day,
            month=spec.month,
            day_of_week=day_of_week,
            timezone=UTC,
        )

    try:
        if spec.either_day:
            wall: BaseTrigger = OrTrigger([make(spec.day, "*"), make("*", spec.day_of_week)])
        else:
            wall = make(spec.day, spec.day_of_week)
    except ValueError as exc:
        raise ScheduleError(f"cron expression {quoted(expression)}: {safe_str(exc, 200)}") from None
    if wall.get_next_fire_time(None, VALIDATION_INSTANT) is None:
        raise ScheduleError(
            f"cron expression {quoted(expression)}: never fires (that day does not exist in that month)"
        )
    return LocalCronTrigger(wall, zone)


_ONE_DAY = timedelta(days=1)


class LocalCronTrigger(BaseTrigger):
    """Fires at the instants whose wall-clock time in `zone` matches a crontab, the same on DST days as on others.

    APScheduler 3.11's CronTrigger adds wall-clock differences in UTC, so after a spring-forward
    change it skips a day or a month (agronholm/apscheduler#529, #606). Here `wall` matches wall-clock
    times written as UTC, and each stretch of constant UTC offset maps them back to instants exactly.
    DST rules: a wall-clock time in a repeated (fall-back) hour fires in both copies (`fire_job_id`
    decides which copies enqueue); the first match in a skipped (spring-forward) stretch fires once, at
    its time read with the old offset (02:30 → 03:30 CDT), and the rest of that stretch is dropped.
    """

    __slots__ = ("wall", "zone")

    def __init__(self, wall: BaseTrigger, zone: ZoneInfo) -> None:
        self.wall = wall
        self.zone = zone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # The same starting point as CronTrigger: just after the previous fire, but no later than now.
        # All in UTC: arithmetic and comparison of two times in one ZoneInfo go by wall clock and ignore `fold`.
        start = now.astimezone(UTC)
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(UTC)
            start = min(start, previous + timedelta(microseconds=1))
            if start == previous:
                start += timedelta(microseconds=1)
        fire = self._first_fire(_ceil_second(start))
        return fire.astimezone(self.zone) if fire is not None else None

    def _first_fire(self, start: datetime) -> datetime | None:
        """The first fire at or after `start` (UTC)."""
        # A spring-forward change up to a day back may still owe its shifted run.
        change = _offset_change(self.zone, start - _ONE_DAY, start)
        owed = self._skipped_fire(change) if change is not None else None
        best = owed if owed is not None and owed >= start else None
        # Walk the stretches of constant UTC offset from `start`: the first match in a stretch is exact;
        # a match past the stretch's end is retried from the next stretch with the new offset.
        here = start
        while best is None or here < best:
            offset = _offset(self.zone, here)
            wall = self.wall.get_next_fire_time(None, here + offset)
            if wall is None:
                break
            candidate = wall - offset
            change = _offset_change(self.zone, here, candidate if best is None else min(candidate, best))
            if change is None:
                best = candidate if best is None else min(best, candidate)
                break
            skipped = self._skipped_fire(change)
            if skipped is not None:
                best = skipped if best is None else min(best, skipped)
            here = change
        return best

    def _skipped_fire(self, change: datetime) -> datetime | None:
        """The run owed by the wall-clock times a spring-forward change at `change` skips, if any matches."""
        before, after = _offset(self.zone, change - timedelta(seconds=1)), _offset(self.zone, change)
        if after <= before:
            return None
        wall = self.wall.get_next_fire_time(None, change + before)
        if wall is None or wall >= change + after:
            return None
        return wall - before

    def __str__(self) -> str:
        return f"{self.wall} in {self.zone.key}"

    def __repr__(self) -> str:
        return f"<LocalCronTrigger({self.wall!r}, zone={self.zone.key!r})>"


def _ceil_second(instant: datetime) -> datetime:
    return instant + timedelta(microseconds=-instant.microsecond, seconds=1) if instant.microsecond else instant


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return cast(timedelta, instant.astimezone(zone).utcoffset())  # never None for an instant in a ZoneInfo


def _offset_change(zone: ZoneInfo, after: datetime, until: datetime) -> datetime | None:
    """The first instant in (after, until] whose UTC offset in `zone` differs from the offset at `after`.

    Looks a day at a time (no zone changes its offset twice within a day), then bisects to the second.
    """
    base = _offset(zone, after)
    low = after
    while low < until:
        high = min(low + _ONE_DAY, until)
        if _offset(zone, high) != base:
            lower, upper = math.floor(low.timestamp()), math.ceil(high.timestamp())
            while upper - lower > 1:
                middle = (lower + upper) // 2
                if _offset(zone, datetime.fromtimestamp(middle, UTC)) == base:
                    lower = middle
                else:
                    upper = middle
            return datetime.fromtimestamp(upper, UTC)
        low = high
    return None


def load_zone(tz_name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ScheduleError saying what to write instead."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ScheduleError(
            f"timezone {quoted(tz_name)}: unknown time zone; use an IANA name such as America/Chicago"
        ) from None


def _check_length(what: str, text: str) -> None:
    if len(text) > MAX_CRON_LENGTH:
        raise ScheduleError(
            f"{what} is {len(text)} characters long; write it in at most {MAX_CRON_LENGTH} (use ranges and steps)"
        )


def is_whole_number(text: str) -> bool:
    """Whether `text` is one or more ASCII digits."""
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts "²", which int() refuses


def quoted(text: Any, limit: int = 80) -> str:
    """Untrusted text quoted for a message bound for terminals: control characters escaped, length capped."""
    return f"'{safe_str(text, limit)}'"


def _field_error(field: _Field, text: str, problem: str) -> ScheduleError:
    return ScheduleError(f"cron field '{field.label}' = {quoted(text)}: {problem}")


def _parse_item(field: _Field, text: str, item: str) -> tuple[int, int, int | None, bool]:
    """One list item (`*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n`) as (first, last, step, is_star)."""
    base, slash, step_text = item.partition("/")
    step = None
    if slash:
        if not is_whole_number(step_text) or int(step_text) == 0:
            raise _field_error(field, text, f"step {step_text!r} must be a whole number of at least 1")
        step = int(step_text)
        if step > field.high - field.low:
            raise _field_error(field, text, f"step {step} is larger than the field's range {field.low}-{field.high}")
    if base == "*":
        return field.low, field.high, step, True
    first_text, dash, last_text = base.partition("-")
    first = _value(field, text, first_text)
    if dash:
        last = _value(field, text, last_text)
    else:
        last = field.high if step else first  # `a/n` means "from a to the end, every n", as in cronie
    return first, last, step, False


def _value(field: _Field, text: str, token: str) -> int:
    lowered = token.lower()
    if lowered in field.names:
        return field.names[lowered]
    if not is_whole_number(token):
        hint = f" or a name such as {next(iter(field.names))}" if field.names else ""
        raise _field_error(field, text, f"{token!r} is not a number{hint}")
    number = int(token)
    if not field.low <= number <= field.high:
        raise _field_error(field, text, f"value out of range {field.low}-{field.high}")
    return number


def _items(field: _Field, text: str) -> list[str]:
    items = text.split(",")
    if not text or any(not item for item in items):
        raise _field_error(field, text, "empty value; use '*' for every value")
    return items


def _range_expression(field: _Field, text: str) -> str:
    """A numeric field in APScheduler syntax (month names become numbers)."""
    pieces = []
    for item in _items(field, text):
        first, last, step, star = _parse_item(field, text, item)
        if not star and first > last:
            raise _field_error(field, text, f"range {first}-{last} runs backwards; write the smaller value first")
        suffix = f"/{step}" if step else ""
        if star:
            pieces.append(f"*{suffix}")
        elif first == last or (step and step > last - first):
            # Only `first` matches (`30/45`, `5-5/2`); APScheduler refuses a step wider than its range.
            pieces.append(str(first))
        else:
            pieces.append(f"{first}-{last}{suffix}")
    return ",".join(pieces)


def _weekday_expression(text: str) -> str:
    """Crontab day-of-week → APScheduler day names, e.g. `1-5` → `mon-fri`, `0`/`7` → `sun`.

    Items are expanded in crontab numbering first, so steps count the way crontab counts them
    (`*/2` = sun,tue,thu,sat). A range may wrap through Sunday: `5-1` = fri,sat,sun,mon.
    """
    days: set[int] = set()
    for item in _items(_WEEKDAY, text):
        first, last, step, star = _parse_item(_WEEKDAY, text, item)
        if star:
            sequence = list(range(0, 7))
        elif first <= last:
            sequence = list(range(first, last + 1))
        else:
            sequence = list(range(first, 7)) + list(range(0, last + 1))
        days.update(day % 7 for day in sequence[:: step or 1])
    positions = sorted((day - 1) % 7 for day in days)  # crontab Sunday=0 → APScheduler Sunday=6
    if len(positions) == 7:
        return "*"
    runs: list[list[int]] = []
    for position in positions:
        if runs and position == runs[-1][-1] + 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    return ",".join(
        _APS_WEEKDAYS[run[0]] if len(run) == 1 else f"{_APS_WEEKDAYS[run[0]]}-{_APS_WEEKDAYS[run[-1]]}" for run in runs
    )
