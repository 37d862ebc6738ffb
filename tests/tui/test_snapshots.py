"""Layout snapshots of each screen at 100x30 (and 80x24, 120x36 where the layout changes), on the fixed sample data and clock (update with --snapshot-update)."""

from __future__ import annotations

import json

from textual.widgets import TextArea

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.screens.queue import QueueScreen

from .conftest import SIZE, press, settle
from .fix_data import FIXED, fix_source
from .sample_data import NOW, sample_source
from .static_source import StaticOperationsSource
from .test_workers_schedules_audit import sample_workers

#: The smallest terminal the console is laid out for.
NARROW = (80, 24)


def app() -> WellQueueApp:
    return WellQueueApp(sample_source(), refresh_interval=3600, clock=lambda: NOW)


def operations_app() -> WellQueueApp:
    """The sample jobs with worker processes on two hosts (the overview's workers strip)."""
    source = StaticOperationsSource(
        sample_source().jobs.values(),
        queues=sample_source().queues,
        now=NOW,
        paused={"email-notifications"},
        workers=sample_workers(),
        throughput=sample_source().stats,
    )
    return WellQueueApp(source, refresh_interval=3600, clock=lambda: NOW)


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


def test_confirm_cancel_running_job(snap_compare):
    async def asking(pilot):
        await settle(pilot)
        pilot.app.open_job("dv-a1")
        await settle(pilot)
        await press(pilot, "x")

    assert snap_compare(app(), terminal_size=SIZE, run_before=asking)


def test_help(snap_compare):
    async def help_on_queue(pilot):
        await settle(pilot)
        await press(pilot, "enter", "question_mark")

    assert snap_compare(app(), terminal_size=SIZE, run_before=help_on_queue)


def test_delayed_jobs_retry_or_scheduled(snap_compare):
    async def delayed_page(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("webhooks", "delayed"))
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=delayed_page)


def test_job_options_by_their_names(snap_compare):
    async def options_in_view(pilot):
        await settle(pilot)
        pilot.app.open_job("rg-p1")
        await settle(pilot)
        await press(pilot, "G")

    assert snap_compare(app(), terminal_size=SIZE, run_before=options_in_view)


def test_command_mode_with_completion(snap_compare):
    async def completing(pilot):
        await settle(pilot)
        await press(pilot, "colon", "q", "space", "tab")  # ambiguous: the queue names are listed

    assert snap_compare(app(), terminal_size=SIZE, run_before=completing)


def test_command_mode_error(snap_compare):
    async def mistyped(pilot):
        await settle(pilot)
        await press(pilot, "colon", "q", "space", "n", "o", "p", "e", "enter")

    assert snap_compare(app(), terminal_size=SIZE, run_before=mistyped)


def test_overview_lower_half_at_120x36(snap_compare):
    async def loaded(pilot):
        await settle(pilot)

    assert snap_compare(operations_app(), terminal_size=(120, 36), run_before=loaded)


def test_queue_history_window(snap_compare):
    async def six_hours(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("data-validation", "completed"))
        await settle(pilot)
        await press(pilot, "t")

    assert snap_compare(app(), terminal_size=SIZE, run_before=six_hours)


def test_narrow_overview(snap_compare):
    async def loaded(pilot):
        await settle(pilot)

    assert snap_compare(operations_app(), terminal_size=NARROW, run_before=loaded)


def test_narrow_queue_failed_jobs(snap_compare):
    async def failed_page(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("report-generation", "failed"))
        await settle(pilot)

    assert snap_compare(app(), terminal_size=NARROW, run_before=failed_page)


async def searched(pilot):
    await settle(pilot)
    await press(pilot, "slash")
    await pilot.press(*"error:timeout state:failed")
    await press(pilot, "enter")


def test_search_across_queues(snap_compare):
    assert snap_compare(app(), terminal_size=SIZE, run_before=searched)


def test_search_query_error(snap_compare):
    async def mistyped(pilot):
        await settle(pilot)
        await press(pilot, "slash")
        await pilot.press(*"eror:timeout")
        await press(pilot, "enter")

    assert snap_compare(app(), terminal_size=SIZE, run_before=mistyped)


def test_bulk_retry_preview(snap_compare):
    async def previewing(pilot):
        await searched(pilot)
        await press(pilot, "r")

    assert snap_compare(app(), terminal_size=SIZE, run_before=previewing)


def fix_app() -> WellQueueApp:
    return WellQueueApp(fix_source(), refresh_interval=3600, clock=lambda: NOW)


async def editing_refused(pilot):
    await settle(pilot)
    pilot.app.open_job("wh-broken")
    await settle(pilot)
    await press(pilot, "e")
    pilot.app.screen.query_one(TextArea).cursor_blink = False
    await press(pilot, "ctrl+s")


def test_payload_editor_with_the_kinds_refusals(snap_compare):
    assert snap_compare(fix_app(), terminal_size=SIZE, run_before=editing_refused)


def test_payload_diff_before_retry(snap_compare):
    async def diffing(pilot):
        await editing_refused(pilot)
        pilot.app.screen.query_one(TextArea).text = json.dumps(FIXED)
        await press(pilot, "ctrl+s")

    assert snap_compare(fix_app(), terminal_size=SIZE, run_before=diffing)


def test_narrow_search(snap_compare):
    assert snap_compare(app(), terminal_size=NARROW, run_before=searched)


def failures_app() -> WellQueueApp:
    from .test_failures import failure_source

    return WellQueueApp(failure_source(), refresh_interval=3600, clock=lambda: NOW)


def test_failures(snap_compare):
    async def groups(pilot):
        await settle(pilot)
        await press(pilot, "f")

    assert snap_compare(failures_app(), terminal_size=SIZE, run_before=groups)


def test_failure_group(snap_compare):
    async def group(pilot):
        await settle(pilot)
        await press(pilot, "f", "enter")

    assert snap_compare(failures_app(), terminal_size=SIZE, run_before=group)


def test_failure_group_retry_preview(snap_compare):
    async def preview(pilot):
        await settle(pilot)
        await press(pilot, "f", "enter", "R")

    assert snap_compare(failures_app(), terminal_size=SIZE, run_before=preview)


def limited_app() -> WellQueueApp:
    """The sample jobs with limits on webhooks: 10/s set live, at most 4 in flight."""
    source = sample_source()
    source.set_queue_limit("webhooks", "10/s", "4")
    return WellQueueApp(source, refresh_interval=3600, clock=lambda: NOW)


def test_limit_dialog(snap_compare):
    async def asking(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("webhooks"))
        await settle(pilot)
        await press(pilot, "L")

    assert snap_compare(limited_app(), terminal_size=SIZE, run_before=asking)


def test_queue_info(snap_compare):
    async def info(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen("webhooks"))
        await settle(pilot)
        await press(pilot, "i")

    assert snap_compare(limited_app(), terminal_size=SIZE, run_before=info)
