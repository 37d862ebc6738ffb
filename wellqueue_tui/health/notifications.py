"""Alert notifications as jobs of the product's own queues: an e-mail notification (type `alert`) to the
rule's recipients and a signed webhook, each with an id fixed by the firing, so a second evaluator that
decides the same firing enqueues nothing new."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .alert_rules import AlertRule
from .alert_state import AlertState, Transition

log = logging.getLogger(__name__)

EMAIL_QUEUE = "email-notifications"
WEBHOOK_QUEUE = "webhooks"
#: `enqueue(queue, payload, job_id=...) -> job id`, e.g. functools.partial(jobs.enqueue, broker=broker).
EnqueueFn = Callable[..., str]
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9:_.@+=-]")


@dataclass(frozen=True)
class Notification:
    queue: str
    job_id: str
    payload: dict


def notification_id(rule: str, queue: str, fired_at: float, transition: Transition, channel: str) -> str:
    """`alert:{rule}:{queue}:{fired_ms}:{fired|resolved}:{email|webhook}`: the same for every evaluator."""
    queue_part = _UNSAFE_ID.sub("_", queue.replace("*", "all"))[:60]
    return f"alert:{rule}:{queue_part}:{int(fired_at * 1000)}:{transition}:{channel}"


def notifications_for(rule: AlertRule, state: AlertState, transition: Transition) -> list[Notification]:
    """The jobs that tell the rule's recipients and webhook about one firing or resolution."""
    fired_at = state.fired_at or state.since
    value = "n/a" if state.value is None else f"{state.value:g}"
    verb = "FIRING" if transition == "fired" else "resolved"
    subject = f"[WellQueue] {verb}: {rule.name} on {state.queue}"[:200]
    since = datetime.fromtimestamp(fired_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    body = (
        f"Alert {rule.name} {'fired' if transition == 'fired' else 'resolved'} on queue {state.queue}.\n"
        f"Rule: {rule.describe()}\nCurrent value: {value}\nFiring since: {since}\n"
        + (
            f"Resolved at: {datetime.fromtimestamp(state.resolved_at, UTC):%Y-%m-%d %H:%M:%S} UTC\n"
            if transition == "resolved" and state.resolved_at
            else ""
        )
        + (f"\n{rule.description}\n" if rule.description else "")
    )
    facts = {
        "rule": rule.name,
        "kind": rule.kind,
        "queue": state.queue,
        "value": state.value,
        "threshold": rule.threshold,
        "firedAt": fired_at,
        "resolvedAt": state.resolved_at,
        "status": transition,
    }
    found = []
    if rule.recipients:
        found.append(
            Notification(
                EMAIL_QUEUE,
                notification_id(rule.name, state.queue, fired_at, transition, "email"),
                {
                    "type": "alert",
                    "priority": "high" if transition == "fired" else "medium",
                    "recipients": list(rule.recipients),
                    "subject": subject,
                    "body": body,
                    "data": {"issues": [{"code": rule.name, "message": f"{rule.describe()}: value {value}"}], **facts},
                },
            )
        )
    if rule.webhook_url:
        found.append(
            Notification(
                WEBHOOK_QUEUE,
                notification_id(rule.name, state.queue, fired_at, transition, "webhook"),
                {
                    "url": rule.webhook_url,
                    "event": f"alert.{transition}",
                    "data": facts,
                },
            )
        )
    return found


def send(enqueue_fn: EnqueueFn, notifications: list[Notification]) -> str | None:
    """Enqueue each notification (idempotent ids); returns the first error, or None when all went in."""
    error = None
    for item in notifications:
        try:
            enqueue_fn(item.queue, item.payload, job_id=item.job_id)
        except Exception as exc:  # an unknown queue or a refused payload must not stop the evaluator
            log.warning("alert notification %s to %s was not enqueued: %s", item.job_id, item.queue, exc)
            error = error or f"{item.queue}: {exc}"[:300]
    return error
