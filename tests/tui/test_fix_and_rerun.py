"""Fix and re-run from the job screen (Pilot): edit a failed job's payload, see the kind's refusals inline,
confirm the diff, retry; start a new job from a completed one."""

from __future__ import annotations

import json

from textual.widgets import TextArea

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.screens.confirm import ConfirmScreen
from wellqueue_tui.screens.job import JobScreen
from wellqueue_tui.screens.payload_editor import PayloadEditorScreen, diff_text, parse_problems

from .conftest import SIZE, burst, notifications, press, settle
from .fix_data import FIXED, fix_source

MANAGER = Identity(sub="maria", role=Role.MANAGER, org=None)


async def open_job(pilot, job_id: str) -> None:
    await settle(pilot)
    pilot.app.open_job(job_id)
    await settle(pilot)


async def test_edit_a_failed_payload_fix_what_the_kind_refuses_see_the_diff_and_retry(make_app):
    source = fix_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, "wh-broken")
        await burst(pilot, "e")
        editor = app.screen
        assert isinstance(editor, PayloadEditorScreen)
        area = editor.query_one(TextArea)
        assert json.loads(area.text) == source.jobs["wh-broken"].summary.data
        await press(pilot, "ctrl+s")
        assert app.screen is editor
        assert "data: Field required" in str(editor.query_one(".editor-problems").render())
        area.text = "{ not json"
        await press(pilot, "ctrl+s")
        assert "not valid JSON at line 1, column 3" in str(editor.query_one(".editor-problems").render())
        area.text = json.dumps(FIXED)
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.question)
        assert '-  "dta": {' in question and '+  "data": {' in question
        await press(pilot, "y")
        await settle(pilot)
        detail = source.jobs["wh-broken"]
        assert detail.summary.state == "waiting" and detail.summary.data == FIXED
        assert [json.loads(change.data) for change in detail.history] == [
            {"url": FIXED["url"], "event": FIXED["event"], "dta": {"wellId": "W-4004"}}
        ]
        assert "job wh-broken queued again with the edited payload" in notifications(app)
        assert isinstance(app.screen, JobScreen)
        assert "payload replaced by local" in str(app.screen.query_one("#section-history").render())


async def test_escape_leaves_the_payload_as_it_was(make_app):
    source = fix_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, "wh-broken")
        await burst(pilot, "e", "escape")
        assert isinstance(app.screen, JobScreen) and source.jobs["wh-broken"].history == []


async def test_only_a_failed_job_is_edited_and_a_completed_one_runs_again_as_a_new_job(make_app):
    source = fix_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, "wh-done")
        await press(pilot, "e")
        assert isinstance(app.screen, JobScreen)
        assert any("Only a failed job" in n for n in notifications(app))
        await press(pilot, "n")
        assert isinstance(app.screen, PayloadEditorScreen)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        new = [job for job in source.jobs.values() if job.summary.id.startswith("webhooks-new")]
        assert len(new) == 1 and new[0].summary.data == FIXED and new[0].summary.state == "waiting"


async def test_a_manager_cannot_edit(make_app):
    source = fix_source()
    source.identity = MANAGER
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, "wh-broken")
        await press(pilot, "e")
        assert isinstance(app.screen, JobScreen)
        assert any("retry needs" in n for n in notifications(app))


def test_the_diff_marks_removed_and_added_lines():
    text = str(diff_text({"a": 1, "b": 2}, {"a": 1, "b": 3}))
    assert '-  "b": 2' in text and '+  "b": 3' in text
    assert str(diff_text({"a": 1}, {"a": 1})) == "No change to the payload."


def test_parse_problems_names_line_and_column():
    assert parse_problems('{"a": 1}') == ({"a": 1}, [])
    assert parse_problems('{\n  "a": }')[1] == ["not valid JSON at line 2, column 8: Expecting value"]


async def test_colon_new_adds_a_job_starting_from_the_kinds_example(make_app):
    source = fix_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "colon", *"new web", "tab", "enter")
        editor = app.screen
        assert isinstance(editor, PayloadEditorScreen) and editor.queue == "webhooks"
        example = json.loads(editor.query_one(TextArea).text)
        assert example["event"] == "well.validated"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        [new] = [job for job in source.jobs.values() if job.summary.id.startswith("webhooks-new")]
        assert new.summary.data == example and new.summary.state == "waiting"
