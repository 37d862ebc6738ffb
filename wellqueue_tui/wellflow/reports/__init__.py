"""Report building for the report-generation queue: tables from the production store, one writer per format."""

from __future__ import annotations

import importlib
from pathlib import Path

from .tables import ReportTable, Scope, build_table, fetch_report_data

#: format name -> the module whose `write(table, path, *, charts)` writes it. Imported on first use:
#: openpyxl and fpdf2 (with Pillow and fontTools) would add ~50 MiB to every worker process otherwise.
WRITERS: dict[str, str] = {"csv": "csv_writer", "xlsx": "xlsx_writer", "pdf": "pdf_writer"}

__all__ = ["WRITERS", "ReportTable", "Scope", "build_table", "fetch_report_data", "write_report"]


def write_report(table: ReportTable, fmt: str, path: Path, *, charts: bool = False) -> None:
    """Write `table` in format `fmt` to `path`."""
    importlib.import_module(f".{WRITERS[fmt]}", __package__).write(table, path, charts=charts)
