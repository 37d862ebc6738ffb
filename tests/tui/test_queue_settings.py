"""The queue screen's settings keys: `L` sets the rate limit and cluster cap live (asks in a dialog, checks
the form before sending), `i` shows the queue's defaults and limits; the overview's panel shows the limits."""

from __future__ import annotations

from textual.widgets import Input, Static

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.jobs.models import RateLimit
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.screens.queue_settings import LimitScreen, QueueInfoScreen

from .conftest import SIZE, notifications, press, settle, type_text
from .sample_data import sample_source


async def open_queue(app, pilot, queue: str) -> None:
    app.push_screen(QueueScreen(queue))
    await settle(pilot)


def title(app) -> str:
    return str(app.screen.query_one(".queue-title", Static).render())


async def test_limit_a_queue_from_its_screen(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "webhooks")
        await press(pilot, "L")
        assert isinstance(app.screen, LimitScreen)
        rate = app.screen.query_one("#limit-rate", Input)
        assert rate.value == "off"
        await press(pilot, "ctrl+u")
        await type_text(pilot, "lots")
        await press(pilot, "enter")  # not MAX/DURATION: the dialog says so and stays
        assert isinstance(app.screen, LimitScreen)
        assert "MAX/DURATION" in str(app.screen.query_one("#limit-error", Static).render())
        rate.value = "10/s"
        app.screen.query_one("#limit-concurrency", Input).value = "4"
        await press(pilot, "enter")
        assert isinstance(app.screen, QueueScreen)
        limits = source.queue_counts("webhooks").limits
        assert (limits.rate, limits.concurrency) == (RateLimit(10, 1000), 4)
        assert "webhooks limits: 10/s · max 4 in flight (rate 10/s, concurrency 4)" in notifications(app)
        assert "10/s · max 4 in flight" in title(app)

        await press(pilot, "L")  # prefilled with what is in force; only what changed is sent
        assert app.screen.query_one("#limit-rate", Input).value == "10/s"
        app.screen.query_one("#limit-rate", Input).value = "off"
        await press(pilot, "enter")
        assert "webhooks limits: max 4 in flight (rate off)" in notifications(app)


async def test_escape_leaves_the_limits_alone(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "webhooks")
        await press(pilot, "L")
        app.screen.query_one("#limit-rate", Input).value = "1/s"
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        assert not source.queue_counts("webhooks").limits.any


async def test_a_manager_is_told_which_role_may_limit(make_app):
    source = sample_source(Identity(sub="maria", role=Role.MANAGER, org=None))
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "webhooks")
        await press(pilot, "L")
        assert isinstance(app.screen, QueueScreen)
        assert "limit needs OPERATOR or ADMIN; you are MANAGER" in notifications(app)


async def test_the_info_panel_shows_defaults_and_limits(source, make_app):
    source.set_queue_limit("webhooks", "600/min")
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_queue(app, pilot, "webhooks")
        await press(pilot, "i")
        assert isinstance(app.screen, QueueInfoScreen)
        text = str(app.screen.query_one(".queue-info", Static).render())
        assert "attempts" in text and "600/min (set live)" in text
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)


async def test_the_overview_panel_shows_the_limits(source, make_app):
    source.set_queue_limit("webhooks", "10/s", "2")
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        [panel] = [p for p in app.screen.query(".queue-panel") if getattr(p, "queue", None) == "webhooks"]
        assert panel.border_subtitle == "10/s · max 2 in flight"
