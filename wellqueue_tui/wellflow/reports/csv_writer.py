"""Writes a report table as CSV: one header row, then the rows (or one row saying there is no data)."""

from __future__ import annotations

import csv
from pathlib import Path

from .tables import ReportTable, cell_text

# A spreadsheet opening the file would run a cell starting with these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write(table: ReportTable, path: Path, *, charts: bool = False) -> None:
    """Write `table` to `path`; CSV has no charts, so `charts` is ignored."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.title for column in table.columns])
        if not table.rows:
            writer.writerow([table.empty_message] + [""] * (len(table.columns) - 1))
        for row in table.rows:
            writer.writerow(
                [
                    _inert(cell_text(value, column.kind)) if column.kind == "text" else cell_text(value, column.kind)
                    for value, column in zip(row, table.columns)
                ]
            )


def _inert(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
