"""Moving through the console with keys: overview → queue → job and back, states, pages, filter, sort, help."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from textual.widgets import Static, Tabs

from wellqueue_tui.screens.help import HelpScreen
from wellqueue_tui.screens.job import JobScreen
from wellqueue_tui.screens.overview import OverviewScreen
from wellqueue_tui.screens.queue import PAGE_SIZE, QueueScreen
from wellqueue_tui.widgets.job_table import JobTable
from wellqueue_tui.widgets.queue_panel import QueuePanel
from wellqueue_tui.widgets.status_bars import ConsoleHeader

from .conftest import SIZE, press, settle, type_text
from .sample_data import NOW, sample_source
from .static_source import StaticSource


def title(app) -> str:
    return str(app.screen.query_one(".queue-title", Static).render())


async def test_overview_shows_a_panel_per_queue_with_counts(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        panels = list(app.screen.query(QueuePanel))
        assert [panel.queue for panel in panels] == list(source.queues)
        counts = str(panels[1].query_one(".panel-counts", Static).render())
        assert "failed" in counts and "25" in counts
        assert panels[2].has_class("-paused")
        assert app.focused is panels[0]


async def test_overview_without_queues_says_how_to_get_some(make_app):
    app = make_app(StaticSource([]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        empty = app.screen.query_one(".overview-empty", Static)
        assert empty.display and "wellqueue demo" in str(empty.render())
        await press(pilot, "enter", "j", "p")  # nothing selected: nothing happens, nothing breaks
        assert isinstance(app.screen, OverviewScreen)


async def test_j_k_and_arrows_move_between_panels_and_enter_opens_the_queue(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "j", "down")
        assert app.focused.queue == "email-notifications"
        await press(pilot, "k")
        assert app.focused.queue == "report-generation"
        await press(pilot, "enter")
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.queue == "report-generation"
        await press(pilot, "escape")
        assert isinstance(app.screen, OverviewScreen)
        assert app.focused.queue == "report-generation"


async def test_queue_screen_lists_the_state_and_switches_states(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_queue("data-validation")
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        assert [job.id for job in table.jobs] == ["dv-w2", "dv-w1", "dv-w0"]  # next to run first
        await press(pilot, "l", "l")
        assert app.screen.state == "delayed"
        assert app.screen.query_one(Tabs).active == "state-delayed"
        assert [job.id for job in table.jobs] == ["dv-d1"]
        await press(pilot, "h")
        assert app.screen.state == "prioritized"
        assert table.jobs == []
        assert "no prioritized jobs" in title(app)


async def test_pages_move_with_n_b_and_page_keys(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("report-generation", "failed"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        assert len(table.jobs) == PAGE_SIZE
        assert table.jobs[0].id == "rg-f00"  # newest failure first
        await press(pilot, "n")
        assert [job.id for job in table.jobs] == ["rg-f20", "rg-f21", "rg-f22", "rg-f23", "rg-f24"]
        assert "21–25 of 25" in title(app)
        await press(pilot, "n")  # no page after the last
        assert app.screen.page_offset == PAGE_SIZE
        await press(pilot, "pageup")
        assert table.jobs[0].id == "rg-f00"
        await press(pilot, "pagedown")
        assert table.jobs[0].id == "rg-f20"
        await press(pilot, "b")
        assert table.jobs[0].id == "rg-f00"


async def test_cursor_keys_and_refresh_keep_the_highlighted_job(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("report-generation", "failed"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        await press(pilot, "j", "j", "down")
        assert table.highlighted_id == "rg-f03"
        await press(pilot, "k")
        assert table.highlighted_id == "rg-f02"
        # A newer failure arrives at the top: the cursor follows rg-f02 to its new row.
        newest = dataclasses.replace(source.jobs["rg-w0"].summary, state="failed", finished_at=source.now)
        source.jobs["rg-w0"] = dataclasses.replace(source.jobs["rg-w0"], summary=newest)
        app.tick()
        await settle(pilot)
        assert table.jobs[0].id == "rg-w0"
        assert table.highlighted_id == "rg-f02"
        assert table.cursor_row == 3
        await press(pilot, "G")
        assert table.highlighted_id == table.jobs[-1].id
        await press(pilot, "g")
        assert table.highlighted_id == "rg-w0"


async def test_filter_searches_by_payload_text_and_escape_clears_it(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("data-validation", "waiting"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        await press(pilot, "slash")
        await type_text(pilot, "w-1041")
        await press(pilot, "enter")
        assert [job.id for job in table.jobs] == ["dv-w1"]
        assert "filter w-1041" in title(app)
        await press(pilot, "slash", "ctrl+u")
        await type_text(pilot, "dv-w")  # ids match too
        await press(pilot, "enter")
        assert len(table.jobs) == 3
        await press(pilot, "escape")
        assert app.screen.search == ""
        assert len(table.jobs) == 3
        assert isinstance(app.screen, QueueScreen)


async def test_sort_cycles_through_columns_and_back(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("data-validation", "completed"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        original = [job.id for job in table.jobs]
        await press(pilot, "s")
        assert [job.id for job in table.jobs] == sorted(original)
        assert "by id" in title(app)
        for _ in range(5):  # key, prio, tries, age, took
            await press(pilot, "s")
        assert "by took" in title(app)
        assert [job.duration_ms for job in table.jobs] == sorted(job.duration_ms for job in table.jobs)
        await press(pilot, "s", "s")  # progress, then the registry's order again
        assert [job.id for job in table.jobs] == original
        assert "queue order" in title(app)


async def test_enter_opens_the_job_and_escape_returns(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("data-validation", "failed"))
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen)
        assert app.screen.job_id == "dv-f1"
        heading = str(app.screen.query_one(".job-heading", Static).render())
        assert "FAILED" in heading and "data-validation" in heading
        error = app.screen.query_one("#section-error", Static)
        assert error.border_title == "error" and "oil volume must not be negative" in str(error.render())
        timeline = str(app.screen.query_one("#section-timeline", Static).render())
        assert "attempt 3" in timeline and "2h ago" in timeline
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)


async def test_a_completed_job_shows_its_earlier_failure_as_such(source, make_app):
    failed_once = source.jobs["dv-f1"]
    done = dataclasses.replace(failed_once.summary, state="completed", finished_at=source.now)
    source.jobs["dv-f1"] = dataclasses.replace(failed_once, summary=done)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("dv-f1")
        await settle(pilot)
        error = app.screen.query_one("#section-error", Static)
        assert error.border_title == "earlier attempt failed"
        assert "oil volume must not be negative" in str(error.render())


async def test_missing_job_says_so(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("no-such-job")
        await settle(pilot)
        heading = str(app.screen.query_one(".job-heading", Static).render())
        assert "no-such-job" in heading and "not found" in heading


async def test_help_lists_the_screen_keys_with_descriptions(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one(".help-keys", Static).render())
        for line in ("/  Filter", "r  Retry", "D  Drain waiting", "pgdn/n  Next page", "q  Quit"):
            assert line in keys
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)


async def test_command_palette_opens_a_queue_and_finds_a_job(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await type_text(pilot, "open queue webhooks")
        await settle(pilot)  # the palette searches in a worker
        await press(pilot, "enter")
        assert isinstance(app.screen, QueueScreen) and app.screen.queue == "webhooks"
        await press(pilot, "ctrl+p")
        await type_text(pilot, "wh-d1")
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen) and app.screen.job_id == "wh-d1"


async def test_quit_asks_first_when_the_supervisor_has_jobs_in_flight(source, make_app):
    class BusySupervisor:
        def in_flight(self) -> int:
            return 3

    app = make_app(source, supervisor=BusySupervisor())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "q")
        question = str(app.screen.query_one(".confirm-question", Static).render())
        assert "3 jobs are still running" in question
        await press(pilot, "n")
        assert isinstance(app.screen, OverviewScreen)
        await press(pilot, "q", "y")
    assert app.return_code == 0


async def test_quit_without_supervisor_exits_at_once(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_header_counts_workers_when_the_source_reports_them(make_app):
    class SourceWithWorkers(StaticSource):
        def workers(self):
            return [SimpleNamespace(state="running"), SimpleNamespace(state="crash-loop")]

    plain = sample_source()
    source = SourceWithWorkers(plain.jobs.values(), queues=plain.queues, now=NOW)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = str(app.screen.query_one(ConsoleHeader).render())
        assert "workers 1/2 up" in header and "local (ADMIN) [dev mode]" in header
