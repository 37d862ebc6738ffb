"""Default job options from the environment (WellFlow's BULLMQ_DEFAULT_JOB_OPTIONS_*): global, per queue,
and what an explicit option or a bad variable does."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from wellqueue_tui.jobs import EnqueueError, prepare_message
from wellqueue_tui.jobs.kind import all_kinds
from wellqueue_tui.settings import Settings, SettingsError, get_settings, load_settings

KINDS = all_kinds()
BROKER = SimpleNamespace(kinds=KINDS)  # prepare_message only looks the kind up
EMAIL = {"type": "reminder", "recipients": ["ops@example.com"], "subject": "Check tanks"}
HOOK = {"url": "https://hooks.example.com/x", "event": "well.validated", "data": {}}
VARIABLES = (
    "WELLQUEUE_DEFAULT_JOB_DELAY",
    "WELLQUEUE_DEFAULT_JOB_ATTEMPTS",
    "WELLQUEUE_DEFAULT_JOB_BACKOFF_TYPE",
    "WELLQUEUE_DEFAULT_JOB_BACKOFF_DELAY",
    "WELLQUEUE_QUEUE_OPTIONS",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean slate for the job-default variables; the process-wide settings are re-read around the test."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def options_of(queue: str, payload: dict, **options) -> tuple[dict, int | None]:
    message, delay = prepare_message(BROKER, queue, payload, **options)
    return message.options, delay


def test_unset_every_queue_keeps_its_own_defaults(env) -> None:
    email, delay = options_of("email-notifications", EMAIL)
    assert email["wq_attempts"] == 5 and email["wq_backoff"] == {"type": "exponential", "delay": 2000}
    assert delay is None
    hook, _ = options_of("webhooks", HOOK)
    assert hook["wq_attempts"] == KINDS["webhooks"].max_attempts


def test_global_defaults_apply_to_every_queue(env) -> None:
    env.setenv("WELLQUEUE_DEFAULT_JOB_DELAY", "1500")
    env.setenv("WELLQUEUE_DEFAULT_JOB_ATTEMPTS", "4")
    env.setenv("WELLQUEUE_DEFAULT_JOB_BACKOFF_TYPE", "fixed")
    env.setenv("WELLQUEUE_DEFAULT_JOB_BACKOFF_DELAY", "750")
    for queue, payload in (("email-notifications", EMAIL), ("webhooks", HOOK)):
        options, delay = options_of(queue, payload)
        assert options["wq_attempts"] == 4 and options["wq_backoff"] == {"type": "fixed", "delay": 750}
        assert delay == 1500


def test_a_queue_entry_overrides_the_global_defaults(env) -> None:
    env.setenv("WELLQUEUE_DEFAULT_JOB_ATTEMPTS", "3")
    env.setenv("WELLQUEUE_DEFAULT_JOB_BACKOFF_DELAY", "2000")
    env.setenv("WELLQUEUE_QUEUE_OPTIONS", '{"webhooks": {"attempts": 5, "backoff": {"type": "fixed"}}}')
    hook, _ = options_of("webhooks", HOOK)
    assert hook["wq_attempts"] == 5 and hook["wq_backoff"] == {"type": "fixed", "delay": 2000}
    email, _ = options_of("email-notifications", EMAIL)
    assert email["wq_attempts"] == 3 and email["wq_backoff"] == {"type": "exponential", "delay": 2000}


def test_a_queue_backoff_may_be_a_plain_delay() -> None:
    settings = Settings(queue_options={"webhooks": {"backoff": 9000}}, default_job_backoff_type="fixed")
    defaults = settings.job_defaults("webhooks", attempts=3, backoff_ms=2000)
    assert defaults.backoff == {"type": "fixed", "delay": 9000}


def test_explicit_options_win_over_every_default(env) -> None:
    env.setenv("WELLQUEUE_DEFAULT_JOB_DELAY", "1500")
    env.setenv("WELLQUEUE_QUEUE_OPTIONS", '{"webhooks": {"attempts": 5}}')
    options, delay = options_of("webhooks", HOOK, attempts=1, backoff={"type": "exponential", "delay": 10}, delay_ms=0)
    assert options["wq_attempts"] == 1 and options["wq_backoff"] == {"type": "exponential", "delay": 10}
    assert delay is None


def test_an_unknown_queue_in_the_queue_options_is_named(env) -> None:
    env.setenv("WELLQUEUE_QUEUE_OPTIONS", '{"webhook": {"attempts": 5}}')
    with pytest.raises(EnqueueError, match=r"WELLQUEUE_QUEUE_OPTIONS names unknown queue.*'webhook'"):
        options_of("webhooks", HOOK)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "WELLQUEUE_DEFAULT_JOB_ATTEMPTS",
            "0",
            "WELLQUEUE_DEFAULT_JOB_ATTEMPTS: Input should be greater than or equal to 1",
        ),
        ("WELLQUEUE_DEFAULT_JOB_ATTEMPTS", "three", "WELLQUEUE_DEFAULT_JOB_ATTEMPTS: Input should be a valid integer"),
        (
            "WELLQUEUE_DEFAULT_JOB_DELAY",
            "-1",
            "WELLQUEUE_DEFAULT_JOB_DELAY: Input should be greater than or equal to 0",
        ),
        (
            "WELLQUEUE_DEFAULT_JOB_BACKOFF_TYPE",
            "linear",
            "WELLQUEUE_DEFAULT_JOB_BACKOFF_TYPE: Input should be 'fixed' or 'exponential'",
        ),
        (
            "WELLQUEUE_DEFAULT_JOB_BACKOFF_DELAY",
            "soon",
            "WELLQUEUE_DEFAULT_JOB_BACKOFF_DELAY: Input should be a valid integer",
        ),
        (
            "WELLQUEUE_QUEUE_OPTIONS",
            '{"webhooks": {"attemps": 5}}',
            "WELLQUEUE_QUEUE_OPTIONS (webhooks.attemps): Extra inputs",
        ),
        (
            "WELLQUEUE_QUEUE_OPTIONS",
            '{"webhooks": {"backoff": {"type": "linear"}}}',
            "WELLQUEUE_QUEUE_OPTIONS (webhooks.backoff",
        ),
        ("WELLQUEUE_QUEUE_OPTIONS", "attempts=5", "WELLQUEUE_QUEUE_OPTIONS is not valid JSON"),
    ],
)
def test_bad_variables_are_named(env, name: str, value: str, message: str) -> None:
    env.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert message in str(caught.value)


def test_defaults_built_once_per_kind_are_never_shared_between_jobs(env) -> None:
    """The cached default options are copied per job: one job's tenant or changed option never reaches the next."""
    first, _ = options_of("email-notifications", {**EMAIL, "organizationId": "acme"})
    assert first["wq_org"] == "acme"
    first["wq_keep"][0] = 1
    first["wq_backoff"]["delay"] = 1
    second, _ = options_of("email-notifications", EMAIL)
    assert "wq_org" not in second
    assert second["wq_keep"][0] != 1 and second["wq_backoff"]["delay"] == 2000
    env.setenv("WELLQUEUE_DEFAULT_JOB_ATTEMPTS", "4")
    get_settings.cache_clear()  # new settings: the defaults are built again
    third, _ = options_of("email-notifications", EMAIL)
    assert third["wq_attempts"] == 4
