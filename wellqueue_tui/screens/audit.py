"""The audit log: every operator action (allowed, denied or failed) newest first, coloured by outcome."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from ..auth.audit import AuditEntry
from ..auth.permissions import PermissionDenied
from ..console_data import OperationsSource
from ..sanitize import safe_text
from ..widgets.audit_table import AuditTable, audit_detail, outcome_styles
from .base import ConsoleScreen

#: Entries shown: the newest this many (the stream keeps about 100,000; `wellqueue audit` pages further).
AUDIT_LIMIT = 200

EMPTY = "No audit entries yet: every retry, removal, pause, schedule or worker change made by an operator shows up here."


class AuditScreen(ConsoleScreen):
    """The newest audit entries, refreshed each tick; the highlighted one is shown in full below the table."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "edge(False)", "Newest", show=False),
        Binding("G", "edge(True)", "Oldest", show=False),
    ]

    class Loaded(Message):
        def __init__(self, entries: list[AuditEntry], refusal: str | None = None) -> None:
            super().__init__()
            self.entries = entries
            self.refusal = refusal

    def __init__(self) -> None:
        super().__init__(classes="fleet-screen")
        self.sub_title = "Audit log"
        self.entries: list[AuditEntry] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static("Loading the audit log…", classes="fleet-title")
        yield AuditTable(classes="fleet-table")
        yield Static(EMPTY, classes="fleet-empty")
        yield Static(classes="fleet-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(".fleet-empty").display = False
        self.query_one(".fleet-detail").display = False
        self.table.focus()

    @property
    def table(self) -> AuditTable:
        return self.query_one(AuditTable)

    @property
    def source(self) -> OperationsSource:
        """The console's source; this screen is only offered when it reports the audit trail."""
        return cast(OperationsSource, self.console.source)

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("audit"):
            self.load()

    @work(thread=True, exclusive=True, group="audit")
    def load(self) -> None:
        try:
            with self.console.reading():
                self.deliver(self.Loaded(self.source.audit_entries(AUDIT_LIMIT)))
        except PermissionDenied as exc:  # the session checks view_audit itself; say so instead of crashing
            self.deliver(self.Loaded([], str(exc)))

    def on_audit_screen_loaded(self, message: Loaded) -> None:
        self.entries = message.entries
        self.table.show_entries(message.entries)
        self.table.display = bool(message.entries)
        empty = self.query_one(".fleet-empty", Static)
        empty.display = not message.entries
        empty.update(safe_text(message.refusal, 300) if message.refusal else EMPTY)
        self.show_title()
        self.show_detail()

    def show_title(self) -> None:
        text = Text(end="")
        text.append("Audit log", style="bold")
        count = len(self.entries)
        shown = f"the newest {count}" if count >= AUDIT_LIMIT else f"{count} entr{'y' if count == 1 else 'ies'}"
        text.append(f"  {shown}, newest first", style="dim")
        styles = outcome_styles(self.app)
        for outcome in ("denied", "error"):
            count = sum(1 for entry in self.entries if entry.outcome == outcome)
            if count:
                text.append(f"  {count} {outcome}", style=styles[outcome])
        self.query_one(".fleet-title", Static).update(text)

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        entry = self.table.highlighted
        detail = self.query_one(".fleet-detail", Static)
        detail.display = entry is not None
        if entry is not None:
            detail.update(audit_detail(entry, outcome_styles(self.app)))

    # Keys

    def action_back(self) -> None:
        self.dismiss()

    def action_cursor(self, step: int) -> None:
        self.table.step(step)

    def action_edge(self, bottom: bool) -> None:
        self.table.edge(bottom)
