"""The search screen: every queue and state, marks, and bulk retry / remove of all matches (Pilot)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.jobs.search import SearchMatch, SearchProgress
from wellqueue_tui.jobs.search_query import SearchQuery
from wellqueue_tui.screens.bulk import BulkProgressScreen, breakdown
from wellqueue_tui.screens.confirm import ConfirmScreen
from wellqueue_tui.screens.search import SearchScreen

from .conftest import SIZE, burst, notifications, press, settle
from .sample_data import sample_source

OPERATOR = Identity(sub="oscar", role=Role.OPERATOR, org=None)


def failed_ids(source) -> set[str]:
    return {job.summary.id for job in source.jobs.values() if job.summary.state == "failed"}


async def search(pilot, text: str) -> SearchScreen:
    await settle(pilot)
    await burst(pilot, "slash", *text, "enter")
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    return screen


async def test_slash_searches_every_queue_with_qualifiers_typed_in_a_burst(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = await search(pilot, "error:timeout state:failed")
        expected = {j.summary.id for j in source.jobs.values() if j.summary.state == "failed"}
        expected = {i for i in expected if "timeout" in (source.jobs[i].summary.error or "").lower()}
        assert expected and {m.id for m in screen.matches} == expected
        assert screen.last is not None and screen.last.done
        assert all(job.error for job in screen.table.jobs)  # errors on the rows
        await burst(pilot, "slash", *"state:failed", "enter")  # the old query is selected: typing replaces it
        assert {m.id for m in screen.matches} == failed_ids(source)
        assert len({m.queue for m in screen.matches}) > 1  # every queue


async def test_a_bad_term_is_named_under_the_line_and_nothing_runs(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = await search(pilot, "state:broken")
        assert "'broken'" in str(screen.query_one(".search-error").render())
        assert screen.query_run is None


async def test_retry_all_matches_after_a_preview_with_the_exact_count(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = await search(pilot, "state:failed")
        count = len(failed_ids(source))
        await press(pilot, "r")
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Retry {count} matching jobs" in str(app.screen.question)
        await press(pilot, "y")
        await settle(pilot)
        assert failed_ids(source) == set()
        assert f"{count} of {count} matching jobs queued again" in notifications(app)
        assert app.screen is screen and screen.matches == []  # searched again: none failed any more


async def test_marks_range_all_and_clear_choose_what_a_bulk_action_reaches(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = await search(pilot, "state:failed")
        await burst(pilot, "space", "j", "j", "V")
        assert len(screen.marked) == 3
        await press(pilot, "u")
        assert screen.marked == set()
        await press(pilot, "A")
        assert screen.marked == {m.id for m in screen.matches}
        await burst(pilot, "u", "j", "space", "j", "space")
        marked = set(screen.marked)
        assert len(marked) == 2
        await press(pilot, "d", "y")
        await settle(pilot)
        assert not marked & set(source.jobs)
        assert "2 of 2 matching jobs removed" in notifications(app)


async def test_bulk_remove_is_greyed_for_an_operator_and_says_which_role(make_app):
    source = sample_source(OPERATOR)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "state:failed")
        before = set(source.jobs)
        await press(pilot, "d")
        assert not isinstance(app.screen, ConfirmScreen) and set(source.jobs) == before
        assert any("remove needs" in n for n in notifications(app))


async def test_escape_cancels_a_running_search(source, make_app):
    release = threading.Event()

    def slow_search(query: SearchQuery, show: int = 200) -> Iterator[SearchProgress]:
        yield SearchProgress(0, 5000, sets=24)
        yield SearchProgress(2000, 5000, (SearchMatch("dv-f1", "data-validation", "failed"),), sets=24)
        release.wait(30)
        yield SearchProgress(5000, 5000, (SearchMatch("rg-f00", "report-generation", "failed"),), sets=24)

    source.search = slow_search
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"anything", "enter")
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        for _ in range(300):
            if screen.last is not None and screen.last.scanned == 2000:
                break
            await pilot.pause(0.1)
        assert "scanned 2,000 of 5,000" in str(screen.query_one(".search-title").render())
        await pilot.press("escape")
        release.set()
        await settle(pilot)
        assert app.screen is screen and [m.id for m in screen.matches] == ["dv-f1"]
        assert "cancelled at 2,000 of 5,000" in str(screen.query_one(".search-title").render())
        await press(pilot, "escape")
        assert not isinstance(app.screen, SearchScreen)


async def test_the_progress_dialog_stops_after_the_batch_when_cancelled(source, make_app):
    batch_done = threading.Event()
    go_on = threading.Event()
    calls: list[tuple[int, int]] = []

    def call(progress):
        for handled in (500, 1000, 1500):
            calls.append((handled, 1500))
            keep_going = progress(handled, 1500)
            batch_done.set()
            go_on.wait(30)
            if not keep_going:
                break
        from wellqueue_tui.jobs.actions import ActionResult

        return ActionResult("retry_matches", "search: x", calls[-1][0], f"{calls[-1][0]} of 1500 done")

    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        results = []
        await settle(pilot)
        app.push_screen(BulkProgressScreen("Retry 1,500 matching jobs", 1500, call), results.append)
        await pilot.pause()
        for _ in range(300):
            if batch_done.is_set():
                break
            await pilot.pause(0.1)
        await pilot.press("escape")
        go_on.set()
        await settle(pilot)
        assert [r.count for r in results] == [500] or [r.count for r in results] == [1000]
        assert calls[-1][0] < 1500


def test_breakdown_lists_the_largest_pair_first():
    matches = [SearchMatch("a", "q1", "failed"), SearchMatch("b", "q2", "failed"), SearchMatch("c", "q2", "failed")]
    assert breakdown(matches) == [("q2", "failed", 2), ("q1", "failed", 1)]
