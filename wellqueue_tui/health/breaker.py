"""Circuit breakers per queue (opt-in): the store of their configuration and state, and the runner the
leader calls every few seconds. Opening pauses the queue with the ordinary pause action; half-open offers
one probe token that the pause gate honours (jobs/probe_gate.py); every transition is audited."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass

import redis
from pydantic import ValidationError

from ..auth.audit import AuditLog
from ..auth.identity import Identity, Role
from ..jobs import actions
from ..jobs.actions import ActionError
from ..jobs.keys import KeySchema
from ..jobs.registry import Registry
from ..sanitize import safe_str
from .breaker_state import (
    BreakerAction,
    BreakerConfig,
    BreakerState,
    Observation,
    ProbeOutcome,
    decide,
)

log = logging.getLogger(__name__)

#: Who the audit trail names for the breaker's own pauses and resumes.
BREAKER_IDENTITY = Identity(sub="circuit-breaker", role=Role.ADMIN)
AUDIT_ACTIONS = {
    "open": "breaker_open",
    "half_open": "breaker_half_open",
    "close": "breaker_close",
    "reopen": "breaker_reopen",
    "reset": "breaker_reset",
}


class BreakerError(ValueError):
    """A breaker configuration is invalid or missing; the message names the field or queue."""


@dataclass(frozen=True)
class BreakerTransition:
    queue: str
    action: BreakerAction
    state: BreakerState


class BreakerStore:
    """Configurations and states per queue (the schema's `breaker_config` and `breaker_state` hashes)."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.client = client
        self.keys = keys

    def configure(self, config: BreakerConfig) -> BreakerConfig:
        self.client.hset(self.keys.breaker_config, config.queue, config.model_dump_json())
        return config

    def remove(self, queue: str) -> None:
        """Forget the queue's breaker; a queue it holds paused stays paused (resume it by hand)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.breaker_config, queue)
            pipe.hdel(self.keys.breaker_state, queue)
            pipe.hdel(self.keys.breaker_probes, queue)
            pipe.hdel(self.keys.breaker_probe_jobs, queue)
            removed = pipe.execute()[0]
        if not removed:
            raise BreakerError(f"no circuit breaker on queue {safe_str(queue, 60)!r}")

    def configs(self) -> list[BreakerConfig]:
        found = []
        for queue, raw in self.client.hgetall(self.keys.breaker_config).items():
            try:
                found.append(BreakerConfig.model_validate_json(raw))
            except ValidationError:
                log.warning("circuit breaker config of %r is unreadable; that breaker is off", _text(queue)[:80])
        return sorted(found, key=lambda config: config.queue)

    def states(self) -> dict[str, BreakerState]:
        """Every queue's breaker state (queues with a config but no state yet are closed)."""
        found = {}
        for queue, raw in self.client.hgetall(self.keys.breaker_state).items():
            try:
                found[_text(queue)] = BreakerState.model_validate_json(raw)
            except ValidationError:
                continue
        return found


class CircuitBreakers:
    """Steps every enabled breaker; call `run_once()` from the leader loop (one process at a time)."""

    def __init__(self, client: redis.Redis, keys: KeySchema, *, audit: AuditLog | None = None) -> None:
        self.client = client
        self.keys = keys
        self.store = BreakerStore(client, keys)
        self.registry = Registry(client, keys)
        self.audit = audit or AuditLog(client, keys.audit)

    def run_once(self, now: float | None = None) -> list[BreakerTransition]:
        configs = [config for config in self.store.configs() if config.enabled]
        if not configs:
            return []
        now = now if now is not None else self.registry.server_time()
        states = self.store.states()
        paused = {_text(q) for q in self.client.smembers(self.keys.paused)}
        transitions = []
        for config in configs:
            state = states.get(config.queue) or BreakerState(queue=config.queue, since=now)
            finished, failed, current = self._outcomes(config, state, now)
            offered_at = state.probe_offered_at or state.since
            probe = self._probe(config.queue, offered_at) if state.status == "half_open" else "none"
            after, action = decide(config, state, Observation(finished, failed, config.queue in paused, probe), now)
            if action in ("close", "reset"):
                after = after.model_copy(update={"baseline": current})
            if action is None:
                continue
            try:
                self._carry_out(config.queue, action, after)
            except (ActionError, redis.RedisError) as exc:
                log.warning("circuit breaker on %s could not %s: %s", config.queue, action, exc)
                continue
            transitions.append(BreakerTransition(config.queue, action, after))
        return transitions

    def _outcomes(self, config: BreakerConfig, state: BreakerState, now: float) -> tuple[int, int, tuple[int, int]]:
        """(finished, failed) in the window since the breaker last closed, and the current minute's counts.
        The window is the current (partial) minute plus `window_minutes` whole ones before it, so failures
        just before a minute boundary still count right after it."""
        minute = int(now // 60)
        first = minute - config.window_minutes
        if state.closed_minute is not None:
            first = max(first, state.closed_minute)
        with self.client.pipeline(transaction=False) as pipe:
            for at in range(first, minute + 1):
                pipe.hmget(self.keys.stats(config.queue, at), "completed", "failed", "retried")
            rows = pipe.execute() if first <= minute else []
        finished = failed = 0
        current = (0, 0)
        for at, (c, f, r) in zip(range(first, minute + 1), rows):
            bad = int(f or 0) + int(r or 0)
            done = int(c or 0) + bad
            if at == state.closed_minute:  # only what finished after the breaker closed counts
                done, bad = done - state.baseline[0], bad - state.baseline[1]
            finished, failed = finished + max(done, 0), failed + max(bad, 0)
            if at == minute:
                current = (int(c or 0) + int(f or 0) + int(r or 0), int(f or 0) + int(r or 0))
        return finished, failed, current

    def _probe(self, queue: str, offered_at: float) -> ProbeOutcome:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hexists(self.keys.breaker_probes, queue)
            pipe.hget(self.keys.breaker_probe_jobs, queue)
            offered, job_id = pipe.execute()
        if job_id is None:
            return "offered" if offered else "lost"
        state, attempt_errors = self.client.hmget(self.keys.job(_text(job_id)), "state", "attempt_errors")
        match _text(state) if state is not None else None:
            case "completed":
                return "success"
            case "failed" | "delayed":
                return "failure"
            case None:
                return "lost"
        # Waiting again: its failed attempt was retried and the retry is already back in the (paused) queue.
        return "failure" if _failed_since(attempt_errors, offered_at) else "running"

    def _carry_out(self, queue: str, action: BreakerAction, state: BreakerState) -> None:
        if action == "open":
            actions.pause_queue(self.registry, queue)
        if action in ("half_open", "reoffer"):
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keys.breaker_probe_jobs, queue)
                pipe.hset(self.keys.breaker_probes, queue, uuid.uuid4().hex)
                pipe.hset(self.keys.breaker_state, queue, state.model_dump_json())
                pipe.execute()
        else:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keys.breaker_probes, queue)
                pipe.hdel(self.keys.breaker_probe_jobs, queue)
                pipe.hset(self.keys.breaker_state, queue, state.model_dump_json())
                pipe.execute()
        if action == "close":
            actions.resume_queue(self.registry, queue)
        if action == "reoffer":  # a token claimed while nothing waited: routine, not worth an audit entry
            log.debug("circuit breaker on %s: probe offered again", queue)
            return
        log.warning("circuit breaker on %s: %s (%s)", queue, action.replace("_", "-"), state.reason)
        self.audit.record(BREAKER_IDENTITY, AUDIT_ACTIONS[action], queue, 1, "ok", state.reason)


def _failed_since(attempt_errors: bytes | str | None, since: float) -> bool:
    """Whether the job's attempt history (`[[attempt, at_ms, error], ...]`) holds a failure at or after `since`."""
    try:
        history = json.loads(attempt_errors) if attempt_errors else []
        return any(float(entry[1]) / 1000 >= since for entry in history)
    except (ValueError, TypeError, IndexError):
        return False


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
