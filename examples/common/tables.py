"""Rows of a report or export as file bytes: CSV, JSON, XLSX (openpyxl) or PDF (fpdf2)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from fpdf import FPDF

FORMATS = ("csv", "json", "xlsx", "pdf")
MAX_PDF_ROWS = 2000  # a longer PDF is unreadable; the other formats carry every row


def render(rows: Sequence[dict], columns: Sequence[str], fmt: str, *, title: str) -> bytes:
    """`rows` (dicts) restricted to `columns`, in format `fmt`."""
    if fmt == "csv":
        return to_csv(rows, columns)
    if fmt == "json":
        return json.dumps(
            {"title": title, "rows": [{c: row.get(c) for c in columns} for row in rows]}, indent=2, default=str
        ).encode()
    if fmt == "xlsx":
        return to_xlsx(rows, columns, title)
    if fmt == "pdf":
        return to_pdf(rows, columns, title)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def to_csv(rows: Sequence[dict], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell(row.get(c)) for c in columns})
    return buffer.getvalue().encode()


def to_xlsx(rows: Sequence[dict], columns: Sequence[str], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "export"
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_pdf(rows: Sequence[dict], columns: Sequence[str], title: str, notes: Sequence[str] = ()) -> bytes:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(
        0, 6, f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {len(rows)} row(s)", new_x="LMARGIN", new_y="NEXT"
    )
    for note in notes:
        pdf.multi_cell(0, 5, latin1(note), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    if rows:
        pdf.set_font("Helvetica", "", 8)
        with pdf.table(line_height=5, repeat_headings=1) as table:
            heading = table.row()
            for column in columns:
                heading.cell(latin1(column))
            for row in rows[:MAX_PDF_ROWS]:
                cells = table.row()
                for column in columns:
                    cells.cell(latin1(str(_cell(row.get(column)))))
    else:
        pdf.cell(0, 8, "No rows match.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def latin1(text: str) -> str:
    # The core PDF fonts cover Latin-1 only; anything else becomes "?" rather than failing the job.
    return text.encode("latin-1", "replace").decode("latin-1")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value
