"""Incident triage in the console: errors on rows, options by their enqueue names, the `:` command line, copying
over SSH, the history windows and the overview's recent failures and workers."""

from __future__ import annotations

import dataclasses

import pytest
from textual.widgets import Static

from wellqueue_tui.jobs.options import JobOptions
from wellqueue_tui.screens.command import CommandScreen
from wellqueue_tui.screens.command_line import Command, CommandError, complete, parse
from wellqueue_tui.screens.incident_summary import incident_summary
from wellqueue_tui.screens.job import JobScreen
from wellqueue_tui.screens.overview import OverviewScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.screens.search import SearchScreen
from wellqueue_tui.widgets.failure_table import FailureTable
from wellqueue_tui.widgets.job_errors import error_line, waits_for_retry
from wellqueue_tui.widgets.job_options import displayed_options
from wellqueue_tui.widgets.job_table import JobTable
from wellqueue_tui.widgets.queue_history import LatencySample, bucketed, history_text, percentile
from wellqueue_tui.widgets.throughput_chart import ThroughputSeries

from .conftest import SIZE, burst, notifications, press, settle
from .sample_data import HOSTILE, NOW, QUEUES, job, sample_source
from .static_source import StaticOperationsSource
from .test_workers_schedules_audit import sample_workers

ALL = {"q", "job", "search", "workers", "schedules", "audit"}


def cell_text(table: JobTable, job_id: str, column: str) -> str:
    return str(table.get_cell(job_id, column))


# Errors where the eye is


def test_error_line_is_one_sanitized_line():
    assert error_line("ValueError: bad\n  value\there") == "ValueError: bad value here"
    assert "\x1b" not in error_line(HOSTILE["osc52"] + HOSTILE["csi"])
    assert error_line(None) == "" and error_line("") == ""


def test_a_delayed_job_with_a_failed_attempt_waits_for_a_retry():
    source = sample_source()
    assert waits_for_retry(source.jobs["wh-d2"].summary)
    assert not waits_for_retry(source.jobs["wh-d1"].summary)  # scheduled for later
    assert not waits_for_retry(source.jobs["rg-f00"].summary)  # failed for good


async def test_failed_rows_show_their_error_and_delayed_rows_why_they_wait(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("webhooks", "failed"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        error = cell_text(table, "wh-evil", "error")
        assert error.startswith("HTTP 500 \\x1b]52;c;") and "\x1b" not in error
        app.push_screen(QueueScreen("webhooks", "delayed"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        assert cell_text(table, "wh-d2", "waits_for") == "retry 2/3"
        assert cell_text(table, "wh-d2", "error").startswith("ConnectionError: hooks.ex")
        assert cell_text(table, "wh-d1", "waits_for") == "scheduled"
        assert cell_text(table, "wh-d1", "error") == ""
        await press(pilot, "l")
        assert "progress" in table.columns and "error" not in table.columns


# Options by their enqueue names


def test_options_read_back_under_the_names_callers_pass():
    options = JobOptions.build(
        job_id="j-1",
        priority=5,
        attempts=4,
        backoff={"type": "fixed", "delay": 500},
        timeout_ms=30000,
        remove_on_complete=True,
        remove_on_fail={"count": 10, "age": 3600},
    )
    detail = job("j-1", "q", "k", "waiting", {}, age_s=1)
    shown = displayed_options(dataclasses.replace(detail, options={**options.message_options(), "wq_org": "acme"}))
    assert shown == {
        "jobId": "j-1",
        "attempts": 4,
        "backoff": {"type": "fixed", "delay": 500},
        "removeOnComplete": True,
        "removeOnFail": {"count": 10, "age": 3600},
        "priority": 5,
        "timeout": 30000,
    }
    defaults = displayed_options(dataclasses.replace(detail, options=JobOptions.build().message_options()))
    assert (
        defaults["removeOnComplete"] == 100 and defaults["removeOnFail"] == 50 and not any("wq_" in k for k in defaults)
    )


def test_a_scheduled_job_shows_its_delay():
    delayed = job("d", "q", "k", "delayed", {}, age_s=60, delayed_for_s=240)
    assert displayed_options(delayed)["delay"] == 300_000


async def test_the_job_screen_shows_options_without_internal_keys(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("rg-p1")
        await settle(pilot)
        options = str(app.screen.query_one("#section-options", Static).render())
        assert '"removeOnComplete": 100' in options and '"priority": 2' in options and '"jobId": "rg-p1"' in options
        assert "wq_" not in options


# The `:` command line


def test_parse_names_what_is_wrong():
    queues = list(QUEUES)
    assert parse("q webhooks", queues, ALL) == Command("q", "webhooks")
    assert parse("queue web", queues, ALL) == Command("q", "webhooks")  # an unambiguous start is enough
    assert parse("  job  dv-f1 ", queues, ALL) == Command("job", "dv-f1")
    assert parse("search oil volume", queues, ALL) == Command("search", "oil volume")
    assert parse("workers", queues, ALL) == Command("workers")
    with pytest.raises(CommandError, match="no queue named 'nope'"):
        parse("q nope", queues, ALL)
    with pytest.raises(CommandError, match="job needs a id"):
        parse("job", queues, ALL)
    with pytest.raises(CommandError, match="no command 'workers' here"):
        parse("workers", queues, {"q", "job"})
    with pytest.raises(CommandError, match="takes nothing"):
        parse("audit now", queues, ALL)


def test_tab_completes_commands_and_queue_names():
    queues = ["webhooks", "web-scrape", "data-validation"]
    assert complete("wo", queues, ALL) == "workers"
    assert complete("j", queues, ALL) == "job "
    assert complete("s", queues, ALL) == "s"  # search or schedules
    assert complete("sc", queues, ALL) == "schedules"
    assert complete("q d", queues, ALL) == "q data-validation"
    assert complete("q w", queues, ALL) == "q web"
    assert complete("q webh", queues, ALL) == "q webhooks"
    assert complete("job x", queues, ALL) == "job x"


async def test_colon_opens_a_queue_typed_in_a_burst_with_tab_completion(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "colon", "q", "space", "w", "e", "b", "tab", "enter")
        assert isinstance(app.screen, QueueScreen) and app.screen.queue == "webhooks"


async def test_colon_errors_inline_and_escape_closes(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon", "x", "enter")
        assert isinstance(app.screen, CommandScreen)
        error = app.screen.query_one(".command-error", Static)
        assert error.display and "no command 'x' here; try q, job" in str(error.render())
        await press(pilot, "escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_colon_job_and_search(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "colon", *"job dv-f1", "enter")
        assert isinstance(app.screen, JobScreen) and app.screen.job_id == "dv-f1"
        await press(pilot, "escape")
        app.push_screen(QueueScreen("report-generation", "failed"))
        await settle(pilot)
        await burst(pilot, "colon", *"search rg-f1", "enter")
        assert isinstance(app.screen, SearchScreen)  # every queue and state, not only the queue shown
        assert [row.id for row in app.screen.table.jobs] == [f"rg-f{n}" for n in range(10, 20)]


async def test_colon_opens_the_operations_screens_the_source_offers(make_app):
    source = StaticOperationsSource(sample_source().jobs.values(), now=NOW, workers=sample_workers())
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "colon", *"wo", "tab", "enter")
        assert app.screen.sub_title == "Workers"


# Copy over SSH


async def test_y_copies_the_job_id_and_says_so(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("report-generation", "failed"))
        await settle(pilot)
        await press(pilot, "j", "y")
        assert app.clipboard == "rg-f01"
        assert "Copied job id rg-f01" in notifications(app)


async def test_shift_y_copies_a_redacted_incident_summary_from_the_queue_and_the_job(make_app):
    source = sample_source()
    failed = job(
        "s-1",
        "webhooks",
        "deliver_webhook",
        "failed",
        {"url": "https://x", "apiToken": "s3cr3t", "wellId": "W-1"},
        age_s=60,
        attempts=1,
        error="HTTPError: 401 " + HOSTILE["osc52"],
        traceback="Traceback (most recent call last):\n"
        + "".join(f"  line {n}\n" for n in range(20))
        + "HTTPError: 401",
    )
    source.jobs["s-1"] = failed
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("webhooks", "failed"))
        await settle(pilot)
        await press(pilot, "Y")
        summary = app.clipboard
        assert summary.startswith("WellQueue job s-1 in queue webhooks")
        assert "error: HTTPError: 401" in summary and "\x1b" not in summary
        assert "apiToken=••• redacted" in summary and "s3cr3t" not in summary and "wellId=W-1" in summary
        assert "more lines)" in summary and summary.count("line ") == 7  # the first 8 lines: the header and lines 0-6
        assert any("incident summary of s-1" in text for text in notifications(app))
        app.open_job("s-1")
        await settle(pilot)
        await press(pilot, "Y")
        assert app.clipboard == incident_summary(failed)


# History


def test_percentiles_and_the_history_line():
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile(list(range(1, 101)), 0.95) == 95
    done = [
        dataclasses.replace(job(f"c{n}", "q", "k", "completed", {}, age_s=100, attempts=1, took_ms=100 * n).summary)
        for n in range(1, 5)
    ]
    retried = job("r", "q", "k", "completed", {}, age_s=5000, attempts=2, took_ms=100).summary
    sample = LatencySample.of([*done, retried])
    assert sample.jobs == 5 and sample.waits_ms == [2000.0] * 4  # the retried job's wait is left out
    series = ThroughputSeries([1] * 60, [0] * 59 + [3], 0)
    line = str(history_text(series, 1, sample))
    assert line.startswith("1 h: 60 done, 3 failed (4.8%)")
    assert "last 5 done: wait p50 2.0s p95 2.0s · run p50 200ms p95 400ms" in line
    assert bucketed(series, 5).completed == [5] * 12 and bucketed(series, 5).failed[-1] == 3


async def test_t_steps_the_chart_through_the_windows_reading_as_many_minutes(source, make_app):
    asked: list[int] = []
    throughput = source.throughput
    source.throughput = lambda queue, minutes=60: asked.append(minutes) or throughput(queue, minutes)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("data-validation", "completed"))
        await settle(pilot)
        history = app.screen.query_one(".queue-history", Static)
        assert str(history.render()).startswith("1 h: ")
        assert "last 5 done: wait p50 2.0s" in str(history.render())
        for hours in (6, 24, 48, 1):
            await press(pilot, "t")
            assert asked[-1] == hours * 60
            assert str(history.render()).startswith(f"{hours} h: ")


# The overview's lower half


async def test_overview_lists_recent_failures_and_enter_opens_one(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(FailureTable)
        assert table.keys[:3] == ["rg-f00", "wh-evil", "rg-f01"]
        assert "TimeoutError: template render" in str(table.get_cell("rg-f00", "error"))
        await press(pilot, "j", "tab")
        assert app.focused is table
        await burst(pilot, "j", "j")
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen) and app.screen.job_id == "rg-f01"
        await press(pilot, "escape", "tab")
        assert app.focused.queue == "report-generation"  # back to the panel tab left


async def test_overview_shows_the_workers_strip_when_the_source_reports_workers(make_app):
    source = StaticOperationsSource(sample_source().jobs.values(), now=NOW, workers=sample_workers())
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        strip = str(app.screen.query_one(".fleet-strip", Static).render())
        assert strip.startswith("workers 4/6 up")
        assert "host-a data-validation ●● (1 job) report-generation ● (2 jobs)" in strip
        assert "host-b notify ● webhooks ✕◐ (1 job)" in strip


async def test_a_mistake_typed_fast_stays_said(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "colon", "w", "a", "t", "enter")
        error = app.screen.query_one(".command-error", Static)
        assert error.display and "no command 'wat' here" in str(error.render())
        await press(pilot, "s")
        assert not error.display
