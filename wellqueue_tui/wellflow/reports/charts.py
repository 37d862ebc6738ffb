"""Draws a report's chart: a native bar chart in a workbook, or bars drawn with fpdf2 primitives."""

from __future__ import annotations

from fpdf import FPDF
from openpyxl.chart import BarChart, Reference
from openpyxl.workbook import Workbook

from .tables import Chart

BAR_RGB = (31, 78, 121)
AXIS_RGB = (90, 90, 90)
MAX_PDF_LABELS = 12  # label every n-th bar so the axis stays legible


def add_workbook_chart(workbook: Workbook, chart: Chart) -> None:
    """Add a "Chart" sheet holding the series and an openpyxl bar chart of it."""
    sheet = workbook.create_sheet("Chart")
    sheet.append(["Period", f"{chart.title} ({chart.unit})"])
    for label, value in zip(chart.labels, chart.values):
        sheet.append([label, value])
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 24

    bars = BarChart()
    bars.type = "col"
    bars.title = chart.title
    bars.y_axis.title = chart.unit
    bars.x_axis.title = "Period"
    bars.legend = None
    count = len(chart.values)
    bars.add_data(Reference(sheet, min_col=2, min_row=1, max_row=count + 1), titles_from_data=True)
    bars.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=count + 1))
    bars.width, bars.height = 24, 12
    sheet.add_chart(bars, "D2")


def draw_pdf_chart(pdf: FPDF, chart: Chart, x: float, y: float, width: float, height: float) -> None:
    """Draw a bar chart in the box (x, y, width, height), in mm, with axes, a scale and labels."""
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_text_color(0, 0, 0)
    pdf.text(x, y + 4, f"{chart.title} ({chart.unit})")

    left, bottom = x + 18, y + height - 10  # room for the scale and the labels
    plot_width, plot_height = width - 20, height - 20
    peak = 100.0 if chart.unit == "%" else max(chart.values, default=0.0) or 1.0

    pdf.set_draw_color(*AXIS_RGB)
    pdf.set_line_width(0.2)
    pdf.line(left, bottom, left + plot_width, bottom)
    pdf.line(left, bottom, left, bottom - plot_height)
    pdf.set_font("Helvetica", "", 7)
    for step in range(5):
        level = peak * step / 4
        tick_y = bottom - plot_height * step / 4
        pdf.line(left - 1.5, tick_y, left, tick_y)
        pdf.text(x, tick_y + 1, f"{level:,.0f}" if peak >= 10 else f"{level:.1f}")

    count = len(chart.values)
    if not count:
        return
    slot = plot_width / count
    label_every = max(1, -(-count // MAX_PDF_LABELS))
    with pdf.local_context(fill_color=BAR_RGB):  # later cells must not inherit the bar colour
        for index, (label, value) in enumerate(zip(chart.labels, chart.values)):
            bar_height = plot_height * max(value, 0.0) / peak
            bar_x = left + index * slot + slot * 0.15
            if bar_height > 0:
                pdf.rect(bar_x, bottom - bar_height, slot * 0.7, bar_height, style="F")
            if index % label_every == 0:
                pdf.text(bar_x, bottom + 4, label)
