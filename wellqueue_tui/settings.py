"""One settings model for the whole product, read from the environment."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, StrictInt, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError as SourceError

from .address_policy import parse_entry

#: Worker processes and threads per queue group: the reference system's concurrency.
DEFAULT_CONCURRENCY = {
    "data-validation": 3,
    "report-generation": 2,
    "email-notifications": 5,
    "webhooks": 5,
}

#: Largest JSON-encoded payload `enqueue` accepts unless WELLQUEUE_MAX_PAYLOAD_BYTES says otherwise (1 MiB).
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024

REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")

MAX_JOB_DELAY_MS = 7 * 24 * 3600 * 1000 - 1  # the longest delay a job option takes (jobs.options)
BackoffType = Literal["fixed", "exponential"]


class BackoffDefaults(BaseModel):
    """A queue's retry backoff; what is left out comes from the global defaults."""

    model_config = ConfigDict(extra="forbid")

    type: BackoffType | None = None
    delay: StrictInt | None = Field(default=None, ge=0, le=MAX_JOB_DELAY_MS)


MAX_JOB_TIMEOUT_MS = 24 * 3600 * 1000  # the longest timeout a job option takes (jobs.options)
#: A rate limit's bounds: the window keeps one entry per job started in it, so `max` is bounded.
MAX_RATE_LIMIT_JOBS = 100_000
MAX_RATE_LIMIT_DURATION_MS = 24 * 3600 * 1000


class RetentionDefaults(BaseModel):
    """Bull's `{"count": N, "age": SECONDS}` form of removeOnComplete / removeOnFail."""

    model_config = ConfigDict(extra="forbid")

    count: StrictInt | None = Field(default=None, ge=0)
    age: StrictInt | None = Field(default=None, ge=0)


class LimiterDefaults(BaseModel):
    """BullMQ's `limiter`: at most `max` jobs started in any `duration` ms, over every host."""

    model_config = ConfigDict(extra="forbid")

    max: StrictInt = Field(ge=1, le=MAX_RATE_LIMIT_JOBS)
    duration: StrictInt = Field(ge=1, le=MAX_RATE_LIMIT_DURATION_MS)


class QueueJobDefaults(BaseModel):
    """One queue's entry in WELLQUEUE_QUEUE_OPTIONS, Bull-style: {"attempts": 5, "delay": 0,
    "backoff": {"type": "fixed", "delay": 1000}} (backoff may also be a delay in ms), plus `timeout` (ms),
    `removeOnComplete` / `removeOnFail` (true, false, a count or {"count", "age"}), `concurrency` (threads
    per worker process), `globalConcurrency` (jobs in flight over every host) and `limiter`
    ({"max": 10, "duration": 1000})."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    delay: StrictInt | None = Field(default=None, ge=0, le=MAX_JOB_DELAY_MS)
    attempts: StrictInt | None = Field(default=None, ge=1, le=100)
    backoff: StrictInt | BackoffDefaults | None = None
    timeout: StrictInt | None = Field(default=None, ge=1, le=MAX_JOB_TIMEOUT_MS)
    remove_on_complete: bool | StrictInt | RetentionDefaults | None = Field(default=None, alias="removeOnComplete")
    remove_on_fail: bool | StrictInt | RetentionDefaults | None = Field(default=None, alias="removeOnFail")
    concurrency: StrictInt | None = Field(default=None, ge=1, le=1000)
    global_concurrency: StrictInt | None = Field(default=None, ge=1, le=100_000, alias="globalConcurrency")
    limiter: LimiterDefaults | None = None

    @field_validator("remove_on_complete", "remove_on_fail")
    @classmethod
    def _count_not_negative(cls, value):
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"a count to keep must be >= 0, got {value}")
        return value


class JobDefaults(BaseModel):
    """The options a job gets when its caller sets none (None: the queue's own default)."""

    delay_ms: int
    attempts: int
    backoff: dict
    timeout_ms: int | None = None
    remove_on_complete: bool | int | dict | None = None
    remove_on_fail: bool | int | dict | None = None


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _split_origins(value: str) -> list[str]:
    return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]


class SettingsError(ValueError):
    """The environment holds a value WellQueue cannot use; the message says which and why."""


class Settings(BaseSettings):
    """Everything configurable, from `WELLQUEUE_*` variables (and plain `REDIS_URL`)."""

    model_config = SettingsConfigDict(env_prefix="WELLQUEUE_", extra="ignore", hide_input_in_errors=True)

    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "WELLQUEUE_REDIS_URL"))
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("wellqueue")))
    namespace: str = "wellqueue"
    key_prefix: str | None = None  # registry keys' prefix; default `wq` for namespace wellqueue, else `{namespace}:wq`
    timezone: str = "America/Chicago"

    jwt_secret: SecretStr | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "wellqueue"
    jwt_audience: str = "wellqueue"

    kind_modules: list[str] = Field(default_factory=list)  # extra job kinds: modules exporting KIND
    concurrency: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    worker_processes: int = Field(default=1, ge=1, le=64)
    grace_seconds: float = Field(default=30.0, gt=0)
    heartbeat_timeout_ms: int = Field(default=15_000, ge=1000)
    cancel_grace_seconds: float = Field(default=10.0, gt=0, le=3600)  # a cancelled job that goes on is then stopped
    reaper_interval_s: float = Field(default=5.0, gt=0)
    console_bell: bool = True  # WELLQUEUE_CONSOLE_BELL: the console rings the terminal bell when an alert fires

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "wellqueue@localhost"
    smtp_starttls: bool = True

    webhook_secret: SecretStr | None = None
    webhook_allowed_networks: list[str] = Field(default_factory=list)  # hosts, addresses, CIDRs webhooks may reach
    webhook_allow_private: bool = False  # retired: refused when true, see _retired_allow_private

    max_payload_bytes: int = Field(default=DEFAULT_MAX_PAYLOAD_BYTES, ge=1024)
    # Acknowledged means replicated: writes that acknowledge a job wait for this many replicas (0: off) for at
    # most replica_timeout_ms, else raise ReplicationTimeout (jobs/replication.py).
    min_replicas: int = Field(default=0, ge=0, le=16)
    replica_timeout_ms: int = Field(default=1000, ge=1, le=60_000)
    demo_webhook_url: str | None = None  # a receiver for `wellqueue demo`'s webhook jobs; none without it

    # Job options when the caller sets none (BullMQ's defaultJobOptions); unset: each queue's own.
    default_job_delay: int | None = Field(default=None, ge=0, le=MAX_JOB_DELAY_MS)  # ms
    default_job_attempts: int | None = Field(default=None, ge=1, le=100)
    default_job_backoff_type: BackoffType | None = None
    default_job_backoff_delay: int | None = Field(default=None, ge=0, le=MAX_JOB_DELAY_MS)  # ms
    queue_options: dict[str, QueueJobDefaults] = Field(default_factory=dict)  # per queue, over the above

    # Browser origins allowed to call /api/jobs/* (CORS), comma-separated; empty: CORS off.
    cors_origins: str = ""

    @field_validator("redis_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(REDIS_URL_SCHEMES):
            raise ValueError(f"REDIS_URL must start with one of {', '.join(REDIS_URL_SCHEMES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/Chicago") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _explicit_origins(cls, value: str) -> str:
        for origin in _split_origins(value):
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin[:80]!r} is not an origin; list origins such as https://ops.example.com "
                    "(scheme and host, optional port, no path, no wildcard)"
                )
        return value

    @field_validator("concurrency")
    @classmethod
    def _positive_concurrency(cls, value: dict[str, int]) -> dict[str, int]:
        merged = dict(DEFAULT_CONCURRENCY)
        for queue, threads in value.items():
            if threads < 1:
                raise ValueError(f"concurrency for {queue!r} must be at least 1, got {threads}")
            merged[queue] = threads
        return merged

    def job_defaults(self, queue: str, *, attempts: int, backoff_ms: int, known_queues=None) -> JobDefaults:
        """Options for a job on `queue` whose caller set none: the queue's WELLQUEUE_QUEUE_OPTIONS entry,
        else WELLQUEUE_DEFAULT_JOB_*, else the queue's own `attempts` and exponential `backoff_ms`."""
        if known_queues is not None:
            unknown = sorted(set(self.queue_options) - set(known_queues))
            if unknown:
                raise SettingsError(
                    f"WELLQUEUE_QUEUE_OPTIONS names unknown queue(s) {', '.join(map(repr, unknown))}; "
                    f"known queues: {', '.join(sorted(known_queues))}"
                )
        own = self.queue_options.get(queue) or QueueJobDefaults()
        backoff = own.backoff if not isinstance(own.backoff, int) else BackoffDefaults(delay=own.backoff)
        backoff = backoff or BackoffDefaults()
        return JobDefaults(
            delay_ms=_first(own.delay, self.default_job_delay, 0),
            attempts=_first(own.attempts, self.default_job_attempts, attempts),
            backoff={
                "type": _first(backoff.type, self.default_job_backoff_type, "exponential"),
                "delay": _first(backoff.delay, self.default_job_backoff_delay, backoff_ms),
            },
            timeout_ms=own.timeout,
            remove_on_complete=_retention(own.remove_on_complete),
            remove_on_fail=_retention(own.remove_on_fail),
        )

    def worker_threads(self) -> dict[str, int]:
        """Threads per worker process for each queue: WELLQUEUE_CONCURRENCY, with a queue's
        WELLQUEUE_QUEUE_OPTIONS `concurrency` over it (which also gives that queue workers)."""
        threads = dict(self.concurrency)
        for queue, options in self.queue_options.items():
            if options.concurrency is not None:
                threads[queue] = options.concurrency
        return threads

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(_split_origins(self.cors_origins))

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _valid_allow_list(cls, value: list[str]) -> list[str]:
        return [str(parse_entry(entry)) for entry in value]

    @field_validator("webhook_allow_private")
    @classmethod
    def _retired_allow_private(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "is no longer supported: it opened every address to webhooks, cloud metadata included. Remove it "
                'and name what webhooks may reach in WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS, e.g. ["127.0.0.1/32", '
                '"hooks.internal"]'
            )
        return value

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def production_db(self) -> Path:
        return self.data_dir / "production.sqlite3"


def _first(*values):
    return next(value for value in values if value is not None)


def _retention(value: bool | int | RetentionDefaults | None) -> bool | int | dict | None:
    if isinstance(value, RetentionDefaults):
        return value.model_dump(exclude_none=True)
    return value


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one readable error that names each variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(err['loc'])}: {err['msg']}" for err in exc.errors())
        raise SettingsError(f"bad configuration: {problems}") from None
    except SourceError as exc:  # a JSON-valued variable that does not parse
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"WELLQUEUE_{field.group(1).upper()}" if field else "a WELLQUEUE_* variable"
        raise SettingsError(f"bad configuration: {name} is not valid JSON; give a JSON object") from None


def _variable(loc: tuple) -> str:
    """`WELLQUEUE_QUEUE_OPTIONS (webhooks.attempts)` for a value inside a JSON variable."""
    name, *inside = [str(part) for part in loc] or ["settings"]
    where = f" ({'.'.join(inside)})" if inside else ""
    return f"WELLQUEUE_{name.upper()}{where}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
