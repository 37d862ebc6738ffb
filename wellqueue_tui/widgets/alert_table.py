"""The Alerts screen's table and detail: every rule with its state on each queue, and its recent history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from ..health.alert_rules import AlertRule
from ..health.alert_state import AlertState
from ..health.alerts import HistoryEntry
from ..sanitize import safe_text
from . import formats
from .health_text import alert_value
from .keyed_table import KeyedTable


@dataclass(frozen=True)
class RuleStatus:
    """One rule as the Alerts screen shows it: the rule, its states per queue, its recent history."""

    rule: AlertRule
    states: list[AlertState] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def firing(self) -> list[AlertState]:
        return [state for state in self.states if state.firing]


def rule_statuses(rules: list[AlertRule], states: list[AlertState], history: list[HistoryEntry]) -> list[RuleStatus]:
    """Rules with their states and history, firing ones first, then by name."""
    statuses = [
        RuleStatus(rule, [s for s in states if s.rule == rule.name], [h for h in history if h.rule == rule.name])
        for rule in rules
    ]
    return sorted(statuses, key=lambda status: (not status.firing, status.rule.name))


def status_cell(status: RuleStatus, now: float) -> Text:
    if not status.rule.enabled:
        return Text("disabled", style="dim")
    if status.firing:
        return safe_text("FIRING on " + ", ".join(s.queue for s in status.firing), 80, style="bold red")
    if any(state.status == "pending" for state in status.states):
        return Text("pending", style="bold yellow")
    return Text("ok", style="green")


def mute_cell(rule: AlertRule, now: float) -> Text:
    if not rule.muted(now):
        return Text("-", style="dim")
    return Text(f"muted {formats.age((rule.muted_until or now) - now)}", style="yellow")


def rule_detail(status: RuleStatus, now: float) -> Text:
    """The rule in full: what it watches, recipients, each queue's state, and its latest firings."""
    rule = status.rule
    text = Text(end="")
    text.append_text(safe_text(rule.name, 40, style="bold"))
    text.append("  ")
    text.append_text(safe_text(rule.describe(), 200))
    text.append(f"  resolves at or below {rule.resolve_level:g}, after {rule.clear_for_s:g} s clear", style="dim")
    if rule.description:
        text.append("\n")
        text.append_text(safe_text(rule.description, 300))
    notify = [*rule.recipients, *([rule.webhook_url] if rule.webhook_url else [])]
    text.append("\nnotifies ", style="dim")
    text.append_text(safe_text(", ".join(notify) or "nobody (shown in consoles only)", 300))
    for state in status.states:
        if state.status == "ok" and state.fired_at is None:
            continue
        text.append("\n")
        text.append_text(
            safe_text(
                f"{state.queue}: {state.status} since {formats.short_timestamp(state.since)}, "
                f"value {alert_value(state)}",
                200,
                style="bold red" if state.firing else "",
            )
        )
    if status.history:
        text.append("\nhistory", style="dim")
    for entry in status.history[:5]:
        text.append("\n  ")
        text.append(formats.short_timestamp(entry.at))
        text.append_text(
            safe_text(
                f"  {entry.event:<8} {entry.queue}" + (f"  value {entry.value:g}" if entry.value is not None else ""),
                200,
            )
        )
    return text


class AlertRuleTable(KeyedTable):
    """Rules keyed by name, firing ones first."""

    COLUMNS = (
        ("name", "rule", 18),
        ("watches", "watches", 46),
        ("status", "status", 24),
        ("muted", "muted", 10),
        ("notifies", "notifies", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses: dict[str, RuleStatus] = {}

    @property
    def highlighted(self) -> RuleStatus | None:
        key = self.highlighted_key
        return None if key is None else self.statuses.get(key)

    def show_statuses(self, statuses: list[RuleStatus], now: float) -> None:
        self.statuses = {status.rule.name: status for status in statuses}
        self.show_rows(
            [
                (
                    status.rule.name,
                    [
                        safe_text(status.rule.name, 40, style="bold"),
                        safe_text(status.rule.describe(), 120),
                        status_cell(status, now),
                        mute_cell(status.rule, now),
                        safe_text(
                            ", ".join(
                                [
                                    *status.rule.recipients,
                                    *([status.rule.webhook_url] if status.rule.webhook_url else []),
                                ]
                            )
                            or "-",
                            200,
                        ),
                    ],
                )
                for status in statuses
            ]
        )
