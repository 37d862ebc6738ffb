"""Cron schedules: the pydantic definition, payload templates, fire ids and the Redis store.

Definitions live as JSON in the hash `{prefix}:schedules` (name → schedule); what the scheduler last did with
each one lives apart in `{prefix}:schedules:state`, so editing a schedule never races with a fire being recorded.
A schedule belongs to the organization its payload's `organizationId` names; a store opened for one
organization sees and changes only that organization's schedules. The crontab translation is in `crontab`.
"""

from __future__ import annotations

import builtins
import logging
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import redis
from apscheduler.triggers.base import BaseTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..connection import transaction_value
from ..jobs.keys import KeySchema
from ..sanitize import safe_str
from ..settings import DEFAULT_CONCURRENCY, get_settings
from .crontab import (
    VALIDATION_INSTANT,
    ScheduleError,
    cron_trigger,
    is_whole_number,
    load_zone,
    parse_crontab,
    quoted,
    second_expression,
)

log = logging.getLogger(__name__)

KNOWN_QUEUES = tuple(DEFAULT_CONCURRENCY)
DEFAULT_TIMEZONE = "America/Chicago"
EDITABLE_FIELDS = frozenset({"cron", "timezone", "queue", "payload", "enabled", "description", "second"})
#: The payload field naming the organization whose jobs a schedule makes (as for jobs, see `JobKind.tenant_field`).
TENANT_FIELD = "organizationId"

_NAME = re.compile(r"[a-z0-9_-]{1,64}")
# How deep a payload template may nest (rendering walks it recursively).
MAX_PAYLOAD_DEPTH = 50


class ScheduleNotFound(ScheduleError):
    """No schedule has that name."""


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
                    f"{safe_str(where, 80)}: key {quoted(repr(key), 40)} is not text; JSON keys are text"
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
            f"{safe_str(where, 80)}: text with a lone surrogate ({safe_str(exc.object[exc.start : exc.end], 20)}) "
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
        if not is_whole_number(argument) or int(argument) > _MAX_DAYS_AGO:
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
            raise ScheduleError(f"schedule name {quoted(value)}: use 1-64 lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("queue")
    @classmethod
    def _known_queue(cls, value: str) -> str:
        if value not in KNOWN_QUEUES:
            raise ScheduleError(f"queue {quoted(value)}: unknown; use one of {', '.join(KNOWN_QUEUES)}")
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
        second_expression(value)
        return value

    @model_validator(mode="after")
    def _usable(self) -> Schedule:
        self.trigger()
        render_payload(self.payload, self.timezone, VALIDATION_INSTANT)
        return self

    @classmethod
    def build(cls, **fields: Any) -> Schedule:
        """Validate fields into a Schedule, raising one ScheduleError that names each bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise ScheduleError(_explain(exc)) from None

    @property
    def org(self) -> str | None:
        """The organization whose jobs this schedule makes (its payload's organizationId), or None for none."""
        owner = self.payload.get(TENANT_FIELD)
        return owner if isinstance(owner, str) and owner else None

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
    org: str | None = None  # the organization whose jobs it makes


def fire_job_id(schedule: Schedule, fire_time: datetime) -> str:
    """The idempotent job id of one fire: `cron:{name}:{local wall-clock time}`, e.g. `cron:nightly:2026-11-01T01:30`.

    DESIGN.md says `cron:{name}:{fire_utc}`; we deliberately key on the *local wall-clock* time instead.
    On fall-back day the trigger fires a daily 01:30 job twice (01:30 CDT and 01:30 CST, an hour apart
    in UTC); both map to the same id here, so the idempotent enqueue refuses the second. Following cron
    (cronie), schedules whose hour field is a wildcard (`0 * * * *`, `*/15 * * * *`) do run in both copies
    of the repeated hour, since those are different real hours: the second copy gets the UTC offset
    appended (`cron:hourly:2026-11-01T01:00-06:00`). Seconds appear only for second-level test schedules.
    """
    local = fire_time.astimezone(UTC).astimezone(schedule.zone)
    timespec = "minutes" if schedule.second == "0" else "seconds"
    stamp = local.replace(tzinfo=None).isoformat(timespec=timespec)
    if local.fold and parse_crontab(schedule.cron).hour_wildcard:
        stamp = local.isoformat(timespec=timespec)
    return f"cron:{schedule.name}:{stamp}"


def schedule_status(schedule: Schedule, state: ScheduleState, now: datetime) -> ScheduleStatus:
    """One schedule's row: its next run after `now` (none while paused) and its last fire."""
    upcoming = next_fire_times(schedule, now) if schedule.enabled else []
    return ScheduleStatus(
        name=schedule.name,
        cron=schedule.cron,
        timezone=schedule.timezone,
        queue=schedule.queue,
        enabled=schedule.enabled,
        description=schedule.description,
        next_run=upcoming[0] if upcoming else None,
        next_run_utc=upcoming[0].astimezone(UTC) if upcoming else None,
        last_fire_utc=state.last_fire_utc,
        last_job_id=state.last_job_id,
        last_error=state.last_error,
        org=schedule.org,
    )


def next_fire_times(schedule: Schedule, now: datetime, n: int = 1) -> list[datetime]:
    """The next n fire instants after `now` (aware, in the schedule's time zone; fewer if it stops firing)."""
    trigger, zone = schedule.trigger(), schedule.zone
    times: list[datetime] = []
    previous = None
    while len(times) < n:
        fire = trigger.get_next_fire_time(previous, previous or now)
        if fire is None:
            break
        times.append(fire.astimezone(UTC).astimezone(zone))
        previous = fire
    return times


def check_payload(schedule: Schedule, now: datetime) -> bool:
    """Render the payload now and validate it against the queue's payload model.

    Returns False when the job kinds cannot be imported (nothing was checked); raises ScheduleError when invalid.
    """
    try:
        from ..jobs.kind import all_kinds

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


_Result = TypeVar("_Result")


def _transaction(client: redis.Redis, apply: Callable[[redis.client.Pipeline], _Result], *watches: str) -> _Result:
    return transaction_value(client, apply, *watches)


def _text(value: bytes | str) -> str:
    return value.decode(errors="backslashreplace") if isinstance(value, bytes) else value


def _stored_schedule(name: str | bytes, raw: bytes | str) -> Schedule:
    try:
        return Schedule.model_validate_json(raw)
    except ValidationError as exc:
        raise ScheduleError(
            f"schedule {quoted(_text(name))} is stored in an unreadable form ({_explain(exc)}); remove it"
        ) from None


def _stored_state(name: str | bytes, raw: bytes | str, key: str) -> ScheduleState:
    """A stored fire state; junk counts as "never fired" (it is only a record, rewritten at the next fire)."""
    try:
        return ScheduleState.model_validate_json(raw)
    except ValidationError as exc:
        log.warning(
            "fire state of schedule %r in %s is unreadable (%s); treated as never fired",
            _text(name),
            key,
            _explain(exc),
        )
        return ScheduleState()


def _encode(schedule: Schedule) -> str:
    return schedule.model_dump_json(exclude={"second"} if schedule.second == "0" else None)


def _not_found(name: str) -> ScheduleNotFound:
    return ScheduleNotFound(f"no schedule named {quoted(name)}; `wellqueue schedules list` shows them")


class ScheduleStore:
    """CRUD over one deployment's schedules plus per-schedule fire state; every change is announced on the
    schema's `schedules_changed` channel.

    With `org`, the store holds only that organization's schedules: another one's is "not found", as a
    missing one is, and a schedule added or changed must stay that organization's."""

    def __init__(self, client: redis.Redis, keys: KeySchema, org: str | None = None) -> None:
        self.client = client
        self.keys = keys
        self.org = org

    def _in_scope(self, schedule: Schedule) -> bool:
        return self.org is None or schedule.org == self.org

    def _check_owner(self, schedule: Schedule) -> None:
        if not self._in_scope(schedule):
            raise ScheduleError(
                f"payload.{TENANT_FIELD}: must be {quoted(self.org or '')}, the organization of "
                "your token; schedules make jobs for that organization only"
            )

    def list(self) -> list[Schedule]:
        """All readable schedules in scope, by name (an unreadable entry is logged and left out)."""
        schedules = []
        for name, raw in self.client.hgetall(self.keys.schedules).items():
            try:
                schedules.append(_stored_schedule(name, raw))
            except ScheduleError as exc:
                if self.org is None:
                    log.warning("%s; skipped by list()", exc)
        return sorted((s for s in schedules if self._in_scope(s)), key=lambda schedule: schedule.name)

    def get(self, name: str) -> Schedule | None:
        raw = self.client.hget(self.keys.schedules, name)
        if raw is None:
            return None
        try:
            schedule = _stored_schedule(name, raw)
        except ScheduleError:
            if self.org is not None:  # whose it is cannot be told: not this organization's to see
                return None
            raise
        return schedule if self._in_scope(schedule) else None

    def require(self, name: str) -> Schedule:
        """Like get(), but a missing schedule is a ScheduleNotFound naming it."""
        schedule = self.get(name)
        if schedule is None:
            raise _not_found(name)
        return schedule

    def add(self, schedule: Schedule) -> Schedule:
        self._check_owner(schedule)
        if not self.client.hsetnx(self.keys.schedules, schedule.name, _encode(schedule)):
            raise ScheduleError(f"schedule {quoted(schedule.name)} already exists; use `update` to change it")
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
            current = self._current(pipe, name)
            updated = Schedule.build(**{**current.model_dump(), **changes})
            self._check_owner(updated)
            pipe.multi()
            pipe.hset(self.keys.schedules, name, _encode(updated))
            return updated

        updated = _transaction(self.client, apply, self.keys.schedules)
        self._announce(name)
        return updated

    def remove(self, name: str) -> None:
        def apply(pipe: redis.client.Pipeline) -> None:
            if self.org is not None:
                self._current(pipe, name)
            pipe.multi()
            pipe.hdel(self.keys.schedules, name)
            pipe.hdel(self.keys.schedule_state, name)

        removed, _ = self.client.transaction(apply, self.keys.schedules) or (0, 0)
        if not removed:
            raise _not_found(name)
        self._announce(name)

    def _current(self, pipe: redis.client.Pipeline, name: str) -> Schedule:
        """The stored schedule `name` inside a WATCH, or ScheduleNotFound when missing or out of scope."""
        raw = pipe.hget(self.keys.schedules, name)
        if raw is None:
            raise _not_found(name)
        try:
            current = _stored_schedule(name, raw)
        except ScheduleError:
            if self.org is not None:
                raise _not_found(name) from None
            raise
        if not self._in_scope(current):
            raise _not_found(name)
        return current

    def set_enabled(self, name: str, enabled: bool) -> Schedule:
        return self.update(name, enabled=enabled)

    def next_fire_times(self, schedule: Schedule, now: datetime, n: int = 1) -> builtins.list[datetime]:
        """The next n fire instants after `now` (see the module function `next_fire_times`)."""
        return next_fire_times(schedule, now, n)

    def record_fire(self, name: str, fire_utc: datetime, job_id: str | None, error: str | None = None) -> None:
        state = ScheduleState(last_fire_utc=fire_utc.astimezone(UTC), last_job_id=job_id, last_error=error)
        self.client.hset(self.keys.schedule_state, name, state.model_dump_json())

    def state(self, name: str) -> ScheduleState:
        """What the scheduler last did for `name` (empty if never fired, or if the stored state is unreadable)."""
        raw = self.client.hget(self.keys.schedule_state, name)
        return _stored_state(name, raw, self.keys.schedule_state) if raw is not None else ScheduleState()

    def states(self) -> dict[str, ScheduleState]:
        return {
            _text(name): _stored_state(name, raw, self.keys.schedule_state)
            for name, raw in self.client.hgetall(self.keys.schedule_state).items()
        }

    def overview(self, now: datetime) -> builtins.list[ScheduleStatus]:
        """Every schedule with its next run (none while paused) and last fire, for screens and the CLI."""
        states = self.states()
        return [schedule_status(schedule, states.get(schedule.name, ScheduleState()), now) for schedule in self.list()]

    def install_defaults(self) -> builtins.list[str]:
        """Install default_schedules() once per Redis: only into an empty store, never again after that."""

        def apply(pipe: redis.client.Pipeline) -> builtins.list[str]:
            if pipe.exists(self.keys.schedules_installed):
                return []
            empty = pipe.hlen(self.keys.schedules) == 0
            defaults = default_schedules() if empty else []
            pipe.multi()
            for schedule in defaults:
                pipe.hset(self.keys.schedules, schedule.name, _encode(schedule))
            pipe.set(self.keys.schedules_installed, datetime.now(UTC).isoformat())
            return [schedule.name for schedule in defaults]

        installed = _transaction(self.client, apply, self.keys.schedules_installed, self.keys.schedules)
        if installed:
            self._announce("*")
        return installed

    def _announce(self, name: str) -> None:
        self.client.publish(self.keys.schedules_changed, name)
