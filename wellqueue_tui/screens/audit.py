"""The audit log: every operator action (allowed, denied or failed) newest first, coloured by outcome."""

from __future__ import annotations

from rich.text import Text

from ..auth.audit import AuditEntry
from ..widgets.audit_table import AuditTable, audit_detail, outcome_styles
from .record_table import RecordTableScreen, record_bindings

#: Entries shown: the newest this many (the stream keeps about 100,000; `wellqueue audit` pages further).
AUDIT_LIMIT = 200


class AuditScreen(RecordTableScreen[AuditTable, AuditEntry]):
    """The newest audit entries, refreshed each tick; the highlighted one is shown in full below the table."""

    BINDINGS = record_bindings(first="Newest", last="Oldest")
    TABLE = AuditTable
    NAME = "Audit log"
    LOADING = "Loading the audit log…"
    EMPTY = (
        "No audit entries yet: every retry, removal, pause, schedule or worker change made by an operator "
        "shows up here."
    )
    RECORD = "audit entry"

    def fetch(self) -> list[AuditEntry]:
        return self.source.audit_entries(AUDIT_LIMIT)

    def show_records(self, records: list[AuditEntry]) -> None:
        self.table.show_entries(records)

    def title_summary(self) -> Text:
        text = Text(end="")
        count = len(self.records)
        shown = f"the newest {count}" if count >= AUDIT_LIMIT else f"{count} entr{'y' if count == 1 else 'ies'}"
        text.append(f"  {shown}, newest first", style="dim")
        styles = outcome_styles(self.app)
        for outcome in ("denied", "error"):
            count = sum(1 for entry in self.records if entry.outcome == outcome)
            if count:
                text.append(f"  {count} {outcome}", style=styles[outcome])
        return text

    def detail(self, record: AuditEntry) -> Text:
        return audit_detail(record, outcome_styles(self.app))
