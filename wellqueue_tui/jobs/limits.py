"""Queue limits: a rate limit (at most `max` jobs started in any `duration`, BullMQ's `limiter`) and a cap on a
queue's jobs in flight over every host (BullMQ Pro's global concurrency). Both are enforced by the fetch script
(lua/fetch.lua) on every fetch, from one hash per queue, so a change reaches every host's next fetch.

The hash holds what the configuration says (WELLQUEUE_QUEUE_OPTIONS `limiter`, `globalConcurrency`: written by
each worker process at start) and what an operator set live (`wellqueue limit`, the console), which wins
until the operator gives the queue back to its configuration (`config`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

from ..settings import MAX_RATE_LIMIT_DURATION_MS, MAX_RATE_LIMIT_JOBS, Settings
from .keys import KeySchema
from .models import QueueLimits, RateLimit

#: The words a limit change takes besides a value: no limit, or back to the configuration.
OFF = "off"
CONFIG = "config"
MAX_CONCURRENCY_CAP = 100_000

_UNIT_MS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "second": 1000,
    "m": 60_000,
    "min": 60_000,
    "minute": 60_000,
    "h": 3_600_000,
    "hour": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
}
_RATE = re.compile(r"(\d{1,9})\s*/\s*(\d{0,9})\s*([a-z]+)")
LIMIT_FIELDS = ("max", "duration", "concurrency", "op_max", "op_duration", "op_concurrency")


class LimitError(ValueError):
    """A limit the store cannot take; the message shows the accepted form."""


def parse_rate(text: str) -> RateLimit | None:
    """`10/s`, `600/min`, `100/30s`, `5/1500ms` as a RateLimit; `off` as None."""
    cleaned = text.strip().lower()
    if cleaned == OFF:
        return None
    match = _RATE.fullmatch(cleaned)
    if not match or match.group(3) not in _UNIT_MS:
        raise LimitError(
            f"bad rate limit {text[:30]!r}: use MAX/DURATION, e.g. 10/s, 600/min, 100/30s, 5/1500ms, or off"
        )
    count, per, unit = match.groups()
    rate = RateLimit(int(count), int(per or 1) * _UNIT_MS[unit])
    if not 1 <= rate.max <= MAX_RATE_LIMIT_JOBS:
        raise LimitError(f"a rate limit allows 1 to {MAX_RATE_LIMIT_JOBS} jobs per window, got {rate.max}")
    if not 1 <= rate.duration_ms <= MAX_RATE_LIMIT_DURATION_MS:
        raise LimitError(f"a rate limit's window is 1 ms to 1 day, got {rate.duration_ms} ms")
    return rate


def parse_concurrency(text: str) -> int | None:
    """A cap on jobs in flight over every host (`5`); `off` as None."""
    cleaned = text.strip().lower()
    if cleaned == OFF:
        return None
    if not cleaned.isdigit() or not 1 <= int(cleaned) <= MAX_CONCURRENCY_CAP:
        raise LimitError(f"bad concurrency cap {text[:30]!r}: use 1 to {MAX_CONCURRENCY_CAP} jobs, or off")
    return int(cleaned)


def configured_limits(settings: Settings) -> dict[str, tuple[RateLimit | None, int | None]]:
    """Each queue's configured rate limit and cluster cap (WELLQUEUE_QUEUE_OPTIONS), for queues that name one."""
    limits = {}
    for queue, options in settings.queue_options.items():
        rate = RateLimit(options.limiter.max, options.limiter.duration) if options.limiter else None
        if rate is not None or options.global_concurrency is not None:
            limits[queue] = (rate, options.global_concurrency)
    return limits


class LimitStore:
    """Reads and writes the queues' limit hashes (`KeySchema.queue_limits`)."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.client = client
        self.keys = keys

    def read(self, queues: list[str]) -> dict[str, QueueLimits]:
        with self.client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.hmget(self.keys.queue_limits(queue), *LIMIT_FIELDS)
            replies = pipe.execute(raise_on_error=False)
        return {
            queue: limits_from(reply) if isinstance(reply, list) else QueueLimits()
            for queue, reply in zip(queues, replies)
        }

    def set_rate(self, queue: str, spec: str) -> QueueLimits:
        """Apply `10/s`, `off` or `config` (drop the live setting: the configured limit applies again)."""
        key = self.keys.queue_limits(queue)
        if spec.strip().lower() == CONFIG:
            self.client.hdel(key, "op_max", "op_duration")
        else:
            rate = parse_rate(spec)
            self.client.hset(
                key, mapping={"op_max": rate.max if rate else 0, "op_duration": rate.duration_ms if rate else 0}
            )
        return self.read([queue])[queue]

    def set_concurrency(self, queue: str, spec: str) -> QueueLimits:
        """Apply a cap (`5`), `off` or `config`."""
        key = self.keys.queue_limits(queue)
        if spec.strip().lower() == CONFIG:
            self.client.hdel(key, "op_concurrency")
        else:
            self.client.hset(key, "op_concurrency", parse_concurrency(spec) or 0)
        return self.read([queue])[queue]

    def install_configured(self, limits: dict[str, tuple[RateLimit | None, int | None]], queues: list[str]) -> None:
        """Write the configured limits of `queues` (a worker process's own, at start); a queue the configuration
        names no limit for loses its configured one. Live settings are left alone."""
        with self.client.pipeline(transaction=True) as pipe:
            for queue in queues:
                key = self.keys.queue_limits(queue)
                rate, cap = limits.get(queue, (None, None))
                if rate is not None:
                    pipe.hset(key, mapping={"max": rate.max, "duration": rate.duration_ms})
                else:
                    pipe.hdel(key, "max", "duration")
                if cap is not None:
                    pipe.hset(key, "concurrency", cap)
                else:
                    pipe.hdel(key, "concurrency")
            pipe.execute()


def limits_from(values: list) -> QueueLimits:
    """A QueueLimits from the hash's fields, in `LIMIT_FIELDS` order (missing ones None)."""
    cfg_max, cfg_duration, cfg_cap, op_max, op_duration, op_cap = (_number(v) for v in values)
    configured_rate = RateLimit(cfg_max, cfg_duration) if cfg_max and cfg_duration else None
    configured_cap = cfg_cap or None
    rate_live, cap_live = op_max is not None, op_cap is not None
    rate = (RateLimit(op_max, op_duration) if op_max and op_duration else None) if rate_live else configured_rate
    cap = (op_cap or None) if cap_live else configured_cap
    return QueueLimits(rate, cap, configured_rate, configured_cap, rate_live, cap_live)


def _number(value: bytes | str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class LimitChange:
    """What `wellqueue limit` / the console asks for: a rate spec and/or a cap spec (None: leave it)."""

    rate: str | None = None
    concurrency: str | None = None

    def validate(self) -> None:
        """Raise LimitError before anything is written when either spec is malformed."""
        if self.rate is None and self.concurrency is None:
            raise LimitError("give a rate limit (e.g. 10/s, off, config) or a concurrency cap (e.g. 5, off, config)")
        if self.rate is not None and self.rate.strip().lower() != CONFIG:
            parse_rate(self.rate)
        if self.concurrency is not None and self.concurrency.strip().lower() != CONFIG:
            parse_concurrency(self.concurrency)

    def apply(self, store: LimitStore, queue: str) -> QueueLimits:
        self.validate()
        limits = store.read([queue])[queue]
        if self.rate is not None:
            limits = store.set_rate(queue, self.rate)
        if self.concurrency is not None:
            limits = store.set_concurrency(queue, self.concurrency)
        return limits

    def describe(self) -> str:
        parts = []
        if self.rate is not None:
            parts.append(f"rate {self.rate.strip()}")
        if self.concurrency is not None:
            parts.append(f"concurrency {self.concurrency.strip()}")
        return ", ".join(parts)
