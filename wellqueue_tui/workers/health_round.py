"""The leader's health round, run with the reaper every few seconds: install the default alert rules once,
step the circuit breakers, then evaluate the alert rules. Each part logs a Redis error and lets the next
round try again."""

from __future__ import annotations

import logging

import redis

from ..health.alert_rules import AlertStore
from ..health.alerts import AlertEvaluator
from ..health.breaker import CircuitBreakers
from ..health.notifications import EnqueueFn
from ..jobs.keys import KeySchema

logger = logging.getLogger(__name__)


class LeaderHealthRound:
    """Call it from the leader's tick; it never raises for Redis errors."""

    def __init__(
        self, client: redis.Redis, keys: KeySchema, enqueue_fn: EnqueueFn, *, heartbeat_timeout_ms: int
    ) -> None:
        self.alert_store = AlertStore(client, keys)
        self.breakers = CircuitBreakers(client, keys)
        self.evaluator = AlertEvaluator(client, keys, enqueue_fn, heartbeat_timeout_ms=heartbeat_timeout_ms)
        self._defaults_installed = False

    def __call__(self) -> None:
        if not self._defaults_installed:
            try:
                installed = self.alert_store.install_defaults()
                self._defaults_installed = True
                if installed:
                    logger.info("installed default alert rules: %s", ", ".join(installed))
            except redis.RedisError as exc:
                logger.warning("Default alert rules not installed yet (Redis: %s); next round tries again", exc)
        try:
            self.breakers.run_once()
        except redis.RedisError as exc:
            logger.warning("Circuit breakers skipped a round (Redis: %s)", exc)
        try:
            report = self.evaluator.run_once()
            for error in report.errors:
                logger.warning("Alert evaluation: %s", error)
        except redis.RedisError as exc:
            logger.warning("Alert evaluation skipped a round (Redis: %s)", exc)
