"""Writes a report table as a landscape PDF with fpdf2: title, period, optional chart, then the table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from .charts import draw_pdf_chart
from .tables import ReportTable, cell_text

MAX_PDF_ROWS = 2000  # beyond this a PDF is unreadable; CSV and XLSX carry every row
HEADING_STYLE = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=(31, 78, 121))
TOTALS_STYLE = FontFace(emphasis="BOLD", fill_color=(221, 235, 247))
CHART_HEIGHT = 70


class _ReportPDF(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.report_title = title
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(title)
        self.set_creator("WellQueue")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 8, f"{self.report_title} - page {self.page_no()}/{{nb}}", align="C")


def render(table: ReportTable, *, charts: bool = False) -> FPDF:
    """Lay the report out; `write` saves it. Exposed so callers can inspect pages."""
    pdf = _ReportPDF(table.title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, f"Period: {table.period}", new_x="LMARGIN", new_y="NEXT")
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    pdf.cell(0, 6, f"Generated: {generated}", new_x="LMARGIN", new_y="NEXT")
    for note in table.notes:
        pdf.multi_cell(0, 5, _latin1(note), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    if charts and table.chart is not None and table.chart.values:
        top = pdf.get_y()
        draw_pdf_chart(pdf, table.chart, pdf.l_margin, top, pdf.epw, CHART_HEIGHT)
        pdf.set_y(top + CHART_HEIGHT + 4)

    if not table.rows:
        pdf.set_font("Helvetica", "I", 12)
        pdf.cell(0, 10, table.empty_message, new_x="LMARGIN", new_y="NEXT")
        return pdf

    shown = table.rows[:MAX_PDF_ROWS]
    pdf.set_font("Helvetica", "", 8)
    aligns = tuple("LEFT" if column.kind in ("text", "date") else "RIGHT" for column in table.columns)
    with pdf.table(
        col_widths=tuple(column.width for column in table.columns),
        text_align=aligns,
        headings_style=HEADING_STYLE,
        line_height=5,
        repeat_headings=1,
    ) as pdf_table:
        heading = pdf_table.row()
        for column in table.columns:
            heading.cell(column.title, align="CENTER")
        for row in shown:
            cells = pdf_table.row()
            for value, column in zip(row, table.columns):
                cells.cell(_latin1(cell_text(value, column.kind, grouped=True)))
        if table.totals is not None:
            cells = pdf_table.row()
            for value, column in zip(table.totals, table.columns):
                cells.cell(_latin1(cell_text(value, column.kind, grouped=True)), style=TOTALS_STYLE)
    if len(table.rows) > len(shown):
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(
            0,
            6,
            f"Showing the first {len(shown):,} of {len(table.rows):,} rows; the CSV or XLSX format carries every row.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return pdf


def write(table: ReportTable, path: Path, *, charts: bool = False) -> None:
    render(table, charts=charts).output(str(path))


def _latin1(text: str) -> str:
    # The core fonts cover Latin-1 only; anything else becomes "?" rather than failing the job.
    return text.encode("latin-1", "replace").decode("latin-1")
