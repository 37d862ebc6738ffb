"""Job options under random values: valid ones reach the message options exactly, invalid ones are refused
naming the option, and the retry backoff never shrinks or exceeds its cap."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from wellqueue_tui.jobs import EnqueueError, enqueue
from wellqueue_tui.jobs.options import (
    DEFAULT_KEEP_COMPLETED,
    DEFAULT_KEEP_FAILED,
    JOB_ID_PATTERN,
    MAX_DELAY_MS,
    MAX_PRIORITY,
    Backoff,
    JobOptions,
)
from wellqueue_tui.wellflow.kinds.webhooks import KIND as WEBHOOKS

from .conftest import fuzz_settings, ran

pytestmark = pytest.mark.security

PAYLOAD = {"url": "https://hooks.example.com/x", "event": "well.validated", "data": {}}
OPTION_NAMES = (
    "job_id",
    "priority",
    "delay_ms",
    "attempts",
    "backoff",
    "timeout_ms",
    "remove_on_complete",
    "remove_on_fail",
)
RETENTION_OPTIONS = ("remove_on_complete", "remove_on_fail")
INVALID = object()  # what the reference model says about a value the product must refuse

# --- the reference model: what each option value should mean --------------------------------------------


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def expect_job_id(value: Any) -> Any:
    if value is None or (isinstance(value, str) and JOB_ID_PATTERN.fullmatch(value)):
        return value
    return INVALID


def expect_bounded(low: int, high: int):
    def expect(value: Any) -> Any:
        if value is None:
            return None
        return value if is_int(value) and low <= value <= high else INVALID

    return expect


def expect_delay(value: Any) -> Any:
    if value is None or (value == 0 and is_int(value)):
        return None  # no delay
    return value if is_int(value) and 0 < value <= MAX_DELAY_MS else INVALID


def expect_backoff(value: Any) -> Any:
    if value is None:
        return {"type": "exponential", "delay": WEBHOOKS.backoff_ms}
    if is_int(value):
        return {"type": "exponential", "delay": value} if 0 <= value <= MAX_DELAY_MS else INVALID
    if isinstance(value, dict):
        if set(value) - {"type", "delay"}:
            return INVALID
        kind, delay = value.get("type", "exponential"), value.get("delay", 2000)
        if kind not in ("exponential", "fixed") or not is_int(delay) or not 0 <= delay <= MAX_DELAY_MS:
            return INVALID
        return {"type": kind, "delay": delay}
    return INVALID


def expect_retention(default: int):
    def expect(value: Any) -> Any:
        if value is None:
            return (default, 0)
        if isinstance(value, bool):
            return (0, 0) if value else (-1, 0)
        if is_int(value):
            return (value, 0) if value >= 0 else INVALID
        if isinstance(value, dict):
            if set(value) - {"count", "age"}:
                return INVALID
            count, age = value.get("count", -1), value.get("age", 0)
            if not (is_int(count) and count >= -1 and is_int(age) and age >= 0):
                return INVALID
            return (count, age * 1000)
        return INVALID

    return expect


EXPECT = {
    "job_id": expect_job_id,
    "priority": expect_bounded(1, MAX_PRIORITY),
    "delay_ms": expect_delay,
    "attempts": expect_bounded(1, 100),
    "backoff": expect_backoff,
    "timeout_ms": expect_bounded(1, 24 * 3600 * 1000),
    "remove_on_complete": expect_retention(DEFAULT_KEEP_COMPLETED),
    "remove_on_fail": expect_retention(DEFAULT_KEEP_FAILED),
}

# --- strategies -----------------------------------------------------------------------------------------

near = lambda *edges: st.sampled_from([e + d for e in edges for d in (-1, 0, 1)])  # noqa: E731
numbers = st.integers(-(10**12), 10**12) | near(0, 1, 100, MAX_PRIORITY, MAX_DELAY_MS, 24 * 3600 * 1000)
job_ids = st.from_regex(JOB_ID_PATTERN, fullmatch=True) | st.text(max_size=140)
backoff_dicts = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["exponential", "fixed", "linear", ""]),
        "delay": numbers | st.none(),
        "jitter": st.integers(0, 10),
    },
)
retention_dicts = st.fixed_dictionaries(
    {},
    optional={
        "count": numbers | st.none(),
        "age": numbers,
        "age_s": st.integers(0, 10),
    },
)
# Bools and empty containers for the numeric options are a finding of their own (see the test below).
plain = st.none() | numbers
VALUES: dict[str, st.SearchStrategy] = {
    "job_id": st.none() | job_ids | numbers,
    "priority": plain | st.dictionaries(st.text(max_size=3), numbers, min_size=1, max_size=2),
    "delay_ms": plain | st.dictionaries(st.text(max_size=3), numbers, min_size=1, max_size=2),
    "attempts": plain | st.dictionaries(st.text(max_size=3), numbers, min_size=1, max_size=2),
    "backoff": plain | st.booleans() | backoff_dicts,
    "timeout_ms": plain | st.dictionaries(st.text(max_size=3), numbers, min_size=1, max_size=2),
    "remove_on_complete": plain | st.booleans() | retention_dicts,
    "remove_on_fail": plain | st.booleans() | retention_dicts,
}
option_sets = st.fixed_dictionaries({}, optional=VALUES)


class RecordingBroker:
    """Just enough broker for enqueue: the kinds it knows, and what was submitted."""

    def __init__(self) -> None:
        self.kinds = {WEBHOOKS.queue: WEBHOOKS}
        self.submitted: list[SimpleNamespace] = []

    def submit(self, message, *, delay=None, create_only: bool, owned: bool = False):
        self.submitted.append(SimpleNamespace(message=message, delay=delay, create_only=create_only))


@fuzz_settings()
@given(options=option_sets)
def test_options_are_carried_exactly_or_refused_naming_the_option(options: dict) -> None:
    ran("options build")
    expected = {name: EXPECT[name](options.get(name)) for name in OPTION_NAMES}
    invalid = [name for name, value in expected.items() if value is INVALID]
    broker = RecordingBroker()

    if invalid:
        with pytest.raises((ValidationError, ValueError)):
            JobOptions.build(**options)
        with pytest.raises(EnqueueError) as caught:
            enqueue("webhooks", PAYLOAD, broker=broker, **options)
        assert not broker.submitted
        if not set(invalid) & set(RETENTION_OPTIONS):  # see test_retention_errors_name_the_option
            assert any(name in str(caught.value) for name in invalid), f"{invalid} not named in: {caught.value}"
        return

    built = JobOptions.build(**options)
    assert JobOptions.model_validate(built.model_dump(by_alias=True)) == built
    job_id = enqueue("webhooks", PAYLOAD, broker=broker, **options)
    [submitted] = broker.submitted
    carried = submitted.message.options
    assert job_id == (expected["job_id"] or submitted.message.message_id)
    assert submitted.message.message_id == job_id
    assert submitted.delay == expected["delay_ms"]
    assert submitted.create_only is True
    assert carried["wq_attempts"] == (expected["attempts"] or WEBHOOKS.max_attempts)
    assert carried["wq_backoff"] == expected["backoff"]
    assert carried["wq_keep"] == [*expected["remove_on_complete"], *expected["remove_on_fail"]]
    assert carried.get("wq_priority") == expected["priority"]
    assert carried.get("time_limit") == expected["timeout_ms"]


def refusals(cases: list[tuple[str, Any]]) -> list[str]:
    """Each (option, value) that enqueue accepts, or refuses without naming the option."""
    problems = []
    for option, value in cases:
        try:
            enqueue("webhooks", PAYLOAD, broker=RecordingBroker(), **{option: value})
        except EnqueueError as exc:
            if option not in str(exc):
                problems.append(f"{option}={value!r}: refused as {str(exc)!r}")
        else:
            problems.append(f"{option}={value!r}: accepted")
    return problems


def test_retention_errors_name_the_option() -> None:
    """Retention values are checked on their own before JobOptions is built, so the error reads
    `retention count must be >= 0` or `: Input should be a valid dictionary` without saying which option."""
    values = [-5, "yes", 1.5, {"count": "x"}, {"age": -1}, {"keep": 3}]
    problems = refusals([(option, value) for option in RETENTION_OPTIONS for value in values])
    assert not problems, "\n".join(problems)


def test_numeric_options_refuse_bools_and_empty_containers() -> None:
    """`attempts=True` is a caller's bug, not one attempt; `delay_ms={}` is not "no delay"."""
    values = [True, False, {}, [], ""]
    problems = refusals(
        [(option, value) for option in ("priority", "delay_ms", "attempts", "timeout_ms") for value in values]
    )
    assert not problems, "\n".join(problems)


def test_job_id_with_a_trailing_newline_is_refused() -> None:
    """JOB_ID_PATTERN ends in `$`, which also matches before a final newline."""
    assert not refusals([("job_id", "job-1\n")])


# --- backoff ---------------------------------------------------------------------------------------------


@fuzz_settings()
@given(
    kind=st.sampled_from(["exponential", "fixed"]),
    delay=st.integers(0, MAX_DELAY_MS) | near(0, 1, 2000, MAX_DELAY_MS).filter(lambda d: 0 <= d <= MAX_DELAY_MS),
    attempts=st.lists(st.integers(1, 200), min_size=2, max_size=6),
)
def test_backoff_delay_is_monotone_and_capped(kind: str, delay: int, attempts: list[int]) -> None:
    ran("backoff delay")
    backoff = Backoff(type=kind, delay=delay)
    delays = [backoff.delay_ms(attempt) for attempt in sorted(attempts)]
    assert all(isinstance(d, int) for d in delays)
    assert delays == sorted(delays), "a later retry never waits less"
    assert all(0 <= d <= MAX_DELAY_MS for d in delays)
    assert backoff.delay_ms(1) == delay
    if kind == "fixed":
        assert set(delays) == {delay}
    else:
        assert all(d == min(delay * 2 ** (a - 1), MAX_DELAY_MS) for a, d in zip(sorted(attempts), delays))
