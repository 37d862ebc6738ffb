"""The audit screen's table and detail lines: operator actions newest first, coloured by outcome."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import App

from ..auth.audit import AuditEntry
from ..sanitize import safe_text
from . import formats
from .keyed_table import KeyedTable
from .tones import tone


def outcome_styles(app: App) -> dict[str, Style]:
    """ok in `$text-success`, denied in `$text-warning`, error in `$text-error`."""
    return {
        "ok": tone(app, "text-success"),
        "denied": tone(app, "text-warning", bold=True),
        "error": tone(app, "text-error", bold=True),
    }


def audit_cells(entry: AuditEntry, styles: dict[str, Style]) -> list[Text]:
    outcome_style = styles.get(entry.outcome, Style(bold=True))
    return [
        Text(formats.short_timestamp(entry.at)),
        safe_text(entry.who, 80),
        safe_text(entry.role, 20),
        safe_text(entry.org or "-", 40),
        safe_text(entry.action, 40),
        safe_text(entry.outcome or "?", 20, style=outcome_style),
        Text(str(entry.count)),
        safe_text(entry.target, 120),
        safe_text(entry.detail or entry.problem or "", 200),
    ]


def audit_detail(entry: AuditEntry, styles: dict[str, Style]) -> Text:
    """The highlighted entry in full: when, who (role, organization), what, on what, and how it went."""
    text = Text(end="")
    text.append(formats.timestamp(entry.at))
    text.append("  ")
    text.append_text(safe_text(entry.who, 80, style="bold"))
    text.append_text(safe_text(f" ({entry.role}{', org ' + entry.org if entry.org else ''})", 120, style="dim"))
    text.append("  ")
    text.append_text(safe_text(entry.action, 40, style="bold"))
    text.append(" ")
    text.append_text(safe_text(entry.target, 256))
    text.append(f"  count {entry.count}  ", style="dim")
    text.append_text(safe_text(entry.outcome or "?", 20, style=styles.get(entry.outcome, Style(bold=True))))
    if entry.detail:
        text.append("\n")
        text.append_text(safe_text(entry.detail, 1024))
    if entry.problem:
        text.append("\nentry problem ", style="dim")
        text.append_text(safe_text(entry.problem, 300, style=styles["error"]))
    return text


class AuditTable(KeyedTable):
    """Audit entries as the source returns them (newest first), keyed by stream id."""

    COLUMNS = (
        ("at", "time (UTC)", 15),
        ("who", "who", 10),
        ("role", "role", 8),
        ("org", "org", 6),
        ("action", "action", 15),
        ("outcome", "outcome", 7),
        ("count", "count", 5),
        ("target", "target", 30),
        ("detail", "detail", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entries: dict[str, AuditEntry] = {}

    @property
    def highlighted(self) -> AuditEntry | None:
        key = self.highlighted_key
        return None if key is None else self.entries.get(key)

    def show_entries(self, entries: list[AuditEntry]) -> None:
        styles = outcome_styles(self.app)
        self.entries = {entry.id: entry for entry in entries}
        self.show_rows([(entry.id, audit_cells(entry, styles)) for entry in entries])
