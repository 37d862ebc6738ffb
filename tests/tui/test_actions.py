"""Every operator action from the keyboard, checked against the source's data afterwards."""

from __future__ import annotations

from textual.widgets import Input, Select, Static

from wellqueue_tui.screens.clean import CleanScreen
from wellqueue_tui.screens.confirm import ConfirmScreen
from wellqueue_tui.screens.overview import OverviewScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.widgets.job_table import JobTable

from .conftest import SIZE, notifications, press, settle, type_text


def state_of(source, job_id: str) -> str | None:
    job = source.get_job(job_id)
    return job.summary.state if job else None


def question(app) -> str:
    assert isinstance(app.screen, ConfirmScreen)
    return str(app.screen.query_one(".confirm-question", Static).render())


async def open_queue(app, pilot, queue: str, state: str) -> JobTable:
    app.push_screen(QueueScreen(queue, state))
    await settle(pilot)
    return app.screen.query_one(JobTable)


async def test_retry_a_failed_job_from_the_queue_screen(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = await open_queue(app, pilot, "data-validation", "failed")
        await press(pilot, "r")
        assert state_of(source, "dv-f1") == "waiting"
        assert "job dv-f1 queued again" in notifications(app)
        assert table.jobs == []  # the page reloaded after the action


async def test_retry_all_failed_asks_with_the_count(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "j", "R")
        assert question(app) == "Retry 25 failed jobs in report-generation?"
        await press(pilot, "n")
        assert source.queue_counts("report-generation").failed == 25
        await press(pilot, "R", "y")
        counts = source.queue_counts("report-generation")
        assert counts.failed == 0 and counts.waiting == 27
        assert "25 failed jobs in report-generation queued again" in notifications(app)
        panel_counts = str(app.screen.query(".panel-counts").nodes[1].render())
        assert "27" in panel_counts


async def test_pause_and_resume_a_queue(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p")
        assert "data-validation" in source.paused
        assert app.focused.has_class("-paused")
        await press(pilot, "p")
        assert "data-validation" not in source.paused
        await press(pilot, "enter", "p")
        assert "data-validation" in source.paused
        assert "PAUSED" in str(app.screen.query_one(".queue-title", Static).render())


async def test_promote_a_delayed_job(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "webhooks", "delayed")
        await press(pilot, "j")
        assert app.screen.query_one(JobTable).highlighted_id == "wh-d1"
        await press(pilot, "P")
        assert state_of(source, "wh-d1") == "waiting"
        assert state_of(source, "wh-d2") == "delayed"


async def test_remove_asks_then_removes(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "data-validation", "completed")
        await press(pilot, "d")
        assert question(app) == "Remove job dv-c0 (completed) from data-validation? This cannot be undone."
        await press(pilot, "escape")
        assert state_of(source, "dv-c0") == "completed"
        await press(pilot, "d", "y")
        assert state_of(source, "dv-c0") is None
        assert "dv-c0" not in [job.id for job in app.screen.query_one(JobTable).jobs]


async def test_remove_from_the_job_screen_goes_back(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("wh-c1")
        await settle(pilot)
        await press(pilot, "d", "y")
        assert state_of(source, "wh-c1") is None
        assert isinstance(app.screen, OverviewScreen)


async def test_actions_from_the_job_screen(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("dv-f1")
        await settle(pilot)
        await press(pilot, "r")
        assert state_of(source, "dv-f1") == "waiting"
        assert "WAITING" in str(app.screen.query_one(".job-heading", Static).render())
        await press(pilot, "r")  # not failed any more: the source's refusal is shown, nothing breaks
        assert any("not failed" in message for message in notifications(app))
        app.pop_screen()
        app.open_job("dv-d1")
        await settle(pilot)
        await press(pilot, "P")
        assert state_of(source, "dv-d1") == "waiting"


async def test_clean_asks_state_and_age_then_confirms(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "report-generation", "failed")
        await press(pilot, "c")
        assert isinstance(app.screen, CleanScreen)
        assert app.screen.query_one(Select).value == "failed"
        await press(pilot, "ctrl+u")
        await type_text(pilot, "soon")
        await press(pilot, "enter")  # not a duration: the dialog says so and stays
        assert isinstance(app.screen, CleanScreen)
        assert "bad duration" in str(app.screen.query_one("#clean-error", Static).render())
        age = app.screen.query_one(Input)
        age.value = "2h"
        await press(pilot, "enter")
        assert question(app) == (
            "Remove up to 25 failed jobs older than 2h from report-generation? This cannot be undone."
        )
        await press(pilot, "y")
        # Failed jobs are 10, 20, … 250 minutes old (finished 5 s after creation): those over 2h go.
        remaining = sorted(job.id for job in source.list_jobs("report-generation", "failed", 0, 100).jobs)
        assert remaining == [f"rg-f{n:02d}" for n in range(12)]
        assert "13 failed jobs removed from report-generation" in notifications(app)


async def test_clean_cancelled_changes_nothing(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", "escape")
        assert isinstance(app.screen, OverviewScreen)
        assert source.queue_counts("data-validation").completed == 5


async def test_drain_removes_waiting_and_prioritized_only(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "j", "D")
        assert question(app).startswith("Remove 4 waiting jobs from report-generation (2 waiting, 2 prioritized)?")
        await press(pilot, "y")
        counts = source.queue_counts("report-generation")
        assert (counts.waiting, counts.prioritized, counts.failed, counts.completed) == (0, 0, 25, 3)


async def test_space_selects_rows_for_bulk_retry(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = await open_queue(app, pilot, "report-generation", "failed")
        await press(pilot, "space", "j", "j", "space", "j", "space", "k", "space")
        assert app.screen.selected == {"rg-f00", "rg-f03"}  # rg-f02 was selected, then unselected
        assert "2 selected" in str(app.screen.query_one(".queue-title", Static).render())
        assert str(table.get_row("rg-f00")[0]) == "●"
        await press(pilot, "r")
        assert state_of(source, "rg-f00") == "waiting" and state_of(source, "rg-f03") == "waiting"
        assert state_of(source, "rg-f01") == "failed" and state_of(source, "rg-f02") == "failed"
        assert "2 of 2 jobs queued again" in notifications(app)
        assert app.screen.selected == set()


async def test_bulk_remove_and_promote_on_the_selection(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "report-generation", "failed")
        await press(pilot, "space", "j", "space", "j", "space", "d")
        assert question(app) == "Remove 3 selected jobs from report-generation? This cannot be undone."
        await press(pilot, "y")
        assert [state_of(source, f"rg-f0{n}") for n in range(4)] == [None, None, None, "failed"]
        app.pop_screen()
        await open_queue(app, pilot, "webhooks", "delayed")
        await press(pilot, "space", "j", "space", "P")
        assert state_of(source, "wh-d1") == "waiting" and state_of(source, "wh-d2") == "waiting"
