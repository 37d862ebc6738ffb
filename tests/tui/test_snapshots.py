"""Layout snapshots of each screen at 100x30, on the fixed sample data and clock (update with --snapshot-update)."""

from __future__ import annotations

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.screens.queue import QueueScreen

from .conftest import SIZE, press, settle
from .sample_data import NOW, sample_source


def app() -> WellQueueApp:
    return WellQueueApp(sample_source(), refresh_interval=3600, clock=lambda: NOW)


def test_overview(snap_compare):
    async def loaded(pilot):
        await settle(pilot)
        await press(pilot, "j")

    assert snap_compare(app(), terminal_size=SIZE, run_before=loaded)


def test_queue_failed_jobs(snap_compare):
    async def failed_page(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("report-generation", "failed"))
        await settle(pilot)
        await press(pilot, "j", "space", "j", "j")

    assert snap_compare(app(), terminal_size=SIZE, run_before=failed_page)


def test_job_detail(snap_compare):
    async def failed_job(pilot):
        await settle(pilot)
        pilot.app.open_job("dv-f1")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=failed_job)


def test_confirm_remove(snap_compare):
    async def asking(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("data-validation", "completed"))
        await settle(pilot)
        await press(pilot, "d")

    assert snap_compare(app(), terminal_size=SIZE, run_before=asking)


def test_help(snap_compare):
    async def help_on_queue(pilot):
        await settle(pilot)
        await press(pilot, "enter", "question_mark")

    assert snap_compare(app(), terminal_size=SIZE, run_before=help_on_queue)
