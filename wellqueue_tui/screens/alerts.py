"""The Alerts screen: every rule with its state per queue, firing ones first, and the highlighted rule's
history below. OPERATOR mutes and unmutes; ADMIN enables, disables and removes; all through the session's
permission checks and audit trail."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual.binding import Binding

from ..auth.permissions import Action
from ..console_data import HealthSource
from ..sanitize import safe_text
from ..widgets.alert_table import AlertRuleTable, RuleStatus, rule_detail, rule_statuses
from .confirm import ConfirmScreen
from .mute import MuteScreen
from .record_table import RecordTableScreen, record_bindings

#: Firings and resolutions read for the history lines (every rule's, newest first).
HISTORY_LIMIT = 200


class AlertsScreen(RecordTableScreen[AlertRuleTable, RuleStatus]):
    """Alert rules and their states, refreshed each tick."""

    BINDINGS = record_bindings(
        Binding("m", "mute", "Mute"),
        Binding("u", "unmute", "Unmute"),
        Binding("e", "toggle_enabled", "Enable/disable"),
        Binding("x", "remove", "Remove"),
    )
    GATED_ACTIONS = {
        "mute": Action.ALERT_MUTE,
        "unmute": Action.ALERT_UNMUTE,
        "toggle_enabled": Action.ALERT_UPDATE,
        "remove": Action.ALERT_REMOVE,
    }
    TABLE = AlertRuleTable
    NAME = "Alerts"
    LOADING = "Loading the alert rules…"
    EMPTY = (
        "No alert rules: the leader installs the defaults (queue depth, failure rate, stalled jobs, Redis "
        "connection) on first start; `wellqueue alerts add` adds more."
    )
    RECORD = "alert rule"

    @property
    def health(self) -> HealthSource:
        return cast(HealthSource, self.console.source)

    def fetch(self) -> list[RuleStatus]:
        source = self.health
        return rule_statuses(source.alert_rules(), source.alert_states(), source.alert_history(HISTORY_LIMIT))

    def show_records(self, records: list[RuleStatus]) -> None:
        self.table.show_statuses(records, self.console.now())

    def title_summary(self) -> Text:
        text = Text(end="")
        firing = sum(len(status.firing) for status in self.records)
        text.append(f"  {len(self.records)} rule{'' if len(self.records) == 1 else 's'}", style="dim")
        if firing:
            text.append(f"  {firing} firing", style="bold red")
        return text

    def detail(self, record: RuleStatus) -> Text:
        return rule_detail(record, self.console.now())

    # Keys

    def action_mute(self) -> None:
        status = self.target()
        if status is None:
            return
        name = status.rule.name

        def chosen(seconds: float | None) -> None:
            if seconds is not None:
                self.console.perform(lambda: self.health.mute_alert(name, seconds))

        self.console.push_screen(MuteScreen(name), chosen)

    def action_unmute(self) -> None:
        status = self.target()
        if status is not None:
            name = status.rule.name
            self.console.perform(lambda: self.health.unmute_alert(name))

    def action_toggle_enabled(self) -> None:
        status = self.target()
        if status is not None:
            name, enabled = status.rule.name, not status.rule.enabled
            self.console.perform(lambda: self.health.update_alert(name, {"enabled": enabled}))

    def action_remove(self) -> None:
        status = self.target()
        if status is None:
            return
        name = status.rule.name
        question = Text("Remove the alert rule ")
        question.append_text(safe_text(name, 40, style="bold"))
        question.append(" and forget its state on every queue? Its history stays.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.console.perform(lambda: self.health.remove_alert(name))

        self.console.push_screen(ConfirmScreen(question, "Remove", title="Remove alert rule"), answered)
