"""Keys a role lacks are greyed out and refused with the role named; Redis outages show a banner and pass."""

from __future__ import annotations

import pytest
import redis
from textual.widgets import Static

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.screens.overview import OverviewScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.widgets.job_table import JobTable
from wellqueue_tui.widgets.status_bars import ConnectionBanner, ConsoleHeader

from .conftest import SIZE, notifications, press, settle
from .sample_data import sample_source

MANAGER = Identity(sub="maria", role=Role.MANAGER, org=None)
OPERATOR = Identity(sub="oscar", role=Role.OPERATOR, org=None)


def enabled(app, key: str) -> bool:
    return app.screen.active_bindings[key].enabled


async def test_manager_sees_action_keys_disabled_and_is_told_which_role_is_needed(make_app):
    source = sample_source(MANAGER)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert enabled(app, "enter")
        assert not any(enabled(app, key) for key in ("p", "R", "c", "D"))
        await press(pilot, "j", "R")
        assert "retry_all needs OPERATOR or ADMIN; you are MANAGER" in notifications(app)
        assert source.queue_counts("report-generation").failed == 25
        await press(pilot, "enter")
        assert not any(enabled(app, key) for key in ("r", "d", "P", "p"))
        await press(pilot, "l", "l", "l", "l", "l", "d")
        assert "remove needs ADMIN; you are MANAGER" in notifications(app)
        await press(pilot, "p")
        assert "pause needs OPERATOR or ADMIN; you are MANAGER" in notifications(app)
        assert "report-generation" not in source.paused
        assert source.queue_counts("report-generation").failed == 25
        assert len(app.screen.query_one(JobTable).jobs) == 20  # reading is still allowed


async def test_manager_typing_in_the_filter_is_not_refused(make_app):
    app = make_app(sample_source(MANAGER))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("data-validation", "waiting"))
        await settle(pilot)
        await press(pilot, "slash", "d", "v", "enter")
        assert app.screen.search == "dv"
        assert notifications(app) == []


async def test_operator_may_retry_but_not_remove(make_app):
    source = sample_source(OPERATOR)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(QueueScreen("data-validation", "failed"))
        await settle(pilot)
        assert enabled(app, "r") and enabled(app, "P") and enabled(app, "p")
        assert not enabled(app, "d") and not enabled(app, "D")
        await press(pilot, "d")
        assert source.get_job("dv-f1") is not None
        assert "remove needs ADMIN; you are OPERATOR" in notifications(app)
        await press(pilot, "r")
        assert source.get_job("dv-f1").summary.state == "waiting"


async def test_palette_pause_is_refused_for_a_manager(make_app):
    source = sample_source(MANAGER)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.operator.toggle_pause("webhooks")
        await settle(pilot)
        assert "webhooks" not in source.paused
        assert "pause needs OPERATOR or ADMIN; you are MANAGER" in notifications(app)


class FlakySource:
    """Wraps a source; while `down`, every Redis call raises what redis-py (or the OS) raises in an outage."""

    def __init__(self, inner, error: Exception) -> None:
        self.inner = inner
        self.error = error
        self.down = False
        self.identity = inner.identity
        self.can = inner.can  # the permission table: no Redis involved

    def __getattr__(self, name: str):
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            if self.down:
                raise self.error
            return attribute(*args, **kwargs)

        return call


OUTAGES = [
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused."),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    ConnectionResetError(104, "Connection reset by peer"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=lambda error: type(error).__name__)
async def test_outage_shows_the_banner_keeps_running_and_recovers(make_app, error):
    flaky = FlakySource(sample_source(), error)
    app = make_app(flaky)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        banner = app.screen.query_one(ConnectionBanner)
        assert not banner.display
        flaky.down = True
        app.tick()
        await settle(pilot)
        assert banner.display
        assert "Redis unreachable — retrying…" in str(banner.render())
        assert type(error).__name__ in str(banner.render())
        assert "Redis down" in str(app.screen.query_one(ConsoleHeader).render())

        await press(pilot, "enter")  # screens still open; their loads fail quietly behind the banner
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one(ConnectionBanner).display
        await press(pilot, "p")
        assert any(message.startswith("Not done, Redis is unreachable") for message in notifications(app))

        flaky.down = False
        app.tick()
        await settle(pilot)
        assert not app.screen.query_one(ConnectionBanner).display
        assert [job.id for job in app.screen.query_one(JobTable).jobs] == ["dv-w2", "dv-w1", "dv-w0"]
        await press(pilot, "escape")
        assert isinstance(app.screen, OverviewScreen)
        assert not app.screen.query_one(ConnectionBanner).display
        assert "Redis ok" in str(app.screen.query_one(ConsoleHeader).render())


async def test_outage_before_the_first_load_leaves_a_usable_overview(make_app):
    flaky = FlakySource(sample_source(), OUTAGES[0])
    flaky.down = True
    app = make_app(flaky)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one(ConnectionBanner).display
        assert "Loading queues" in str(app.screen.query_one(".overview-empty", Static).render())
        flaky.down = False
        app.tick()
        await settle(pilot)
        assert len(app.screen.query(".queue-panel")) == 4
