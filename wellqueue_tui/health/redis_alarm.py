"""The Redis-unreachable alert, watched locally: an outage cannot be written to Redis, so each console or
`--workers-only` host keeps it in memory (banner, log line, exit code, metrics) and, once Redis answers
again, records the outage once for the whole cluster and enqueues its notifications."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from ..connection import transaction_value
from ..jobs.keys import KeySchema
from ..settings import Settings
from .alert_rules import EVERY_QUEUE, AlertRule, AlertStore, default_rules
from .alert_state import AlertState, alert_state_field
from .notifications import EnqueueFn, notifications_for, send

log = logging.getLogger(__name__)

RULE_NAME = "redis-connection"
#: While Redis stays away, the log says so again this often.
REPEAT_LOG_S = 60.0
#: How often a host pings Redis for this alert.
CHECK_INTERVAL_S = 5.0


@dataclass(frozen=True)
class RedisAlarmStatus:
    """What a console shows: whether Redis answers, since when it does not, and whether that fires."""

    reachable: bool
    down_since: float | None  # local clock: Redis cannot lend its own
    firing: bool
    error: str | None

    def describe(self, now: float | None = None) -> str:
        if self.reachable:
            return "Redis reachable"
        down_for = (now if now is not None else time.time()) - (self.down_since or 0)
        return f"Redis unreachable for {down_for:.0f} s: {self.error or 'no answer'}"


class LocalRedisAlarm:
    """Call `check()` every few seconds (console refresh, headless loop); it never raises for Redis errors."""

    def __init__(
        self,
        client: redis.Redis,
        keys: KeySchema,
        enqueue_fn: EnqueueFn | None,
        *,
        rule: AlertRule | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.keys = keys
        self.enqueue_fn = enqueue_fn
        self._fallback_rule = rule or next(r for r in default_rules() if r.name == RULE_NAME)
        self._rule = self._fallback_rule
        self.clock = clock
        self.down_since: float | None = None
        self.fired_at: float | None = None
        self.error: str | None = None
        self._logged_at: float | None = None

    def check(self) -> RedisAlarmStatus:
        now = self.clock()
        try:
            self.client.ping()
        except (redis.RedisError, OSError) as exc:
            if self.down_since is None:
                self.down_since = self._logged_at = now
                log.error("Redis unreachable: %s", exc)
            elif now - (self._logged_at or now) >= REPEAT_LOG_S:
                self._logged_at = now
                log.error("Redis still unreachable after %.0f s: %s", now - self.down_since, exc)
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            if self.fired_at is None and self._rule.enabled and now - self.down_since >= self._rule.for_s:
                self.fired_at = now
                log.critical("ALERT %s: Redis unreachable since %.0f s", RULE_NAME, now - self.down_since)
            return RedisAlarmStatus(False, self.down_since, self.fired_at is not None, self.error)
        if self.down_since is not None:
            self._recovered(now)
        else:
            self._refresh_rule()
        return RedisAlarmStatus(True, None, False, None)

    def _refresh_rule(self) -> None:
        """Keep the stored rule at hand (its hold time and recipients) for the next outage."""
        with contextlib.suppress(redis.RedisError, ValueError):
            self._rule = AlertStore(self.client, self.keys).get(RULE_NAME) or self._fallback_rule

    def _recovered(self, now: float) -> None:
        down_since, fired_at = self.down_since, self.fired_at
        try:
            if fired_at is not None:
                log.warning("Redis reachable again after %.0f s; recording the outage", now - (down_since or now))
                self._report(down_since or now, fired_at, now)
            else:
                log.warning("Redis reachable again after %.0f s", now - (down_since or now))
        except (redis.RedisError, OSError) as exc:
            log.warning("Redis answered but the outage could not be recorded yet: %s", exc)
            return  # keep the outage; the next check tries again
        self.down_since = self.fired_at = self.error = None

    def _report(self, down_since: float, fired_at: float, now: float) -> None:
        """Record the outage unless another process already recorded one that overlaps it, then notify."""
        key = alert_state_field(RULE_NAME, EVERY_QUEUE)

        def apply(pipe: redis.client.Pipeline) -> AlertState | None:
            raw = pipe.hget(self.keys.alert_state, key)
            known = AlertState.model_validate_json(raw) if raw else None
            if known is not None and known.resolved_at is not None and known.resolved_at >= down_since:
                return None  # the same outage, seen and reported by another process
            state = AlertState(
                rule=RULE_NAME,
                queue=EVERY_QUEUE,
                kind="redis_unreachable",
                status="ok",
                since=now,
                value=now - down_since,
                fired_at=fired_at,
                resolved_at=now,
            )
            pipe.multi()
            pipe.hset(self.keys.alert_state, key, state.model_dump_json())
            for event, at in (("fired", fired_at), ("resolved", now)):
                pipe.xadd(
                    self.keys.alert_history,
                    {
                        "at": f"{at:.3f}",
                        "rule": RULE_NAME,
                        "queue": EVERY_QUEUE,
                        "event": event,
                        "value": f"{now - down_since:.0f}",
                        "detail": f"Redis unreachable from {down_since:.0f} to {now:.0f}",
                    },
                    maxlen=10_000,
                    approximate=True,
                )
            return state

        state = transaction_value(self.client, apply, self.keys.alert_state)
        if state is None or self.enqueue_fn is None:
            return
        rule = AlertStore(self.client, self.keys).get(RULE_NAME) or self._rule
        if rule.muted(now):
            return
        send(self.enqueue_fn, notifications_for(rule, state, "fired") + notifications_for(rule, state, "resolved"))


def local_redis_alarm(settings: Settings, url: str, client: redis.Redis) -> LocalRedisAlarm:
    """The alarm a console or `--workers-only` host runs: it notifies through a broker built once Redis is back."""
    from ..jobs import enqueue
    from ..jobs.broker import build_broker

    broker = None

    def enqueue_fn(queue: str, payload: dict, **options) -> str:
        nonlocal broker
        if broker is None:  # built on first use: Redis is reachable again by then
            broker = build_broker(url, settings=settings, client=client)
        return enqueue(queue, payload, broker=broker, **options)

    return LocalRedisAlarm(client, KeySchema.from_settings(settings), enqueue_fn)


async def keep_checking(alarm: LocalRedisAlarm, interval_s: float = CHECK_INTERVAL_S) -> None:
    """Check the alarm off the event loop until cancelled (the console runs this beside its app)."""
    while True:
        await asyncio.to_thread(alarm.check)
        await asyncio.sleep(interval_s)
