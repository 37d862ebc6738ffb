"""The alert evaluator (run by the leader every few seconds) and the reads behind the alert bar and history.

`run_once` reads the rules and the health of the queues they watch, steps every (rule, queue) state in one
optimistic transaction (WATCH the state hash, MULTI: states plus history entries), then enqueues the
notifications of the committed transitions with ids fixed by the firing: two evaluators racing commit one
transition, and even when both send, the idempotent ids leave one job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from ..jobs.keys import KeySchema
from .alert_rules import EVERY_QUEUE, AlertRule, AlertStore
from .alert_state import AlertState, Transition, alert_state_field, step
from .notifications import EnqueueFn, notifications_for, send
from .queue_health import QueueHealth, read_health, record_backlog

log = logging.getLogger(__name__)

HISTORY_MAXLEN = 10_000
COMMIT_TRIES = 5
#: Kinds evaluated from Redis; `redis_unreachable` is watched locally (LocalRedisAlarm), Redis being away.
EVALUATED_KINDS = frozenset({"waiting_depth", "failure_rate", "stuck_jobs", "latency", "no_consumer", "crash_loop"})


@dataclass(frozen=True)
class HistoryEntry:
    """One firing or resolution, newest first in `alert_history`."""

    id: str
    at: float
    rule: str
    queue: str
    event: str
    value: float | None
    detail: str


@dataclass
class EvaluationReport:
    """What one `run_once` did: transitions it committed and notifications it enqueued."""

    transitions: list[tuple[str, str, Transition]] = field(default_factory=list)  # (rule, queue, transition)
    notified: int = 0
    errors: list[str] = field(default_factory=list)


class AlertEvaluator:
    """Steps every enabled rule on every queue it watches; call `run_once()` from the leader loop."""

    def __init__(
        self,
        client: redis.Redis,
        keys: KeySchema,
        enqueue_fn: EnqueueFn | None,
        *,
        heartbeat_timeout_ms: int = 15_000,
        on_transition: Callable[[AlertRule, AlertState, Transition], None] | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        self.enqueue_fn = enqueue_fn
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.on_transition = on_transition  # e.g. the console's bell; runs after the commit
        self.store = AlertStore(client, keys)

    def run_once(self, now: float | None = None) -> EvaluationReport:
        """One evaluation round; `now` (Redis server time) defaults to the time of the health reads."""
        rules = [rule for rule in self.store.list() if rule.enabled and rule.kind in EVALUATED_KINDS]
        queues = sorted(_text(q) for q in self.client.smembers(self.keys.queues))
        health = read_health(self.client, self.keys, queues, heartbeat_timeout_ms=self.heartbeat_timeout_ms)
        record_backlog(self.client, self.keys, health)
        now = now if now is not None else (health[0].at if health else _server_time(self.client))
        values = evaluate_values(rules, {h.queue: h for h in health}, self._failure_rates(rules, queues, now))
        report = EvaluationReport()
        committed = self._commit(rules, values, now, report)
        self._deliver(rules, committed, report)
        return report

    def _failure_rates(
        self, rules: list[AlertRule], queues: list[str], now: float
    ) -> dict[tuple[int, int, str], float | None]:
        """Failure share per (window, min samples, queue), from the per-minute stats hashes."""
        wanted = sorted({(r.window_minutes, r.min_samples) for r in rules if r.kind == "failure_rate"})
        minute = int(now // 60)
        keys = [(w, m, q) for w, m in wanted for q in queues]
        with self.client.pipeline(transaction=False) as pipe:
            for window, _min_samples, queue in keys:
                for at in range(minute - window + 1, minute + 1):
                    pipe.hmget(self.keys.stats(queue, at), "completed", "failed", "retried")
            replies = iter(pipe.execute())
        rates = {}
        for window, min_samples, queue in keys:
            completed = failed = 0
            for _ in range(window):
                c, f, r = next(replies)
                completed += int(c or 0)
                failed += int(f or 0) + int(r or 0)
            total = completed + failed
            rates[(window, min_samples, queue)] = failed / total if total >= min_samples else None
        return rates

    def _commit(
        self, rules: list[AlertRule], values: dict[tuple[str, str], float | None], now: float, report: EvaluationReport
    ) -> dict[str, AlertState]:
        """Step and store every state in one WATCH/MULTI; retried when another evaluator wrote meanwhile.
        Returns the states that have notifications to send."""
        by_name = {rule.name: rule for rule in rules}
        for _ in range(COMMIT_TRIES):
            try:
                with self.client.pipeline(transaction=True) as pipe:
                    pipe.watch(self.keys.alert_state)
                    stored = _read_states(pipe.hgetall(self.keys.alert_state))
                    changes: dict[str, AlertState] = {}
                    transitions = []
                    for (name, queue), value in values.items():
                        key = alert_state_field(name, queue)
                        before = stored.get(key) or AlertState(rule=name, queue=queue, since=now)
                        after, transition = step(by_name[name], before, value, now)
                        if after.kind != by_name[name].kind:
                            after = after.model_copy(update={"kind": by_name[name].kind})
                        if after != before:
                            changes[key] = after
                        if transition:
                            transitions.append((by_name[name], after, transition))
                    pipe.multi()
                    for key, state in changes.items():
                        pipe.hset(self.keys.alert_state, key, state.model_dump_json())
                    for rule, state, transition in transitions:
                        pipe.xadd(
                            self.keys.alert_history,
                            _history_fields(rule, state, transition, now),  # type: ignore[arg-type]
                            maxlen=HISTORY_MAXLEN,
                            approximate=True,
                        )
                    pipe.execute()
            except redis.WatchError:
                continue
            for rule, state, transition in transitions:
                report.transitions.append((rule.name, state.queue, transition))
                log.warning("alert %s %s on %s (value %s)", rule.name, transition, state.queue, state.value)
                if self.on_transition:
                    self.on_transition(rule, state, transition)
            merged = {**stored, **changes}
            return {key: state for key, state in merged.items() if state.outbox and state.rule in by_name}
        report.errors.append("alert state kept changing under this evaluator; will try again next round")
        return {}

    def _deliver(self, rules: list[AlertRule], pending: dict[str, AlertState], report: EvaluationReport) -> None:
        """Enqueue pending notifications (idempotent ids), then clear what was sent from each outbox."""
        if not pending:
            return
        by_name = {rule.name: rule for rule in rules}
        now = _server_time(self.client)
        sent: dict[str, tuple[list[Transition], str | None]] = {}
        for key, state in pending.items():
            rule = by_name[state.rule]
            error = None
            if self.enqueue_fn is not None and not rule.muted(now):
                for transition in state.outbox:
                    items = notifications_for(rule, state, transition)
                    error = send(self.enqueue_fn, items) or error
                    report.notified += len(items)
            elif self.enqueue_fn is None:
                continue  # nothing can be enqueued here: leave the outbox for an evaluator that can
            if error:
                report.errors.append(error)
            sent[key] = (list(state.outbox), error)
        _clear_outboxes(self.client, self.keys, sent)


def evaluate_values(
    rules: list[AlertRule], health: dict[str, QueueHealth], failure_rates: dict[tuple[int, int, str], float | None]
) -> dict[tuple[str, str], float | None]:
    """The value each (rule, queue) pair is judged on; a rule on `*` covers every known queue."""
    values = {}
    for rule in rules:
        queues = sorted(health) if rule.queue == EVERY_QUEUE else [rule.queue]
        for queue in queues:
            item = health.get(queue)
            values[(rule.name, queue)] = None if item is None else _value(rule, item, failure_rates)
    return values


def _value(rule: AlertRule, item: QueueHealth, failure_rates: dict) -> float | None:
    match rule.kind:
        case "waiting_depth":
            return float(item.waiting)
        case "failure_rate":
            return failure_rates.get((rule.window_minutes, rule.min_samples, item.queue))
        case "stuck_jobs":
            return float(item.stuck)
        case "latency":
            return item.latency_s or 0.0
        case "no_consumer":
            return 1.0 if item.consumers == 0 and item.waiting > 0 else 0.0
        case "crash_loop":
            return float(item.crash_looping)
    return None


def _clear_outboxes(client: redis.Redis, keys: KeySchema, sent: dict[str, tuple[list[Transition], str | None]]) -> None:
    """Remove the sent notifications from the stored outboxes (a later transition's stay)."""
    for _ in range(COMMIT_TRIES):
        try:
            with client.pipeline(transaction=True) as pipe:
                pipe.watch(keys.alert_state)
                raws = pipe.hmget(keys.alert_state, list(sent)) if sent else []
                pipe.multi()
                for (key, (done, error)), raw in zip(sent.items(), raws):
                    if raw is None:
                        continue
                    state = AlertState.model_validate_json(raw)
                    left = list(state.outbox)
                    for transition in done:
                        if transition in left:
                            left.remove(transition)
                    pipe.hset(
                        keys.alert_state,
                        key,
                        state.model_copy(update={"outbox": left, "notify_error": error}).model_dump_json(),
                    )
                pipe.execute()
                return
        except redis.WatchError:
            continue
    # Left in the outboxes: the next round sends them again under the same ids, which enqueues nothing new.


def alert_states(client: redis.Redis, keys: KeySchema) -> list[AlertState]:
    """Every (rule, queue) state, by rule then queue (bounded by rules x queues)."""
    states = _read_states(client.hgetall(keys.alert_state))
    return sorted(states.values(), key=lambda s: (s.rule, s.queue))


def firing_alerts(client: redis.Redis, keys: KeySchema) -> list[AlertState]:
    """The alerts firing now, for the alert bar and `wellqueue alerts --json`."""
    return [state for state in alert_states(client, keys) if state.firing]


def alert_history(
    client: redis.Redis, keys: KeySchema, limit: int = 200, since: float | None = None
) -> list[HistoryEntry]:
    """Firings and resolutions, newest first (optionally only those at or after `since`)."""
    low = f"{int(since * 1000)}-0" if since is not None else "-"
    rows = client.xrevrange(keys.alert_history, max="+", min=low, count=limit)
    return [_history_entry(entry_id, fields or {}) for entry_id, fields in rows or []]


def _history_fields(rule: AlertRule, state: AlertState, transition: Transition, now: float) -> dict[str, str]:
    return {
        "at": f"{now:.3f}",
        "rule": rule.name,
        "queue": state.queue,
        "event": transition,
        "value": "" if state.value is None else f"{state.value:g}",
        "detail": rule.describe(),
    }


def _history_entry(entry_id, raw: dict) -> HistoryEntry:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    entry = _text(entry_id)
    try:
        at = float(fields.get("at", ""))
    except ValueError:
        at = int(entry.split("-", 1)[0]) / 1000
    try:
        value = float(fields["value"]) if fields.get("value") else None
    except ValueError:
        value = None
    return HistoryEntry(
        entry,
        at,
        fields.get("rule", ""),
        fields.get("queue", ""),
        fields.get("event", ""),
        value,
        fields.get("detail", ""),
    )


def _read_states(raw: dict) -> dict[str, AlertState]:
    states = {}
    for key, value in raw.items():
        try:
            states[_text(key)] = AlertState.model_validate_json(value)
        except ValueError:
            log.warning("alert state %r is unreadable; it starts again from ok", _text(key)[:80])
    return states


def _server_time(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
