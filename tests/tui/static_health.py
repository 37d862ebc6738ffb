"""`StaticHealthSource`: a `StaticOperationsSource` that also answers the console's health calls (queue health,
alert rules, states and history, breakers, the timeline) from in-memory data, and mutes, edits and removes
rules with the real permission table. tests/tui/test_source_contract.py holds it to the operator session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wellqueue_tui.auth.permissions import Action
from wellqueue_tui.health.alert_rules import (
    EDITABLE_FIELDS,
    AlertRule,
    AlertRuleError,
    build_rule,
)
from wellqueue_tui.health.alert_state import AlertState
from wellqueue_tui.health.alerts import HistoryEntry
from wellqueue_tui.health.breaker_state import BreakerState
from wellqueue_tui.health.queue_health import QueueHealth
from wellqueue_tui.health.timeline import TimelineEvent
from wellqueue_tui.jobs.actions import ActionResult
from wellqueue_tui.jobs.models import JobState
from wellqueue_tui.sanitize import safe_str
from wellqueue_tui.workers.worker_records import WorkerState

from .static_source import StaticOperationsSource

WINDOW_S = 300.0


class StaticHealthSource(StaticOperationsSource):
    """Health figures computed from the in-memory jobs and workers; rules, states, history, breakers and
    timeline events as given. Pausing and resuming a queue lands on the timeline, as the audit trail does."""

    def __init__(
        self,
        jobs: Iterable[Any],
        *,
        rules: Iterable[AlertRule] = (),
        states: Iterable[AlertState] = (),
        history: Iterable[HistoryEntry] = (),
        breakers: Mapping[str, BreakerState] | None = None,
        events: Iterable[TimelineEvent] = (),
        stuck: Mapping[str, int] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(jobs, **options)
        self.rules: dict[str, AlertRule] = {rule.name: rule for rule in rules}
        self.states: list[AlertState] = list(states)
        self.history: list[HistoryEntry] = sorted(history, key=lambda entry: entry.at, reverse=True)
        self.breaker_states: dict[str, BreakerState] = dict(breakers or {})
        self.events: list[TimelineEvent] = list(events)
        self.stuck = dict(stuck or {})

    # Reads

    def queue_health(self, queues: list[str] | None = None) -> list[QueueHealth]:
        return [self._health(queue) for queue in (queues if queues is not None else sorted(self.queues))]

    def firing_alerts(self) -> list[AlertState]:
        return [state for state in self.alert_states() if state.firing]

    def alert_rules(self) -> list[AlertRule]:
        return sorted(self.rules.values(), key=lambda rule: rule.name)

    def alert_states(self) -> list[AlertState]:
        return sorted((s for s in self.states if s.rule in self.rules), key=lambda s: (s.rule, s.queue))

    def alert_history(self, limit: int = 200) -> list[HistoryEntry]:
        return self.history[:limit]

    def breakers(self) -> dict[str, BreakerState]:
        return dict(self.breaker_states)

    def timeline(self, since_s: float, queue: str | None = None) -> list[TimelineEvent]:
        found = [
            e for e in self.events if e.at >= self.now - since_s and (queue is None or e.queue in (queue, None, "*"))
        ]
        return sorted(found, key=lambda event: event.at, reverse=True)

    # Actions

    def mute_alert(self, name: str, seconds: float) -> ActionResult:
        self._check(Action.ALERT_MUTE)
        self._rewrite(name, {"muted_until": self.now + seconds})
        return ActionResult("alert_mute", name, 1, f"alert {name} muted for {seconds / 60:g} min")

    def unmute_alert(self, name: str) -> ActionResult:
        self._check(Action.ALERT_UNMUTE)
        self._rewrite(name, {"muted_until": None})
        return ActionResult("alert_unmute", name, 1, f"alert {name} notifies again")

    def update_alert(self, name: str, changes: dict) -> ActionResult:
        self._check(Action.ALERT_UPDATE)
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise AlertRuleError(
                f"cannot change {', '.join(sorted(unknown))}; editable fields are {', '.join(sorted(EDITABLE_FIELDS))}"
            )
        rule = self._rule(name)
        self.rules[name] = build_rule(**{**rule.model_dump(), **changes})
        return ActionResult("alert_update", name, 1, f"alert {name} updated ({', '.join(sorted(changes))})")

    def remove_alert(self, name: str) -> ActionResult:
        self._check(Action.ALERT_REMOVE)
        self._rule(name)
        del self.rules[name]
        self.states = [state for state in self.states if state.rule != name]
        return ActionResult("alert_remove", name, 1, f"alert {name} removed")

    def pause_queue(self, queue: str) -> ActionResult:
        result = super().pause_queue(queue)
        self._record(queue, "pause", f"{self.identity.sub} pause {queue}: {result.message}")
        return result

    def resume_queue(self, queue: str) -> ActionResult:
        result = super().resume_queue(queue)
        self._record(queue, "resume", f"{self.identity.sub} resume {queue}: {result.message}")
        return result

    # Helpers

    def _health(self, queue: str) -> QueueHealth:
        jobs = [job for job in self._in_queue(queue)]
        waiting = [job for job in jobs if job.summary.state in (JobState.WAITING, JobState.PRIORITIZED)]
        listening = [w for w in self.workers() if queue in w.queues]
        stuck = self.stuck.get(queue, 0)
        return QueueHealth(
            queue=queue,
            at=self.now,
            waiting=len(waiting),
            delayed=sum(1 for job in jobs if job.summary.state == JobState.DELAYED),
            active=sum(1 for job in jobs if job.summary.state == JobState.ACTIVE),
            paused=queue in self.paused,
            latency_s=max(0.0, self.now - min(job.summary.created_at for job in waiting)) if waiting else None,
            consumers=sum(1 for w in listening if w.state == WorkerState.RUNNING),
            crash_looping=sum(1 for w in listening if w.state == WorkerState.CRASH_LOOP),
            stuck_ids=tuple(f"stuck-{n}" for n in range(stuck)),
            completed=0,
            failed=0,
            window_s=WINDOW_S,
            arrival_per_min=None,
            completion_per_min=0.0,
            backlog_growing=False,
            drain_s=None,
        )

    def _rule(self, name: str) -> AlertRule:
        rule = self.rules.get(name)
        if rule is None:
            raise AlertRuleError(f"no alert rule named {safe_str(name, 60)!r}; `wellqueue alerts list` shows them")
        return rule

    def _rewrite(self, name: str, changes: dict) -> None:
        self.rules[name] = self._rule(name).model_copy(update=changes)

    def _record(self, queue: str, kind: str, summary: str) -> None:
        self.events.append(TimelineEvent(self.now, kind, queue, summary, "audit"))
