"""Writes a report table as an Excel workbook: title block, styled header, rows, totals, optional chart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .charts import add_workbook_chart
from .tables import ReportTable, cell_text

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TOTALS_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTALS_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))
NUMBER_FORMATS = {"date": "yyyy-mm-dd", "int": "#,##0", "number": "#,##0.00", "percent": "0.0"}


def write(table: ReportTable, path: Path, *, charts: bool = False) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Report"

    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Period: {table.period}"])
    for note in table.notes:
        sheet.append([_text(note)])
    sheet.append([])

    sheet.append([column.title for column in table.columns])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)

    if not table.rows:
        sheet.append([table.empty_message])
        sheet.cell(row=sheet.max_row, column=1).font = Font(italic=True)
    for row in table.rows:
        _append(sheet, row, table)
    if table.rows:
        sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(table.columns))}{sheet.max_row}"
    if table.rows and table.totals is not None:
        _append(sheet, table.totals, table)
        for cell in sheet[sheet.max_row]:
            cell.font, cell.fill, cell.border = Font(bold=True), TOTALS_FILL, TOTALS_BORDER

    for index, column in enumerate(table.columns):
        longest = max((len(cell_text(row[index], column.kind)) for row in table.rows[:500]), default=0)
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(60, max(10, len(column.title), longest) + 2)
    if charts and table.chart is not None and table.chart.values:
        add_workbook_chart(workbook, table.chart)
    workbook.save(path)


def _append(sheet, row: tuple[Any, ...], table: ReportTable) -> None:
    sheet.append([_text(value) if isinstance(value, str) else value for value in row])
    for cell, column in zip(sheet[sheet.max_row], table.columns):
        if isinstance(cell.value, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
        elif cell.value is not None and column.kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[column.kind]
            if isinstance(cell.value, dt.date):
                cell.alignment = Alignment(horizontal="left")


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)
