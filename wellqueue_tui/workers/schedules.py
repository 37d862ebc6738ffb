"""Cron schedules: the pydantic definition, crontab → APScheduler translation, payload templates, and the Redis store.

Definitions live as JSON in the hash `wq:schedules` (name → schedule); what the scheduler last did with
each one lives apart in `wq:schedules:state`, so editing a schedule never races with a fire being recorded.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..sanitize import safe_str
from ..settings import DEFAULT_CONCURRENCY, get_settings

log = logging.getLogger(__name__)

SCHEDULES_KEY = "wq:schedules"
STATE_KEY = "wq:schedules:state"
INSTALLED_KEY = "wq:schedules:installed"
CHANGED_CHANNEL = "wq:schedules:changed"

KNOWN_QUEUES = tuple(DEFAULT_CONCURRENCY)
DEFAULT_TIMEZONE = "America/Chicago"
EDITABLE_FIELDS = frozenset({"cron", "timezone", "queue", "payload", "enabled", "description", "second"})

_NAME = re.compile(r"[a-z0-9_-]{1,64}")
# A crontab line is short; a cap keeps a megabyte of list items from costing seconds to translate.
MAX_CRON_LENGTH = 200
# How deep a payload template may nest (rendering walks it recursively).
MAX_PAYLOAD_DEPTH = 50
# A fixed starting point for "does this expression ever fire?" (a leap year, so Feb 29 counts).
_VALIDATION_INSTANT = datetime(2024, 1, 1, tzinfo=timezone.utc)


class ScheduleError(ValueError):
    """A schedule cannot be used or found; the message names the field or schedule and what to do."""


class ScheduleNotFound(ScheduleError):
    """No schedule has that name."""


# --- crontab → APScheduler -------------------------------------------------------------------------------

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
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
        raise ScheduleError(f"cron expression {_quoted(expression)}: unknown macro; use one of {', '.join(_MACROS)}")
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleError(
            f"cron expression {_quoted(expression)}: expected 5 fields (minute hour day-of-month month day-of-week), "
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


def cron_trigger(expression: str, tz_name: str, second: str = "0") -> BaseTrigger:
    """The APScheduler trigger for a crontab expression in an IANA time zone."""
    spec = parse_crontab(expression, second)
    zone = load_zone(tz_name)

    def make(day: str, day_of_week: str) -> CronTrigger:
        # UTC has no DST: this trigger matches local wall-clock times, which LocalCronTrigger maps to instants.
        return CronTrigger(
            second=spec.second, minute=spec.minute, hour=spec.hour, day=day, month=spec.month,
            day_of_week=day_of_week, timezone=timezone.utc,
        )

    try:
        if spec.either_day:
            wall: BaseTrigger = OrTrigger([make(spec.day, "*"), make("*", spec.day_of_week)])
        else:
            wall = make(spec.day, spec.day_of_week)
    except ValueError as exc:
        raise ScheduleError(f"cron expression {_quoted(expression)}: {safe_str(exc, 200)}") from None
    if wall.get_next_fire_time(None, _VALIDATION_INSTANT) is None:
        raise ScheduleError(
            f"cron expression {_quoted(expression)}: never fires (that day does not exist in that month)"
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
        start = now.astimezone(timezone.utc)
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(timezone.utc)
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
    return instant.astimezone(zone).utcoffset()


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
                if _offset(zone, datetime.fromtimestamp(middle, timezone.utc)) == base:
                    lower = middle
                else:
                    upper = middle
            return datetime.fromtimestamp(upper, timezone.utc)
        low = high
    return None


def load_zone(tz_name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ScheduleError saying what to write instead."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ScheduleError(
            f"timezone {_quoted(tz_name)}: unknown time zone; use an IANA name such as America/Chicago"
        ) from None


def _check_length(what: str, text: str) -> None:
    if len(text) > MAX_CRON_LENGTH:
        raise ScheduleError(
            f"{what} is {len(text)} characters long; write it in at most {MAX_CRON_LENGTH} (use ranges and steps)"
        )


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts "²", which int() refuses


def _quoted(text: Any, limit: int = 80) -> str:
    """Untrusted text quoted for a message bound for terminals: control characters escaped, length capped."""
    return f"'{safe_str(text, limit)}'"


def _field_error(field: _Field, text: str, problem: str) -> ScheduleError:
    return ScheduleError(f"cron field '{field.label}' = {_quoted(text)}: {problem}")


def _parse_item(field: _Field, text: str, item: str) -> tuple[int, int, int | None, bool]:
    """One list item (`*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n`) as (first, last, step, is_star)."""
    base, slash, step_text = item.partition("/")
    step = None
    if slash:
        if not _is_number(step_text) or int(step_text) == 0:
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
    if not _is_number(token):
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


# --- payload templates -----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
PLACEHOLDERS = ("today", "yesterday", "days_ago:N", "month_start", "prev_month_start", "prev_month_end", "fire_time")
_MAX_DAYS_AGO = 3660


def render_payload(template: Any, tz_name: str, fire_time: datetime) -> Any:
    """Fill `{{today}}`-style placeholders in every string of a payload, as seen in the schedule's time zone."""
    local = fire_time.astimezone(load_zone(tz_name))
    return _render(template, local, 0)


def _check_json(value: Any, where: str = "payload", depth: int = 0) -> None:
    """Refuse what JSON cannot store unchanged (other types, NaN, huge numbers, non-text keys, lone surrogates)
    and nesting deeper than MAX_PAYLOAD_DEPTH; the message names the path, e.g. `payload.data[2]`."""
    if isinstance(value, dict | list) and depth >= MAX_PAYLOAD_DEPTH:
        raise _too_deep()
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ScheduleError(
                    f"{safe_str(where, 80)}: key {_quoted(repr(key), 40)} is not text; JSON keys are text"
                )
            _check_text(key, where)
            _check_json(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            raise ScheduleError(f"{safe_str(where, 80)}: a number of {value.bit_length()} bits; use at most 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ScheduleError(f"{safe_str(where, 80)}: {value} is not a JSON number; use a finite number or null")
    else:
        raise ScheduleError(
            f"{safe_str(where, 80)}: {type(value).__name__} values are not JSON; use text, numbers, true/false, null, "
            "lists and objects"
        )


def _too_deep() -> ScheduleError:
    return ScheduleError(f"payload is nested deeper than {MAX_PAYLOAD_DEPTH} levels of objects and lists; flatten it")


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ScheduleError(
            f"{safe_str(where, 80)}: text with a lone surrogate ({safe_str(exc.object[exc.start:exc.end], 20)}) "
            "cannot be stored; use valid Unicode"
        ) from None


def _render(value: Any, local: datetime, depth: int) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: _placeholder(match.group(1), local), value)
    if isinstance(value, dict | list) and depth >= MAX_PAYLOAD_DEPTH:
        raise _too_deep()  # render_payload may be handed a template that never went through Schedule
    if isinstance(value, dict):
        return {key: _render(item, local, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, local, depth + 1) for item in value]
    return value


def _placeholder(text: str, local: datetime) -> str:
    name, colon, argument = (part.strip() for part in text.partition(":"))
    today = local.date()
    shown = safe_str(text, 60)
    if name == "days_ago":
        if not _is_number(argument) or int(argument) > _MAX_DAYS_AGO:
            raise ScheduleError(
                f"payload placeholder {{{{{shown}}}}}: days_ago needs a whole number of days "
                f"from 0 to {_MAX_DAYS_AGO}, e.g. {{{{days_ago:7}}}}"
            )
        return (today - timedelta(days=int(argument))).isoformat()
    if name == "fire_time" and not colon:
        return local.isoformat(timespec="seconds")
    dates = _named_dates(today)
    if name not in dates or colon:
        raise ScheduleError(
            f"payload placeholder {{{{{shown}}}}}: unknown; use one of "
            + ", ".join("{{" + known + "}}" for known in PLACEHOLDERS)
        )
    return dates[name].isoformat()


def _named_dates(today: date) -> dict[str, date]:
    month_start = today.replace(day=1)
    prev_month_end = month_start - timedelta(days=1)
    return {
        "today": today,
        "yesterday": today - timedelta(days=1),
        "month_start": month_start,
        "prev_month_start": prev_month_end.replace(day=1),
        "prev_month_end": prev_month_end,
    }


# --- the schedule model ----------------------------------------------------------------------------------


def _default_timezone() -> str:
    return get_settings().timezone


class Schedule(BaseModel):
    """One cron schedule: when (crontab in a time zone), where (queue) and what (payload template)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    cron: str
    timezone: str = Field(default_factory=_default_timezone)
    queue: str
    payload: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    description: str = Field(default="", max_length=500)
    # Crontab has no seconds; this exists so tests can run a schedule every second. Not offered by the CLI.
    second: str = "0"

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ScheduleError(f"schedule name {_quoted(value)}: use 1-64 lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("queue")
    @classmethod
    def _known_queue(cls, value: str) -> str:
        if value not in KNOWN_QUEUES:
            raise ScheduleError(f"queue {_quoted(value)}: unknown; use one of {', '.join(KNOWN_QUEUES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @field_validator("payload")
    @classmethod
    def _json_payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_json(value)
        return value

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        parse_crontab(value)
        return " ".join(value.split())

    @field_validator("second")
    @classmethod
    def _seconds(cls, value: str) -> str:
        _check_length("cron field 'second'", value)
        _range_expression(_SECOND, value)
        return value

    @model_validator(mode="after")
    def _usable(self) -> Schedule:
        self.trigger()
        render_payload(self.payload, self.timezone, _VALIDATION_INSTANT)
        return self

    @classmethod
    def build(cls, **fields: Any) -> Schedule:
        """Validate fields into a Schedule, raising one ScheduleError that names each bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise ScheduleError(_explain(exc)) from None

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger for this schedule."""
        return cron_trigger(self.cron, self.timezone, self.second)

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.timezone)


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        original = (error.get("ctx") or {}).get("error")
        if isinstance(original, ScheduleError):
            problems.append(str(original))
        else:
            # An unknown field's name is untrusted text (it may come from a stored JSON object).
            where = safe_str(".".join(str(part) for part in error["loc"]), 80) or "schedule"
            problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


class ScheduleState(BaseModel):
    """What the scheduler last did for a schedule (kept apart from the definition)."""

    last_fire_utc: datetime | None = None
    last_job_id: str | None = None
    last_error: str | None = None


class ScheduleStatus(BaseModel):
    """One row of the schedules screen and `wellqueue schedules list`."""

    name: str
    cron: str
    timezone: str
    queue: str
    enabled: bool
    description: str
    next_run: datetime | None  # in the schedule's time zone
    next_run_utc: datetime | None
    last_fire_utc: datetime | None
    last_job_id: str | None
    last_error: str | None


def fire_job_id(schedule: Schedule, fire_time: datetime) -> str:
    """The idempotent job id of one fire: `cron:{name}:{local wall-clock time}`, e.g. `cron:nightly:2026-11-01T01:30`.

    DESIGN.md says `cron:{name}:{fire_utc}`; we deliberately key on the *local wall-clock* time instead.
    On fall-back day the trigger fires a daily 01:30 job twice (01:30 CDT and 01:30 CST, an hour apart
    in UTC); both map to the same id here, so the idempotent enqueue refuses the second. Following cron
    (cronie), schedules whose hour field is a wildcard (`0 * * * *`, `*/15 * * * *`) do run in both copies
    of the repeated hour, since those are different real hours: the second copy gets the UTC offset
    appended (`cron:hourly:2026-11-01T01:00-06:00`). Seconds appear only for second-level test schedules.
    """
    local = fire_time.astimezone(timezone.utc).astimezone(schedule.zone)
    timespec = "minutes" if schedule.second == "0" else "seconds"
    stamp = local.replace(tzinfo=None).isoformat(timespec=timespec)
    if local.fold and parse_crontab(schedule.cron).hour_wildcard:
        stamp = local.isoformat(timespec=timespec)
    return f"cron:{schedule.name}:{stamp}"


def next_fire_times(schedule: Schedule, now: datetime, n: int = 1) -> list[datetime]:
    """The next n fire instants after `now` (aware, in the schedule's time zone; fewer if it stops firing)."""
    trigger, zone = schedule.trigger(), schedule.zone
    times: list[datetime] = []
    previous = None
    while len(times) < n:
        fire = trigger.get_next_fire_time(previous, previous or now)
        if fire is None:
            break
        times.append(fire.astimezone(timezone.utc).astimezone(zone))
        previous = fire
    return times


def check_payload(schedule: Schedule, now: datetime) -> bool:
    """Render the payload now and validate it against the queue's payload model.

    Returns False when the job kinds cannot be imported (nothing was checked); raises ScheduleError when invalid.
    """
    try:
        from ..jobs.kinds import all_kinds

        kind = all_kinds().get(schedule.queue)
    except ImportError as exc:
        log.warning("payload of schedule %s not checked: job kinds unavailable (%s)", schedule.name, exc)
        return False
    if kind is None:
        return False
    payload = render_payload(schedule.payload, schedule.timezone, now)
    try:
        kind.payload.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}" for error in exc.errors()
        )
        raise ScheduleError(f"payload for queue {schedule.queue!r} is not valid: {problems}") from None
    return True


def default_schedules() -> list[Schedule]:
    """The schedules a fresh installation starts with (all America/Chicago)."""
    return [
        Schedule(
            name="production-data-validation",
            cron="0 2 * * *",
            timezone=DEFAULT_TIMEZONE,
            queue="data-validation",
            payload={"validationType": "daily_sweep", "date": "{{yesterday}}"},
            description="Validate yesterday's production data every night at 02:00.",
        ),
        Schedule(
            name="permit-expiration-check",
            cron="0 9 * * *",
            timezone=DEFAULT_TIMEZONE,
            queue="email-notifications",
            payload={
                "type": "compliance_due",
                "priority": "high",
                "recipients": ["compliance@example.com"],
                "subject": "Permit expiration check {{today}}",
                "body": "Daily permit expiration review is due.",
                "data": {"check": "permit_expiration", "date": "{{today}}"},
            },
            description="Remind compliance to review expiring permits every morning at 09:00.",
        ),
        Schedule(
            name="compliance-report",
            cron="0 6 * * 0",
            timezone=DEFAULT_TIMEZONE,
            queue="report-generation",
            payload={
                "reportType": "compliance_monthly",
                "format": "pdf",
                "dateRange": {"start": "{{days_ago:7}}", "end": "{{yesterday}}"},
                "includeCharts": True,
                "recipients": ["compliance@example.com"],
            },
            description="Weekly compliance report, Sundays at 06:00, covering the past seven days.",
        ),
        Schedule(
            name="production-summary-report",
            cron="0 8 1 * *",
            timezone=DEFAULT_TIMEZONE,
            queue="report-generation",
            payload={
                "reportType": "production_monthly",
                "format": "xlsx",
                "dateRange": {"start": "{{prev_month_start}}", "end": "{{prev_month_end}}"},
                "includeCharts": True,
                "recipients": ["operations@example.com"],
            },
            description="Production summary for the previous month, on the 1st at 08:00.",
        ),
    ]


# --- the Redis store -------------------------------------------------------------------------------------


def _text(value: bytes | str) -> str:
    return value.decode(errors="backslashreplace") if isinstance(value, bytes) else value


def _stored_schedule(name: str | bytes, raw: bytes | str) -> Schedule:
    try:
        return Schedule.model_validate_json(raw)
    except ValidationError as exc:
        raise ScheduleError(
            f"schedule {_quoted(_text(name))} is stored in an unreadable form ({_explain(exc)}); remove it"
        ) from None


def _stored_state(name: str | bytes, raw: bytes | str) -> ScheduleState:
    """A stored fire state; junk counts as "never fired" (it is only a record, rewritten at the next fire)."""
    try:
        return ScheduleState.model_validate_json(raw)
    except ValidationError as exc:
        log.warning("fire state of schedule %r in %s is unreadable (%s); treated as never fired",
                    _text(name), STATE_KEY, _explain(exc))
        return ScheduleState()


def _encode(schedule: Schedule) -> str:
    return schedule.model_dump_json(exclude={"second"} if schedule.second == "0" else None)


class ScheduleStore:
    """CRUD over `wq:schedules` plus per-schedule fire state; every change is announced on `wq:schedules:changed`."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def list(self) -> list[Schedule]:
        """All readable schedules, by name (an unreadable entry is logged and left out)."""
        schedules = []
        for name, raw in self._client.hgetall(SCHEDULES_KEY).items():
            try:
                schedules.append(_stored_schedule(name, raw))
            except ScheduleError as exc:
                log.warning("%s; skipped by list()", exc)
        return sorted(schedules, key=lambda schedule: schedule.name)

    def get(self, name: str) -> Schedule | None:
        raw = self._client.hget(SCHEDULES_KEY, name)
        return None if raw is None else _stored_schedule(name, raw)

    def require(self, name: str) -> Schedule:
        """Like get(), but a missing schedule is a ScheduleNotFound naming it."""
        schedule = self.get(name)
        if schedule is None:
            raise ScheduleNotFound(f"no schedule named {_quoted(name)}; `wellqueue schedules list` shows them")
        return schedule

    def add(self, schedule: Schedule) -> Schedule:
        if not self._client.hsetnx(SCHEDULES_KEY, schedule.name, _encode(schedule)):
            raise ScheduleError(f"schedule {_quoted(schedule.name)} already exists; use `update` to change it")
        self._announce(schedule.name)
        return schedule

    def update(self, name: str, /, **changes: Any) -> Schedule:
        """Change some fields of a schedule (re-validated as a whole); the name cannot change."""
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ScheduleError(
                f"cannot change {', '.join(sorted(unknown))}; editable fields are {', '.join(sorted(EDITABLE_FIELDS))}"
            )

        def apply(pipe: redis.client.Pipeline) -> Schedule:
            raw = pipe.hget(SCHEDULES_KEY, name)
            if raw is None:
                raise ScheduleNotFound(f"no schedule named {_quoted(name)}; `wellqueue schedules list` shows them")
            current = _stored_schedule(name, raw)
            updated = Schedule.build(**{**current.model_dump(), **changes})
            pipe.multi()
            pipe.hset(SCHEDULES_KEY, name, _encode(updated))
            return updated

        updated = self._client.transaction(apply, SCHEDULES_KEY, value_from_callable=True)
        self._announce(name)
        return updated

    def remove(self, name: str) -> None:
        removed, _ = self._client.pipeline().hdel(SCHEDULES_KEY, name).hdel(STATE_KEY, name).execute()
        if not removed:
            raise ScheduleNotFound(f"no schedule named {_quoted(name)}; `wellqueue schedules list` shows them")
        self._announce(name)

    def set_enabled(self, name: str, enabled: bool) -> Schedule:
        return self.update(name, enabled=enabled)

    def next_fire_times(self, schedule: Schedule, now: datetime, n: int = 1) -> list[datetime]:
        """The next n fire instants after `now` (see the module function `next_fire_times`)."""
        return next_fire_times(schedule, now, n)

    def record_fire(self, name: str, fire_utc: datetime, job_id: str | None, error: str | None = None) -> None:
        state = ScheduleState(last_fire_utc=fire_utc.astimezone(timezone.utc), last_job_id=job_id, last_error=error)
        self._client.hset(STATE_KEY, name, state.model_dump_json())

    def state(self, name: str) -> ScheduleState:
        """What the scheduler last did for `name` (empty if never fired, or if the stored state is unreadable)."""
        raw = self._client.hget(STATE_KEY, name)
        return _stored_state(name, raw) if raw is not None else ScheduleState()

    def states(self) -> dict[str, ScheduleState]:
        return {_text(name): _stored_state(name, raw) for name, raw in self._client.hgetall(STATE_KEY).items()}

    def overview(self, now: datetime) -> list[ScheduleStatus]:
        """Every schedule with its next run (none while paused) and last fire, for screens and the CLI."""
        states = self.states()
        rows = []
        for schedule in self.list():
            upcoming = self.next_fire_times(schedule, now) if schedule.enabled else []
            state = states.get(schedule.name, ScheduleState())
            rows.append(
                ScheduleStatus(
                    name=schedule.name,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    queue=schedule.queue,
                    enabled=schedule.enabled,
                    description=schedule.description,
                    next_run=upcoming[0] if upcoming else None,
                    next_run_utc=upcoming[0].astimezone(timezone.utc) if upcoming else None,
                    last_fire_utc=state.last_fire_utc,
                    last_job_id=state.last_job_id,
                    last_error=state.last_error,
                )
            )
        return rows

    def install_defaults(self) -> list[str]:
        """Install default_schedules() once per Redis: only into an empty store, never again after that."""

        def apply(pipe: redis.client.Pipeline) -> list[str]:
            if pipe.exists(INSTALLED_KEY):
                return []
            empty = pipe.hlen(SCHEDULES_KEY) == 0
            defaults = default_schedules() if empty else []
            pipe.multi()
            for schedule in defaults:
                pipe.hset(SCHEDULES_KEY, schedule.name, _encode(schedule))
            pipe.set(INSTALLED_KEY, datetime.now(timezone.utc).isoformat())
            return [schedule.name for schedule in defaults]

        installed = self._client.transaction(apply, INSTALLED_KEY, SCHEDULES_KEY, value_from_callable=True)
        if installed:
            self._announce("*")
        return installed

    def _announce(self, name: str) -> None:
        self._client.publish(CHANGED_CHANNEL, name)
