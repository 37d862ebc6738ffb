"""The console over the real operator session on a private redis-server: what it shows is what the
registry holds, and its keys change Redis. Demo jobs are enqueued with no worker running."""

from __future__ import annotations

import random
import socket
from datetime import date

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from textual.widgets import Static

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.identity import LOCAL_DEV
from wellqueue_tui.console_data import ConsoleSource
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.screens.confirm import ConfirmScreen
from wellqueue_tui.screens.job import JobScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings
from wellqueue_tui.wellflow.demo import demo_jobs
from wellqueue_tui.widgets.job_table import JobTable
from wellqueue_tui.widgets.queue_panel import QueuePanel
from wellqueue_tui.widgets.status_bars import ConnectionBanner

from .conftest import SIZE, press, settle


@pytest.fixture
def session(redis_client, redis_url, tmp_path) -> OperatorSession:
    """Thirty demo jobs (waiting, prioritized, delayed) in the four real queues, and an admin session."""
    broker = build_broker(redis_url, settings=Settings(data_dir=tmp_path))
    for job in demo_jobs(random.Random(7), count=30, today=date(2025, 6, 15)):
        enqueue(job.queue, job.payload, broker=broker, **job.options)
    yield OperatorSession(Registry(broker.client, broker.keys), LOCAL_DEV)
    broker.client.close()


async def test_the_session_satisfies_the_console_protocol_and_the_overview_matches_redis(session):
    assert isinstance(session, ConsoleSource)
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panels = {panel.queue: panel for panel in app.screen.query(QueuePanel)}
        assert set(panels) == {"data-validation", "report-generation", "email-notifications", "webhooks"}
        for counts in session.all_counts():
            shown = str(panels[counts.queue].query_one(".panel-counts", Static).render())
            assert f"waiting{counts.waiting:>9}" in shown.replace("\n", " ")
            assert app.counts[counts.queue] == counts


async def test_queue_page_and_job_detail_come_from_the_registry(session):
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_queue("data-validation")
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        expected = session.list_jobs("data-validation", "waiting", 0, 20)
        assert [job.id for job in table.jobs] == [job.id for job in expected.jobs]
        assert expected.jobs, "the demo enqueues validation jobs"
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen)
        assert app.screen.detail == session.get_job(expected.jobs[0].id)
        payload = str(app.screen.query_one("#section-payload", Static).render())
        assert expected.jobs[0].data["validationType"] in payload


async def test_keys_change_redis_pause_promote_remove_drain(session):
    registry = session.registry
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "p")
        assert "data-validation" in registry.paused_queues()
        await press(pilot, "p")
        assert "data-validation" not in registry.paused_queues()

        delayed = session.list_jobs("data-validation", "delayed", 0, 5).jobs
        assert delayed, "the demo delays a validation job"
        app.push_screen(QueueScreen("data-validation", "delayed"))
        await settle(pilot)
        await press(pilot, "P")
        assert session.get_job(delayed[0].id).summary.state in ("waiting", "prioritized")

        app.pop_screen()
        app.push_screen(QueueScreen("report-generation", "waiting"))
        await settle(pilot)
        doomed = app.screen.query_one(JobTable).highlighted_id
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        assert session.get_job(doomed) is None

        before = session.queue_counts("email-notifications")
        assert before.waiting + before.prioritized > 0
        app.pop_screen()
        app.open_queue("email-notifications")
        await settle(pilot)
        await press(pilot, "D", "y")
        after = session.queue_counts("email-notifications")
        assert (after.waiting, after.prioritized) == (0, 0)
        assert after.delayed == before.delayed


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_unreachable_redis_shows_the_banner_without_crashing():
    client = redis.Redis(
        port=closed_port(), socket_connect_timeout=0.2, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    session = OperatorSession(Registry(client), LOCAL_DEV)
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        banner = app.screen.query_one(ConnectionBanner)
        assert banner.display
        assert "ConnectionError" in str(banner.render())
        app.tick()
        await settle(pilot)
        assert app.is_running
