"""The report-generation kind: payload rules, each report type's rows, each file format, progress and notices."""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from pydantic import ValidationError

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.wellflow.kinds import report_generation as rg
from wellqueue_tui.wellflow.kinds.email_notifications import EmailNotification
from wellqueue_tui.wellflow.production_store import ProductionStore, Reading
from wellqueue_tui.wellflow.reports import csv_writer, pdf_writer, xlsx_writer
from wellqueue_tui.wellflow.reports.tables import Column, ReportTable

from .conftest import RecordingSink, make_context

START, END = dt.date(2026, 9, 28), dt.date(2026, 10, 4)  # Monday .. Sunday, across a month and quarter end
REPORT_TYPES = list(rg.MAX_SPAN_DAYS)
FORMATS = ["csv", "xlsx", "pdf"]

BASE = Reading("W-1", "L-1", "OP-1", "org-a", "Midland", "TX", 31.99, -102.07, START, 100.0, 300.0, 50.0)


def seed(ctx: JobContext) -> ProductionStore:
    """Two wells over one week; W-2 misses a day, has an invalid and a flagged reading; W-3 is another org's."""
    store = ProductionStore(ctx.settings.production_db)
    for n in range(7):
        day = START + dt.timedelta(days=n)
        store.record(replace(BASE, reading_date=day))
        if n != 3:
            store.record(
                replace(
                    BASE,
                    well_id="W-2",
                    lease_id="L-2",
                    operator_id="OP-2",
                    reading_date=day,
                    oil_bbl=10.0,
                    gas_mcf=20.0,
                    water_bbl=90.0,
                )
            )
        store.record(replace(BASE, well_id="W-3", organization_id="org-b", reading_date=day))
    store.record(
        replace(
            BASE,
            well_id="W-2",
            lease_id="L-2",
            operator_id="OP-2",
            reading_date=START,
            status="invalid",
            issues=({"code": "water_cut_high", "message": "water cut 99.0%"},),
        )
    )
    store.record(
        replace(
            BASE,
            well_id="W-2",
            lease_id="L-2",
            operator_id="OP-2",
            reading_date=START,
            period="month",
            oil_bbl=5.0,
            gas_mcf=6.0,
            water_bbl=7.0,
            status="invalid",
            issues=({"code": "negative_volume", "message": "oil volume -5 is negative"},),
        )
    )
    # A flagged (valid, with a warning) monthly filing for October overrides W-1's daily sum.
    store.record(
        replace(
            BASE,
            reading_date=dt.date(2026, 10, 1),
            period="month",
            oil_bbl=3100.0,
            gas_mcf=9300.0,
            water_bbl=1500.0,
            issues=({"code": "oil_jump", "message": "6.0x", "severity": "warning"},),
        )
    )
    return store


def request(**changes) -> rg.ReportPayload:
    data = {
        "reportType": "production_daily",
        "format": "csv",
        "dateRange": {"start": START.isoformat(), "end": END.isoformat()},
        "organizationId": "org-a",
    }
    return rg.ReportPayload.model_validate({**data, **changes})


def table_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def pdf_text(path: Path) -> str:
    return pdf_text_of(path.read_bytes())


def pdf_text_of(raw: bytes) -> str:
    """Every content stream, decompressed: enough to look for words and drawing operators."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            chunks.append(stream.decode("latin-1"))
    return "".join(chunks)


# --- each format re-opens ----------------------------------------------------------------------


@pytest.mark.parametrize("report_type", REPORT_TYPES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_type_and_format_writes_a_file_that_reopens(report_type: str, fmt: str, ctx: JobContext) -> None:
    seed(ctx)
    result = rg.process(request(reportType=report_type, format=fmt, includeCharts=True), ctx)

    path = Path(result["path"])
    assert path.parent == ctx.settings.reports_dir and result["format"] == fmt and result["rows"] > 0
    assert path.name == f"{report_type}_{START}_{END}_{ctx.job_id}.{fmt}"
    if fmt == "csv":
        rows = table_rows(path)
        assert len(rows) == result["rows"] + 1 and all(len(row) == len(rows[0]) for row in rows)
    elif fmt == "xlsx":
        workbook = openpyxl.load_workbook(path)
        assert workbook.sheetnames == ["Report", "Chart"]
    else:
        assert path.read_bytes().startswith(b"%PDF")
    assert not list(ctx.settings.reports_dir.glob(".partial-*"))


def test_csv_rows_for_production_daily(ctx: JobContext) -> None:
    seed(ctx)
    result = rg.process(request(), ctx)
    rows = table_rows(Path(result["path"]))
    assert rows[0] == ["Date", "Well", "Lease", "Operator", "County", "State", "Oil (bbl)", "Gas (mcf)", "Water (bbl)"]
    assert rows[1] == ["2026-09-28", "W-1", "L-1", "OP-1", "Midland", "TX", "100.00", "300.00", "50.00"]
    # org-a only, valid daily readings only: 7 of W-1 and 6 of W-2.
    assert result["rows"] == 13 and {row[1] for row in rows[1:]} == {"W-1", "W-2"}


def test_xlsx_has_styled_header_totals_and_a_native_chart(ctx: JobContext) -> None:
    seed(ctx)
    path = Path(rg.process(request(format="xlsx", includeCharts=True), ctx)["path"])
    sheet = openpyxl.load_workbook(path)["Report"]
    header_row = next(row[0].row for row in sheet.iter_rows() if row[0].value == "Date")
    header = sheet[header_row]
    assert header[0].font.bold and header[0].fill.fgColor.rgb.endswith("1F4E79")
    totals = [cell.value for cell in sheet[sheet.max_row]]
    assert totals[0] == "Total" and totals[1] == "2 wells"
    assert totals[6:] == pytest.approx([7 * 100.0 + 6 * 10.0, 7 * 300.0 + 6 * 20.0, 7 * 50.0 + 6 * 90.0])
    assert sheet[sheet.max_row][0].font.bold
    assert sheet.freeze_panes == f"A{header_row + 1}"
    with zipfile.ZipFile(path) as archive:
        assert any(name.startswith("xl/charts/chart") for name in archive.namelist())


def test_xlsx_without_charts_has_no_chart(ctx: JobContext) -> None:
    seed(ctx)
    path = Path(rg.process(request(format="xlsx"), ctx)["path"])
    assert openpyxl.load_workbook(path).sheetnames == ["Report"]
    with zipfile.ZipFile(path) as archive:
        assert not any(name.startswith("xl/charts/") for name in archive.namelist())


def test_pdf_has_pages_title_table_and_chart(ctx: JobContext) -> None:
    store = seed(ctx)
    path = Path(rg.process(request(format="pdf", includeCharts=True), ctx)["path"])
    text = pdf_text(path)
    assert "Daily Production Report" in text and "2026-09-28 to 2026-10-04" in text and "W-2" in text
    assert "Oil per day" in text  # the chart title

    from wellqueue_tui.wellflow.reports import Scope, build_table, fetch_report_data

    table = build_table(
        "production_daily", fetch_report_data("production_daily", store, START, END, Scope()), START, END, Scope()
    )
    with_chart, without_chart = pdf_writer.render(table, charts=True), pdf_writer.render(table, charts=False)
    assert with_chart.pages_count > 0 and without_chart.pages_count > 0
    # One filled rectangle per day's bar.
    bars = [pdf_text_of(pdf.output()).count(" re f") for pdf in (with_chart, without_chart)]
    assert bars[0] - bars[1] == 7


def test_pdf_caps_very_long_tables() -> None:
    columns = (Column("Well"), Column("Oil (bbl)", "number"))
    rows = tuple((f"W-{n}", float(n)) for n in range(pdf_writer.MAX_PDF_ROWS + 5))
    table = ReportTable("production_daily", "Daily Production Report", START, END, columns, rows)
    pdf = pdf_writer.render(table)
    assert pdf.pages_count > 10


# --- an empty period ---------------------------------------------------------------------------


@pytest.mark.parametrize("report_type", REPORT_TYPES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_period_still_makes_a_report_that_says_so(report_type: str, fmt: str, ctx: JobContext) -> None:
    result = rg.process(request(reportType=report_type, format=fmt, includeCharts=True), ctx)
    path = Path(result["path"])
    message = f"No data for {START} to {END}."
    assert result["rows"] == 0
    if fmt == "csv":
        assert table_rows(path)[1][0] == message
    elif fmt == "xlsx":
        values = [row[0] for row in openpyxl.load_workbook(path)["Report"].iter_rows(values_only=True)]
        assert message in values
    else:
        assert path.read_bytes().startswith(b"%PDF") and message in pdf_text(path)


# --- what each report type contains -----------------------------------------------------------


def build(ctx: JobContext, report_type: str, **changes) -> list[list[str]]:
    seed(ctx)
    return table_rows(Path(rg.process(request(reportType=report_type, **changes), ctx)["path"]))


def test_production_monthly_sums_days_and_prefers_a_monthly_filing(ctx: JobContext) -> None:
    rows = build(ctx, "production_monthly")
    assert rows[0][:5] == ["Month", "Well", "Lease", "Operator", "Days reported"]
    by_key = {(row[0], row[1]): row for row in rows[1:]}
    assert by_key[("2026-09", "W-1")][4:] == ["3", "300.00", "900.00", "150.00", "daily readings"]
    assert by_key[("2026-10", "W-1")][4:] == ["", "3100.00", "9300.00", "1500.00", "monthly filing"]
    assert by_key[("2026-10", "W-2")][4:6] == ["3", "30.00"]  # Oct 1 was missed
    assert len(rows) == 5


def test_compliance_monthly_counts_coverage_and_invalid_readings(ctx: JobContext) -> None:
    rows = build(ctx, "compliance_monthly")
    by_key = {(row[0], row[1]): row[4:] for row in rows[1:]}
    # September: days 28-30 are due; W-2 reported all three validly plus one invalid reading.
    assert by_key[("2026-09", "W-2")] == ["3", "3", "100.0", "1", "0"]
    # October: days 1-4 due; W-2 missed the 1st.
    assert by_key[("2026-10", "W-2")] == ["4", "3", "75.0", "0", "1"]
    assert by_key[("2026-10", "W-1")] == ["4", "4", "100.0", "0", "0"]


def test_environmental_quarterly_reports_water_ratios(ctx: JobContext) -> None:
    rows = build(ctx, "environmental_quarterly")
    assert rows[0][-3:] == ["Water (bbl)", "Water cut (%)", "Water/oil ratio"]
    by_key = {(row[0], row[1]): row for row in rows[1:]}
    assert by_key[("2026-Q3", "W-2")][6:] == ["3", "30.00", "270.00", "90.0", "9.00"]
    assert by_key[("2026-Q4", "W-1")][6:] == ["4", "400.00", "200.00", "33.3", "0.50"]


def test_safety_weekly_lists_invalid_and_flagged_readings_by_week(ctx: JobContext) -> None:
    rows = build(ctx, "safety_weekly")
    assert rows[0][:6] == ["Week of", "Date", "Well", "Lease", "Operator", "Status"]
    summary = sorted((row[0], row[1], row[2], row[5], row[6]) for row in rows[1:])
    assert summary == [
        ("2026-09-28", "2026-09-28", "W-2", "invalid", "negative_volume"),
        ("2026-09-28", "2026-09-28", "W-2", "invalid", "water_cut_high"),
        ("2026-09-28", "2026-10-01", "W-1", "flagged", "oil_jump"),
    ]


@pytest.mark.parametrize(
    ("filters", "wells"),
    [
        ({"operatorId": "OP-2"}, {"W-2"}),
        ({"leaseId": "L-1"}, {"W-1"}),
        ({"wellIds": ["W-1", "W-3"]}, {"W-1"}),  # W-3 belongs to another organization
    ],
)
def test_filters_narrow_the_rows(filters: dict, wells: set[str], ctx: JobContext) -> None:
    rows = build(ctx, "production_daily", filters=filters)
    assert {row[1] for row in rows[1:]} == wells


def test_without_organization_every_tenant_is_included(ctx: JobContext) -> None:
    rows = build(ctx, "production_daily", organizationId=None)
    assert {row[1] for row in rows[1:]} == {"W-1", "W-2", "W-3"}


# --- progress, logs and notices ---------------------------------------------------------------


def test_progress_runs_through_the_stages(ctx: JobContext, sink: RecordingSink) -> None:
    seed(ctx)
    rg.process(request(recipients=["a@example.com", "b@example.com"]), ctx)
    assert sink.progress_values == sorted(sink.progress_values)
    assert len(set(sink.progress_values)) >= 5 and sink.progress_values[-1] == 100
    for stage in ("query:", "build:", "write:", "notify:"):
        assert any(line.startswith(stage) for line in sink.logs), stage


def test_report_ready_is_enqueued_per_recipient(ctx: JobContext, sink: RecordingSink) -> None:
    seed(ctx)
    result = rg.process(request(format="xlsx", recipients=["a@example.com", "b@example.com"]), ctx)

    calls = sink.enqueued_to("email-notifications")
    assert [call.options for call in calls] == [
        {"job_id": f"report_ready:{ctx.job_id}:0"},
        {"job_id": f"report_ready:{ctx.job_id}:1"},
    ]
    for call, recipient in zip(calls, ["a@example.com", "b@example.com"]):
        assert call.payload["type"] == "report_ready" and call.payload["priority"] == "medium"
        assert call.payload["recipients"] == [recipient]
        assert call.payload["data"] == {"reportPath": result["path"], "reportType": "production_daily"}
        assert call.payload["organizationId"] == "org-a"
        assert "Daily Production Report" in call.payload["subject"] and call.payload["body"]
        EmailNotification.model_validate(call.payload)  # the email queue accepts it as is


def test_no_recipients_no_notices(ctx: JobContext, sink: RecordingSink) -> None:
    rg.process(request(), ctx)
    assert sink.enqueued == []


def test_job_id_is_made_filename_safe(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, job_id="cron:nightly/../x 1")
    path = Path(rg.process(request(), ctx)["path"])
    assert path.parent == ctx.settings.reports_dir
    assert path.name == f"production_daily_{START}_{END}_cron_nightly____x_1.csv"


def test_rerun_replaces_the_same_file(ctx: JobContext) -> None:
    first = rg.process(request(), ctx)["path"]
    seed(ctx)
    second = rg.process(request(), ctx)
    assert second["path"] == first and len(table_rows(Path(first))) == 14


# --- untrusted text in the writers -------------------------------------------------------------


def test_writers_never_emit_formulas(tmp_path: Path) -> None:
    table = ReportTable(
        "safety_weekly",
        "Flags",
        START,
        END,
        (Column("Details"), Column("Oil", "number")),
        (('=HYPERLINK("http://x")', 1.0), ("@SUM(A1)", -2.0)),
    )
    csv_writer.write(table, tmp_path / "t.csv")
    assert [row[0] for row in table_rows(tmp_path / "t.csv")[1:]] == ['\'=HYPERLINK("http://x")', "'@SUM(A1)"]
    assert table_rows(tmp_path / "t.csv")[2][1] == "-2.00"

    xlsx_writer.write(table, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["Report"]
    cells = [row[0] for row in sheet.iter_rows() if str(row[0].value).startswith(("=", "@"))]
    assert [c.value for c in cells] == ['=HYPERLINK("http://x")', "@SUM(A1)"]
    assert all(c.data_type == "s" for c in cells)


def test_pdf_survives_text_outside_latin1(tmp_path: Path) -> None:
    table = ReportTable("safety_weekly", "Flags", START, END, (Column("Details"),), (("well ☢ Doña Ana",),))
    pdf_writer.write(table, tmp_path / "t.pdf")
    assert "well ? Doña Ana" in pdf_text(tmp_path / "t.pdf")  # ñ is Latin-1; the symbol is replaced


# --- payload validation ------------------------------------------------------------------------


def locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [".".join(str(part) for part in error["loc"]) for error in exc.value.errors()]


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"dateRange": {"start": "2026-10-04", "end": "2026-10-01"}}, "dateRange.end"),
        ({"dateRange": {"start": "2026-10-04"}}, "dateRange.end"),
        ({"dateRange": {"start": "soon", "end": "2026-10-01"}}, "dateRange.start"),
        ({"reportType": "production_hourly"}, "reportType"),
        ({"format": "docx"}, "format"),
        ({"recipients": ["nobody"]}, "recipients.0"),
        ({"filters": {"wellIds": []}}, "filters.wellIds"),
        ({"filters": {"county": "Midland"}}, "filters.county"),
        ({"includeCharts": "maybe"}, "includeCharts"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_payloads_name_the_field(changes: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as exc:
        request(**changes)
    assert loc in locs(exc)


def test_end_before_start_says_what_to_do() -> None:
    with pytest.raises(ValidationError, match=r"must be on or after start \(2026-10-04\)"):
        request(dateRange={"start": "2026-10-04", "end": "2026-10-01"})


def test_span_is_limited_per_report_type() -> None:
    year = {"start": "2026-01-01", "end": "2026-12-31"}
    request(reportType="production_monthly", dateRange=year)
    with pytest.raises(ValidationError, match="dateRange covers 365 days; a production_daily report covers at most 92"):
        request(reportType="production_daily", dateRange=year)
    with pytest.raises(ValidationError, match="at most 400 days"):
        request(reportType="safety_weekly", dateRange={"start": "2025-01-01", "end": "2026-12-31"})


def test_kind_wiring() -> None:
    kind = rg.KIND
    assert (kind.name, kind.queue, kind.payload) == ("generate_report", "report-generation", rg.ReportPayload)
    assert kind.process is rg.process and kind.max_attempts == 3 and kind.backoff_ms == 2000


# --- WellFlow's shape: date-time ranges, reportId, priority, excel -----------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2026-09-28T22:42:36.494Z", "2026-10-04T15:05:09.790Z", (START, END)),
        ("2026-09-28T23:30:00-05:00", "2026-10-04T00:00:00+02:00", (START, END)),  # the day in its own offset
        ("2026-09-28", "2026-10-04T10:00:00Z", (START, END)),
    ],
)
def test_date_ranges_take_instants_with_z_or_an_offset(start: str, end: str, days: tuple) -> None:
    payload = request(dateRange={"start": start, "end": end})
    assert (payload.dateRange.first_day, payload.dateRange.last_day) == days
    sent = payload.model_dump(mode="json", exclude_unset=True)
    assert rg.ReportPayload.model_validate(sent) == payload  # what the worker validates again


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2026-09-28T22:42:36", "needs Z or an offset"),
        ("2026-09-28T25:00:00Z", "ISO-8601 date-time"),
        (20260928, "must be a date"),
    ],
)
def test_date_range_problems_name_the_field_and_the_fix(start, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        request(dateRange={"start": start, "end": "2026-10-04"})
    assert "dateRange.start" in locs(exc) and message in str(exc.value)


def test_instants_on_the_same_day_in_the_wrong_order_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"must be on or after start \(2026-10-04\)"):
        request(dateRange={"start": "2026-10-04T12:00:00Z", "end": "2026-10-03T23:00:00Z"})


def test_report_id_names_the_file_the_result_and_the_notice(ctx: JobContext, sink: RecordingSink) -> None:
    seed(ctx)
    result = rg.process(
        request(
            reportId="RPT-1758639909790-272",
            priority="urgent",
            recipients=["a@example.com"],
            dateRange={"start": "2026-09-28T00:00:00.000Z", "end": "2026-10-04T23:59:59.999Z"},
        ),
        ctx,
    )
    assert result["reportId"] == "RPT-1758639909790-272"
    assert Path(result["path"]).name == f"production_daily_{START}_{END}_RPT-1758639909790-272.csv"
    [notice] = sink.enqueued_to("email-notifications")
    assert "RPT-1758639909790-272" in notice.payload["subject"]
    assert notice.payload["data"]["reportId"] == "RPT-1758639909790-272"
    assert notice.payload["priority"] == "urgent"
    EmailNotification.model_validate(notice.payload)


def test_excel_is_an_xlsx_workbook(ctx: JobContext) -> None:
    seed(ctx)
    result = rg.process(request(format="excel"), ctx)
    assert result["format"] == "xlsx" and result["path"].endswith(".xlsx")
    assert openpyxl.load_workbook(result["path"]).active.title == "Report"


@pytest.mark.parametrize(("priority", "job_priority"), [("urgent", 1), ("high", 2), ("medium", None), ("low", None)])
def test_report_priority_maps_to_a_job_priority_like_emails(priority: str, job_priority: int | None) -> None:
    assert rg.job_priority(request(priority=priority)) == job_priority


@pytest.mark.parametrize(
    ("changes", "loc"),
    [({"reportID": "R-1"}, "reportID"), ({"priority": "asap"}, "priority"), ({"format": "xls"}, "format")],
)
def test_wellflow_fields_still_refuse_typos(changes: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as exc:
        request(**changes)
    assert loc in locs(exc)
