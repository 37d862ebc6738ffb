"""Cancelling a running job from its detail: `x` asks, `y` sends the request through the source (the worker
then stops the job); a job that is not running, or an operator who may not, gets a clear refusal."""

from __future__ import annotations

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.identity import Identity, Role

from .conftest import SIZE, notifications, press, settle
from .sample_data import NOW, sample_source


def app(source, identity: Identity | None = None) -> WellQueueApp:
    if identity is not None:
        source.identity = identity
    return WellQueueApp(source, refresh_interval=3600, clock=lambda: NOW)


async def test_x_then_y_cancels_the_running_job():
    source = sample_source()
    console = app(source)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        console.open_job("dv-a1")
        await settle(pilot)
        await press(pilot, "x", "y")
        await settle(pilot)
        assert source.cancel_requests == {"dv-a1": source.identity.sub}
        assert any("cancelled" in text for text in notifications(console))


async def test_a_job_that_is_not_running_is_not_offered_for_cancelling():
    source = sample_source()
    console = app(source)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        console.open_job("dv-f1")
        await settle(pilot)
        await press(pilot, "x")
        assert source.cancel_requests == {}
        assert any("Only a running job can be cancelled" in text for text in notifications(console))


async def test_a_manager_is_refused():
    source = sample_source()
    console = app(source, Identity("mia", Role.MANAGER))
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        console.open_job("dv-a1")
        await settle(pilot)
        await press(pilot, "x", "y")
        await settle(pilot)
        assert source.cancel_requests == {}
        assert any("cancel needs" in text for text in notifications(console))
