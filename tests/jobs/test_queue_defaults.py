"""Per-queue defaults in WELLQUEUE_QUEUE_OPTIONS beyond attempts and backoff — timeout, retention, threads per
worker process — as the SaaS document configures its queues; an explicit option still wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wellqueue_tui.jobs.models import QueueLimits
from wellqueue_tui.jobs.options import Retention
from wellqueue_tui.jobs.queue_config import queue_config
from wellqueue_tui.settings import get_settings
from wellqueue_tui.workers.supervisor import default_groups

from .test_job_defaults import EMAIL, HOOK, KINDS, env, options_of  # noqa: F401  (the clean-slate fixture)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "wellflow"
#: The SaaS document's queue settings, written for WellFlow's own queues.
SAAS_LIKE = {
    "email-notifications": {"attempts": 5, "removeOnComplete": 10},
    "report-generation": {"timeout": 300_000, "removeOnFail": {"count": 20, "age": 86_400}},
    "webhooks": {"attempts": 5, "backoff": {"type": "exponential", "delay": 10_000}, "concurrency": 8},
}


@pytest.fixture
def saas_like(env):  # noqa: F811  (the fixture from test_job_defaults, asked for by name)
    env.setenv("WELLQUEUE_QUEUE_OPTIONS", json.dumps(SAAS_LIKE))
    return env


def test_timeout_and_retention_come_from_the_queue_options(saas_like) -> None:
    report = json.loads((FIXTURES / "report-generation.json").read_text())
    options, _ = options_of("report-generation", report)
    assert options["time_limit"] == 300_000
    assert options["wq_keep"] == [100, 0, 20, 86_400_000]  # completed: the default 100; failed: 20, none over 1 day
    email, _ = options_of("email-notifications", EMAIL)
    assert email["wq_keep"][:2] == [10, 0] and email["wq_attempts"] == 5
    hook, _ = options_of("webhooks", HOOK)
    assert hook["wq_backoff"] == {"type": "exponential", "delay": 10_000}


def test_an_explicit_option_still_wins(saas_like) -> None:
    options, _ = options_of("email-notifications", EMAIL, timeout_ms=1000, remove_on_complete=False)
    assert options["time_limit"] == 1000 and options["wq_keep"][0] == -1


def test_concurrency_in_the_queue_options_sets_the_worker_threads(saas_like) -> None:
    groups = default_groups(get_settings())
    assert groups["webhooks"].threads == 8
    assert groups["data-validation"].threads == get_settings().concurrency["data-validation"]


def test_the_queue_info_resolves_the_same_defaults(saas_like) -> None:
    config = queue_config(get_settings(), KINDS["report-generation"], QueueLimits())
    assert config.timeout_ms == 300_000
    assert config.keep_failed == Retention(count=20, age=86_400)
    assert config.keep_completed == Retention(count=100)
    webhooks = queue_config(get_settings(), KINDS["webhooks"], QueueLimits())
    assert (webhooks.attempts, webhooks.backoff_delay_ms, webhooks.threads) == (5, 10_000, 8)


def test_a_bad_retention_names_the_queue_and_field(env) -> None:  # noqa: F811
    from wellqueue_tui.settings import SettingsError, load_settings

    env.setenv("WELLQUEUE_QUEUE_OPTIONS", json.dumps({"webhooks": {"removeOnFail": -3}}))
    with pytest.raises(SettingsError, match=r"WELLQUEUE_QUEUE_OPTIONS \(webhooks\.removeOnFail"):
        load_settings()
