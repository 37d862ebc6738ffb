"""Bull-style job options, validated once at enqueue and carried in the Dramatiq message options."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.@+=-]{0,127}")
#: Priorities run 1 first, up to BullMQ's bound; documents counting the other way translate at their edge.
MAX_PRIORITY = 2**21
MAX_DELAY_MS = 7 * 24 * 3600 * 1000 - 1

#: Reference defaults: 3 attempts, exponential backoff from 2 s, keep 100 completed and 50 failed per queue.
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_MS = 2000
DEFAULT_KEEP_COMPLETED = 100
DEFAULT_KEEP_FAILED = 50


class Backoff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["exponential", "fixed"] = "exponential"
    delay: StrictInt = Field(default=DEFAULT_BACKOFF_MS, ge=0, le=MAX_DELAY_MS)

    def delay_ms(self, attempt: int) -> int:
        """Delay before the retry that follows failed attempt number `attempt` (1-based), as Bull computes it."""
        if self.type == "fixed":
            return self.delay
        return min(self.delay * 2 ** (attempt - 1), MAX_DELAY_MS)


class Retention(BaseModel):
    """Keep at most `count` jobs (-1: no limit) and none older than `age_s` (0: no age limit)."""

    model_config = ConfigDict(extra="forbid")

    count: StrictInt = Field(default=-1, ge=-1)
    age_s: StrictInt = Field(default=0, ge=0, alias="age")

    @classmethod
    def parse(cls, value: bool | int | dict | Retention | None, default_count: int) -> Retention:
        if value is None:
            return cls(count=default_count)
        if isinstance(value, Retention):
            return value
        if isinstance(value, bool):  # Bull: true removes at once, false keeps everything
            return cls(count=0 if value else -1)
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"a count to keep must be >= 0, got {value}")
            return cls(count=value)
        if not isinstance(value, dict):
            raise ValueError('use true, false, a count to keep, or {"count": N, "age": SECONDS}')
        return cls.model_validate(value)


class JobOptions(BaseModel):
    """What a caller may ask of one job; errors name the option."""

    model_config = ConfigDict(extra="forbid")

    job_id: str | None = None
    priority: StrictInt | None = Field(default=None, ge=1, le=MAX_PRIORITY)
    delay_ms: StrictInt | None = Field(default=None, ge=0, le=MAX_DELAY_MS)
    attempts: StrictInt = Field(default=DEFAULT_ATTEMPTS, ge=1, le=100)
    backoff: Backoff = Field(default_factory=Backoff)
    timeout_ms: StrictInt | None = Field(default=None, ge=1, le=24 * 3600 * 1000)
    remove_on_complete: Retention = Field(default_factory=lambda: Retention(count=DEFAULT_KEEP_COMPLETED))
    remove_on_fail: Retention = Field(default_factory=lambda: Retention(count=DEFAULT_KEEP_FAILED))

    @field_validator("job_id")
    @classmethod
    def _valid_job_id(cls, value: str | None) -> str | None:
        if value is not None and not JOB_ID_PATTERN.fullmatch(value):
            raise ValueError(
                "job_id must be 1-128 characters of letters, digits and :_.@+=- (starting with a letter or digit)"
            )
        return value

    @classmethod
    def build(
        cls,
        *,
        job_id=None,
        priority=None,
        delay_ms=None,
        attempts=None,
        backoff=None,
        timeout_ms=None,
        remove_on_complete=None,
        remove_on_fail=None,
        default_attempts: int = DEFAULT_ATTEMPTS,
        default_backoff_ms: int = DEFAULT_BACKOFF_MS,
    ) -> JobOptions:
        if isinstance(backoff, int) and not isinstance(backoff, bool):
            backoff = {"type": "exponential", "delay": backoff}
        retention = {}
        for name, value, default in (
            ("remove_on_complete", remove_on_complete, DEFAULT_KEEP_COMPLETED),
            ("remove_on_fail", remove_on_fail, DEFAULT_KEEP_FAILED),
        ):
            try:
                retention[name] = Retention.parse(value, default)
            except ValueError as exc:  # pydantic's ValidationError included
                raise ValueError(f"{name}: {_first_problem(exc)}") from None
        return cls.model_validate(
            {
                "job_id": job_id,
                "priority": priority,
                "delay_ms": None if delay_ms == 0 and not isinstance(delay_ms, bool) else delay_ms,
                "attempts": attempts if attempts is not None else default_attempts,
                "backoff": backoff if backoff is not None else {"delay": default_backoff_ms},
                "timeout_ms": timeout_ms,
                **retention,
            }
        )

    def message_options(self) -> dict:
        """The Dramatiq message options that carry these settings to the worker."""
        options: dict = {
            "wq_attempts": self.attempts,
            "wq_backoff": self.backoff.model_dump(),
            "wq_keep": [
                self.remove_on_complete.count,
                self.remove_on_complete.age_s * 1000,
                self.remove_on_fail.count,
                self.remove_on_fail.age_s * 1000,
            ],
        }
        if self.priority is not None:
            options["wq_priority"] = self.priority
        if self.timeout_ms is not None:
            options["time_limit"] = self.timeout_ms
        return options


def _first_problem(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return str(exc)
