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
from ..jobs.destinations import DestinationHold, hold_field, split_field
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
        """Forget the queue's breaker (and its per-destination ones, releasing their holds); a queue it holds
        paused stays paused (resume it by hand)."""
        own = [queue, *(f for f in map(_text, self.client.hkeys(self.keys.breaker_state)) if f.startswith(f"{queue}@"))]
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.breaker_config, queue)
            for key in (self.keys.breaker_state, self.keys.breaker_probes, self.keys.breaker_probe_jobs):
                pipe.hdel(key, *own)
            pipe.hdel(self.keys.destination_holds, *own)
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
            if config.per_destination:
                held = {_text(field) for field in self.client.hkeys(self.keys.destination_holds)}
                for target, tallies in self._destination_tallies(config, states, now).items():
                    transitions += self._step(config, target, states, tallies, target in held, now)
            else:
                tallies = self._queue_tallies(config, now)
                transitions += self._step(config, config.queue, states, tallies, config.queue in paused, now)
        return transitions

    def _step(
        self,
        config: BreakerConfig,
        target: str,
        states: dict[str, BreakerState],
        tallies: list[Tally],
        holding: bool,
        now: float,
    ) -> list[BreakerTransition]:
        """Move one breaker (of a queue, or of one destination of it) and carry out what that asks."""
        state = states.get(target) or BreakerState(queue=target, since=now)
        finished, failed, current = _count(tallies, state)
        offered_at = state.probe_offered_at or state.since
        probe = self._probe(target, offered_at) if state.status == "half_open" else "none"
        after, action = decide(config, state, Observation(finished, failed, holding, probe), now)
        if action in ("close", "reset"):
            after = after.model_copy(update={"baseline": current})
        if action is None:
            return []
        try:
            self._carry_out(target, action, after, config)
        except (ActionError, redis.RedisError) as exc:
            log.warning("circuit breaker on %s could not %s: %s", target, action, exc)
            return []
        return [BreakerTransition(target, action, after)]

    def _window(self, config: BreakerConfig, now: float) -> range:
        """The current (partial) minute plus `window_minutes` whole ones before it, so failures just before a
        minute boundary still count right after it."""
        minute = int(now // 60)
        return range(minute - config.window_minutes, minute + 1)

    def _queue_tallies(self, config: BreakerConfig, now: float) -> list[Tally]:
        minutes = self._window(config, now)
        with self.client.pipeline(transaction=False) as pipe:
            for at in minutes:
                pipe.hmget(self.keys.stats(config.queue, at), "completed", "failed", "retried")
            rows = pipe.execute()
        tallies = []
        for at, (c, f, r) in zip(minutes, rows):
            bad = int(f or 0) + int(r or 0)
            tallies.append(Tally(at, int(c or 0) + bad, bad))
        return tallies

    def _destination_tallies(
        self, config: BreakerConfig, states: dict[str, BreakerState], now: float
    ) -> dict[str, list[Tally]]:
        """Per destination seen in the window (or whose breaker is not closed): its attempts per minute."""
        minutes = self._window(config, now)
        with self.client.pipeline(transaction=False) as pipe:
            for at in minutes:
                pipe.hgetall(self.keys.destination_stats(config.queue, at))
            rows = pipe.execute()
        counts: dict[str, dict[int, list[int]]] = {}
        for at, row in zip(minutes, rows):
            for name, value in row.items():
                destination, _, outcome = _text(name).rpartition("|")
                done_bad = counts.setdefault(hold_field(config.queue, destination), {}).setdefault(at, [0, 0])
                done_bad[0] += int(value)
                done_bad[1] += int(value) if outcome == "failed" else 0
        for target, state in states.items():
            if state.status != "closed" and split_field(target)[0] == config.queue and "@" in target:
                counts.setdefault(target, {})
        return {
            target: [Tally(at, *per_minute.get(at, (0, 0))) for at in minutes] for target, per_minute in counts.items()
        }

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

    def _carry_out(self, target: str, action: BreakerAction, state: BreakerState, config: BreakerConfig) -> None:
        if action in ("open", "reopen") and config.per_destination:  # hold back the jobs bound for it
            self.client.hset(self.keys.destination_holds, target, _hold_of(state))
        elif action == "open":
            actions.pause_queue(self.registry, target)
        if action in ("half_open", "reoffer"):
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keys.breaker_probe_jobs, target)
                pipe.hset(self.keys.breaker_probes, target, uuid.uuid4().hex)
                pipe.hset(self.keys.breaker_state, target, state.model_dump_json())
                pipe.execute()
        else:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keys.breaker_probes, target)
                pipe.hdel(self.keys.breaker_probe_jobs, target)
                pipe.hset(self.keys.breaker_state, target, state.model_dump_json())
                pipe.execute()
        if action in ("close", "reset") and config.per_destination:
            self.client.hdel(self.keys.destination_holds, target)
        elif action == "close":
            actions.resume_queue(self.registry, target)
        if action == "reoffer":  # a token claimed while nothing waited: routine, not worth an audit entry
            log.debug("circuit breaker on %s: probe offered again", target)
            return
        log.warning("circuit breaker on %s: %s (%s)", target, action.replace("_", "-"), state.reason)
        self.audit.record(BREAKER_IDENTITY, AUDIT_ACTIONS[action], target, 1, "ok", state.reason)


@dataclass(frozen=True)
class Tally:
    """Attempts that finished in one minute, and how many of them failed."""

    minute: int
    done: int
    bad: int


def _count(tallies: list[Tally], state: BreakerState) -> tuple[int, int, tuple[int, int]]:
    """(finished, failed) in the window since the breaker last closed, and the current minute's counts: only
    what finished after the breaker closed counts, so the failures that opened it are not counted again."""
    finished = failed = 0
    current = (0, 0)
    for tally in tallies:
        if state.closed_minute is not None and tally.minute < state.closed_minute:
            continue
        done, bad = tally.done, tally.bad
        if tally.minute == state.closed_minute:
            done, bad = done - state.baseline[0], bad - state.baseline[1]
        finished, failed = finished + max(done, 0), failed + max(bad, 0)
    if tallies:
        current = (tallies[-1].done, tallies[-1].bad)
    return finished, failed, current


def _hold_of(state: BreakerState) -> str:
    """Held jobs wait out the cool-down, then look again as often while the breaker probes."""
    cooldown_ms = int(state.cooldown_s * 1000)
    return DestinationHold(until_ms=int(state.since * 1000) + cooldown_ms, every_ms=cooldown_ms).encode()


def _failed_since(attempt_errors: bytes | str | None, since: float) -> bool:
    """Whether the job's attempt history (`[[attempt, at_ms, error], ...]`) holds a failure at or after `since`."""
    try:
        history = json.loads(attempt_errors) if attempt_errors else []
        return any(float(entry[1]) / 1000 >= since for entry in history)
    except (ValueError, TypeError, IndexError):
        return False


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
