"""Report building for the report-generation queue: tables from the production store, one writer per format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import csv_writer, pdf_writer, xlsx_writer
from .tables import ReportTable, Scope, build_table, fetch_report_data

Writer = Callable[..., None]

#: format name -> write(table, path, *, charts)
WRITERS: dict[str, Writer] = {"csv": csv_writer.write, "xlsx": xlsx_writer.write, "pdf": pdf_writer.write}

__all__ = ["WRITERS", "ReportTable", "Scope", "build_table", "fetch_report_data", "write_report"]


def write_report(table: ReportTable, fmt: str, path: Path, *, charts: bool = False) -> None:
    """Write `table` in format `fmt` to `path`."""
    WRITERS[fmt](table, path, charts=charts)
