"""Keys typed fast or held down: every key of a burst acts, none is lost to state that only updates later.

`burst` queues all keys before the first is handled, as a terminal does (tmux send-keys, key repeat);
`pilot.press` idles between keys, and is checked too."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Tabs

from wellqueue_tui.screens.queue import PAGE_SIZE, QueueScreen
from wellqueue_tui.widgets.job_table import JobTable

from .conftest import SIZE, burst, settle
from .sample_data import NOW, job
from .static_source import StaticSource


def many_failed(count: int) -> StaticSource:
    jobs = [
        job(
            f"f{n:03d}",
            "bulk",
            "k",
            "failed",
            {"n": n},
            age_s=10 * n + 1,
            attempts=1,
            took_ms=5,
            error=f"ValueError: bad n={n}",
        )
        for n in range(count)
    ]
    return StaticSource(jobs, now=NOW)


async def open_queue(pilot, queue: str, state: str = "waiting") -> QueueScreen:
    pilot.app.push_screen(QueueScreen(queue, state))
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    return pilot.app.screen


async def test_a_burst_of_j_moves_the_overview_focus_once_per_key(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "j", "j", "j")
        assert app.focused.queue == "webhooks"
        await burst(pilot, "k", "k")
        assert app.focused.queue == "report-generation"


async def test_a_burst_of_h_and_l_steps_one_tab_per_key(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_queue(pilot, "data-validation")
        await burst(pilot, "h", "h", "h", "h")  # waiting, waiting-children, failed, completed, active
        assert screen.state == "active"
        assert screen.query_one(Tabs).active == "state-active"
        assert [job.id for job in screen.table.jobs] == ["dv-a1"]
        await burst(pilot, "l", "l", "l", "l", "l", "l")  # round the seven tabs to delayed
        assert screen.state == "delayed"
        await pilot.press("l", "l")
        await settle(pilot)
        assert screen.state == "completed"
        assert [job.id for job in screen.table.jobs][:1] == ["dv-c0"]


async def test_a_burst_of_n_pages_once_per_key_and_b_comes_back(make_app):
    app = make_app(many_failed(PAGE_SIZE * 4 + 3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_queue(pilot, "bulk", "failed")
        await burst(pilot, "n", "n", "n")
        assert screen.page_offset == PAGE_SIZE * 3
        assert screen.table.jobs[0].id == f"f{PAGE_SIZE * 3:03d}"
        await burst(pilot, "n", "n", "n")  # past the last page: stays on it
        assert screen.page_offset == PAGE_SIZE * 4
        await burst(pilot, "b", "b")
        assert screen.page_offset == PAGE_SIZE * 2
        assert screen.table.jobs[0].id == f"f{PAGE_SIZE * 2:03d}"


async def test_a_burst_of_cursor_keys_and_marks_lands_every_key(make_app):
    app = make_app(many_failed(12))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_queue(pilot, "bulk", "failed")
        table = screen.query_one(JobTable)
        await burst(pilot, "j", "j", "j", "j")
        assert table.cursor_row == 4
        await burst(pilot, "k", "k", "k")
        assert table.cursor_row == 1
        await burst(pilot, "space", "j", "space", "j", "j", "space")
        assert screen.selected == {"f001", "f002", "f004"}
        await burst(pilot, "G", "k", "space")
        assert table.cursor_row == 10
        assert "f010" in screen.selected
        await pilot.press("g", "j", "space", "j", "space")
        await settle(pilot)
        assert screen.selected == {"f004", "f010"}  # f001 and f002 unmarked again


async def test_a_burst_of_j_scrolls_the_job_detail_one_line_per_key(source, make_app):
    app = make_app(source)
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot)
        app.open_job("dv-f1")
        await settle(pilot)
        body = app.screen.query_one(".job-body", VerticalScroll)
        await burst(pilot, "j", "j", "j")
        assert body.scroll_y == 3
        await burst(pilot, "k", "k")
        assert body.scroll_y == 1


async def test_text_typed_right_after_slash_goes_into_the_filter(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_queue(pilot, "report-generation", "failed")
        await burst(pilot, "slash", "r", "g", "-", "f", "0", "3", "enter")
        assert screen.search == "rg-f03"
        assert [job.id for job in screen.table.jobs] == ["rg-f03"]
        assert source.jobs["rg-f03"].summary.state == "failed"  # the `r` was text, not a retry
