"""The Failures screen: `f` (or the palette, or `:failures`) from the overview and queue screens, groups by
cause across queues, enter into a group, retry all / remove all after an exact-count preview; keys in bursts."""

from __future__ import annotations

from textual.widgets import Static

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.screens.confirm import ConfirmScreen
from wellqueue_tui.screens.failure_group import FailureGroupScreen
from wellqueue_tui.screens.failures import FailuresScreen
from wellqueue_tui.screens.overview import OverviewScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.widgets.failure_groups import FailureGroupTable, sparkline
from wellqueue_tui.widgets.job_table import JobTable

from .conftest import SIZE, burst, notifications, press, settle, type_text
from .sample_data import NOW, job, sample_source
from .static_source import StaticSource

LEASE = "ValueError: well <id> has no lease <id>"
COUNTIES = ("Howard", "Howard", "Midland", "Howard", "Reeves")


def lease_failures(count: int = 30) -> list:
    """Failed validations of one cause over the last hours, a few wells and organizations hit more than once."""
    return [
        job(
            f"lease-{n:02}",
            "data-validation",
            "validate_production_data",
            "failed",
            {
                "wellId": f"WELL-TX-{n % 4:04}",
                "organizationId": "permian-ops" if n % 3 else "delaware-ops",
                "location": {"county": COUNTIES[n % 5], "state": "TX"},
            },
            age_s=300 + 1500 * n,
            attempts=3,
            took_ms=40,
            error=f"ValueError: well WELL-TX-{n % 4:04} has no lease LEASE-{200 + n}",
        )
        for n in range(count)
    ]


def failure_source(identity: Identity | None = None) -> StaticSource:
    base = sample_source() if identity is None else sample_source(identity)
    return StaticSource(
        [*base.jobs.values(), *lease_failures()],
        queues=base.queues,
        paused=base.paused,
        throughput=base.stats,
        identity=base.identity,
        now=NOW,
    )


def rows(app) -> list[tuple[str, int]]:
    table = app.screen.query_one(FailureGroupTable)
    return [(table.groups[key].signature, table.groups[key].count) for key in table.keys]


def test_sparkline_scales_to_the_busiest_hour():
    assert sparkline([0, 1, 2, 4]) == " ▂▄█"
    assert sparkline([0, 0]) == "  " and sparkline([]) == ""
    assert sparkline([1, 100])[0] == "▁"  # a failure is never drawn as nothing


async def test_f_opens_the_groups_largest_first_across_queues(make_app):
    app = make_app(failure_source())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        assert isinstance(app.screen, FailuresScreen)
        listed = rows(app)
        assert listed[0] == (LEASE, 30) and listed[1][1] == 25  # the report timeouts
        assert {queue for group in app.screen.records for queue in group.queues} == {
            "data-validation",
            "report-generation",
            "webhooks",
        }
        top = app.screen.records[0]
        assert top.top_values["wellId"][0] == ("WELL-TX-0001", 8)
        assert top.top_values["organizationId"] == [("permian-ops", 20), ("delaware-ops", 10)]
        detail = str(app.screen.query_one(".fleet-detail", Static).render())
        assert "permian-ops ×20" in detail and "Howard" in detail
        await press(pilot, "escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_from_the_queue_screen_the_palette_and_the_command_line(make_app):
    app = make_app(failure_source())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("webhooks", "failed"))
        await settle(pilot)
        await press(pilot, "f")
        assert isinstance(app.screen, FailuresScreen)
        await press(pilot, "escape", "colon")
        await type_text(pilot, "failures")
        await press(pilot, "enter")
        assert isinstance(app.screen, FailuresScreen)
        await press(pilot, "escape")
        await press(pilot, "ctrl+p")
        await type_text(pilot, "Failures")
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, FailuresScreen)


async def test_f_enter_retry_all_confirm_retries_the_whole_group(make_app):
    source = failure_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "f", "enter")
        assert isinstance(app.screen, FailureGroupScreen)
        table = app.screen.query_one(JobTable)
        assert (
            len(table.jobs) == 20 and app.screen.total == 30 and table.jobs[0].id == "lease-00"
        )  # the latest to fail first
        assert "queue" in [column.key for column in table.columns_shown]
        await press(pilot, "R")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one(".confirm-question", Static).render())
        assert "Retry 30 failed jobs (data-validation 30)" in question and LEASE in question
        await press(pilot, "y")
        assert any("30 of 30 failed jobs queued again" in text for text in notifications(app))
        assert all(source.jobs[f"lease-{n:02}"].summary.state == "waiting" for n in range(30))
        assert "no failed jobs left" in str(app.screen.query_one(".queue-title", Static).render())
        await press(pilot, "escape")
        assert LEASE not in [signature for signature, _count in rows(app)]


async def test_keys_in_a_burst_reach_the_preview_and_cancel_leaves_everything(make_app):
    source = failure_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "f", "j", "k", "enter", "R")
        assert isinstance(app.screen, ConfirmScreen)
        await burst(pilot, "n")
        assert isinstance(app.screen, FailureGroupScreen)
        assert sum(1 for n in range(30) if source.jobs[f"lease-{n:02}"].summary.state == "failed") == 30
        await burst(pilot, "escape", "D")  # remove all, from the list
        assert isinstance(app.screen, ConfirmScreen) and "lease-00" in source.jobs
        await burst(pilot, "y")
        assert all(f"lease-{n:02}" not in source.jobs for n in range(30))


async def test_a_manager_may_look_but_not_retry_a_group(make_app):
    app = make_app(failure_source(Identity("mona", Role.MANAGER)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "f", "R")
        assert isinstance(app.screen, FailuresScreen)
        assert any("retry_all needs" in text for text in notifications(app))


async def test_keys_typed_before_the_groups_arrive_all_act_in_order(make_app):
    app = make_app(failure_source())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "f", "j", "enter", "j", "j", "enter")  # the second group, its third job
        assert app.screen.__class__.__name__ == "JobScreen"
        await burst(pilot, "escape")
        assert isinstance(app.screen, FailureGroupScreen)
        assert app.screen.group.signature == "TimeoutError: template render exceeded <n> s"
        assert app.screen.query_one(JobTable).cursor_row == 2
