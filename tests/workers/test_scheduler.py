"""The cron scheduler: fires, DST dedupe, catch-up, reloads, lease loss, and two schedulers on one Redis."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
import redis

from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers.leader import LeaderLease
from wellqueue_tui.workers.scheduler import MISFIRE_GRACE_S, CronScheduler, resume_point
from wellqueue_tui.workers.schedules import (
    Schedule,
    ScheduleNotFound,
    ScheduleStore,
    default_schedules,
    fire_job_id,
    next_fire_times,
)

UTC = UTC
TTL_MS = 1500


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def every_second(name: str = "tick", **fields) -> Schedule:
    return Schedule.build(
        name=name,
        cron="* * * * *",
        second="*",
        timezone="UTC",
        queue="webhooks",
        payload={"at": "{{fire_time}}"},
        **fields,
    )


class IdempotentEnqueue:
    """Stands in for `jobs.enqueue`: a second call with the same job_id returns it and creates nothing."""

    def __init__(self, client: redis.Redis, tag: str = "", calls: list | None = None) -> None:
        self.client, self.tag = client, tag
        self.calls: list[tuple[str, str, dict]] = [] if calls is None else calls

    def __call__(self, queue: str, payload: dict, *, job_id: str) -> str:
        self.calls.append((self.tag, job_id, payload))
        if self.client.set(f"test:job:{job_id}", queue, nx=True):
            self.client.rpush("test:created", job_id)
        return job_id

    def created(self) -> list[str]:
        return [raw.decode() for raw in self.client.lrange("test:created", 0, -1)]


#: How long a condition may take on a busy machine; a wait returns as soon as it holds.
PATIENCE_S = 30.0


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


def settings(**overrides) -> Settings:
    return Settings(timezone="America/Chicago", **overrides)


@pytest.fixture
def schedulers() -> Iterator[Callable[..., CronScheduler]]:
    made: list[CronScheduler] = []

    def make(client: redis.Redis, enqueue, **options) -> CronScheduler:
        options.setdefault("settings", settings())
        options.setdefault("lease", LeaderLease(client, KEYS.leader, ttl_ms=TTL_MS))
        options.setdefault("store", ScheduleStore(client, KEYS))
        scheduler = CronScheduler(client, enqueue, **options)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.stop(release=False)


@pytest.fixture
def fake() -> fakeredis.FakeRedis:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    client.set(KEYS.schedules_installed, "tests")  # keep the default schedules out of the fire counts
    return client


# --- resume point after a leader change -----------------------------------------------------------------


def test_resume_point_without_history_is_the_next_fire() -> None:
    trigger = every_second().model_copy(update={"second": "0"}).trigger()  # every minute
    assert resume_point(trigger, None, utc(2026, 6, 1, 12, 0, 30)) == utc(2026, 6, 1, 12, 1)


def test_resume_point_catches_up_a_fire_missed_inside_the_grace() -> None:
    trigger = Schedule.build(name="m", cron="* * * * *", timezone="UTC", queue="webhooks").trigger()
    now = utc(2026, 6, 1, 12, 0, 30)
    assert resume_point(trigger, utc(2026, 6, 1, 11, 58), now) == utc(2026, 6, 1, 11, 59)


def test_resume_point_looks_back_no_further_than_the_grace() -> None:
    trigger = Schedule.build(name="m", cron="* * * * *", timezone="UTC", queue="webhooks").trigger()
    now = utc(2026, 6, 1, 12, 0, 30)
    resumed = resume_point(trigger, utc(2026, 5, 30, 0, 0), now)
    assert now - timedelta(seconds=MISFIRE_GRACE_S) < resumed <= now


def test_resume_point_across_the_spring_forward_change() -> None:
    # APScheduler 3.11's CronTrigger would answer 2024-03-12 here (upstream #529/#606).
    trigger = Schedule.build(name="m", cron="0 0 * * *", timezone="America/Chicago", queue="webhooks").trigger()
    last_fire = utc(2024, 3, 10, 6, 0)  # 00:00 CST, the day clocks spring forward at 02:00
    assert resume_point(trigger, last_fire, utc(2024, 3, 10, 18, 0)) == utc(2024, 3, 11, 5, 0)  # 00:00 CDT
    # A leader taking over just after that midnight still owes it (inside the misfire grace) ...
    assert resume_point(trigger, last_fire, utc(2024, 3, 11, 5, 2)) == utc(2024, 3, 11, 5, 0)
    # ... and a fire already recorded is not owed again.
    assert resume_point(trigger, utc(2024, 3, 11, 5, 0), utc(2024, 3, 11, 5, 2)) == utc(2024, 3, 12, 5, 0)


# --- fire, run_now ---------------------------------------------------------------------------------------


def test_fire_renders_the_payload_enqueues_with_the_fire_id_and_records_it(fake, schedulers) -> None:
    enqueue = IdempotentEnqueue(fake)
    scheduler = schedulers(fake, enqueue)
    nightly = Schedule.build(
        name="nightly",
        cron="0 2 * * *",
        timezone="America/Chicago",
        queue="data-validation",
        payload={"validationType": "daily_sweep", "date": "{{yesterday}}"},
    )
    at = utc(2026, 3, 8, 8, 0)  # 03:00 CDT on spring-forward day
    assert scheduler.fire(nightly, at) == "cron:nightly:2026-03-08T03:00"
    payload = {"validationType": "daily_sweep", "date": "2026-03-07"}
    assert enqueue.calls == [("", "cron:nightly:2026-03-08T03:00", payload)]
    state = scheduler.store.state("nightly")
    assert (state.last_fire_utc, state.last_job_id, state.last_error) == (at, "cron:nightly:2026-03-08T03:00", None)


def test_fall_back_double_fire_enqueues_once(fake, schedulers) -> None:
    enqueue = IdempotentEnqueue(fake)
    scheduler = schedulers(fake, enqueue)
    nightly = Schedule.build(name="nightly", cron="30 1 * * *", timezone="America/Chicago", queue="webhooks")
    first, second = next_fire_times(nightly, datetime(2026, 10, 31, 12, tzinfo=nightly.zone), 2)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    scheduler.fire(nightly, first)
    scheduler.fire(nightly, second)
    assert enqueue.created() == ["cron:nightly:2026-11-01T01:30"]


def test_a_failed_enqueue_is_recorded_not_raised(fake, schedulers) -> None:
    def refuse(queue: str, payload: dict, *, job_id: str) -> str:
        raise ValueError("queue 'webhooks' is gone")

    scheduler = schedulers(fake, refuse)
    assert scheduler.fire(every_second(), utc(2026, 6, 1, 12, 0, 1)) is None
    state = scheduler.store.state("tick")
    assert state.last_error == "ValueError: queue 'webhooks' is gone"
    assert state.last_job_id == "cron:tick:2026-06-01T12:00:01"


def test_run_now_uses_a_manual_id_even_for_a_paused_schedule(fake, schedulers) -> None:
    enqueue = IdempotentEnqueue(fake)
    scheduler = schedulers(fake, enqueue, clock=lambda: utc(2026, 6, 1, 12, 0, 0, 123000))
    scheduler.store.add(every_second(enabled=False))
    assert scheduler.run_now("tick") == "manual:tick:1780315200123"
    assert enqueue.calls == [("", "manual:tick:1780315200123", {"at": "2026-06-01T12:00:00+00:00"})]
    assert scheduler.store.state("tick").last_job_id == "manual:tick:1780315200123"
    with pytest.raises(ScheduleNotFound):
        scheduler.run_now("ghost")


# --- the running loop (fakeredis) ------------------------------------------------------------------------


def test_leader_catches_up_one_missed_fire_after_an_outage(fake, schedulers) -> None:
    sched = Schedule.build(name="five", cron="* * * * *", second="*/5", timezone="UTC", queue="webhooks")
    now = datetime.now(UTC)
    upcoming = next_fire_times(sched, now)[0]
    if (upcoming - now).total_seconds() < 1.5:  # keep the next regular fire out of the observation window
        time.sleep((upcoming - now).total_seconds() + 0.05)
        now = datetime.now(UTC)
    latest_missed = next_fire_times(sched, now)[0] - timedelta(seconds=5)
    enqueue = IdempotentEnqueue(fake)
    scheduler = schedulers(fake, enqueue)
    scheduler.store.add(sched)
    # The previous leader's last fire was three occurrences ago; the two after it were missed.
    scheduler.store.record_fire("five", latest_missed - timedelta(seconds=10), "cron:five:old")
    scheduler.start()
    wait_for(lambda: enqueue.calls, PATIENCE_S)
    time.sleep(0.3)
    assert [job_id for _, job_id, _ in enqueue.calls] == [fire_job_id(sched, latest_missed)]


def test_losing_the_lease_stops_firing_at_once(fake, schedulers) -> None:
    enqueue = IdempotentEnqueue(fake)
    scheduler = schedulers(fake, enqueue)
    scheduler.store.add(every_second())
    scheduler.start()
    wait_for(lambda: len(enqueue.calls) >= 1, PATIENCE_S)
    fake.set(KEYS.leader, "other-host:1:abc", px=10_000)
    wait_for(lambda: not scheduler.is_running_schedules, scheduler.lease.renew_interval_ms / 1000 + 0.3)
    fired = len(enqueue.calls)
    time.sleep(1.5)
    assert len(enqueue.calls) == fired


def test_a_change_notice_reloads_schedules_without_waiting_for_the_poll(fake, schedulers) -> None:
    enqueue = IdempotentEnqueue(fake)
    scheduler = schedulers(fake, enqueue, poll_interval_s=60.0)
    scheduler.start()
    wait_for(lambda: scheduler.is_running_schedules, PATIENCE_S)
    scheduler.store.add(every_second())
    wait_for(lambda: enqueue.calls, PATIENCE_S)
    scheduler.store.set_enabled("tick", False)
    time.sleep(0.6)
    fired = len(enqueue.calls)
    time.sleep(1.2)
    assert len(enqueue.calls) == fired


def test_only_the_leader_runs_the_leader_tick(fake, schedulers) -> None:
    ticks = {"leader": 0, "follower": 0}

    def counter(who: str) -> Callable[[], None]:
        def tick() -> None:
            ticks[who] += 1

        return tick

    fast = settings(reaper_interval_s=0.2)
    leader = schedulers(fake, IdempotentEnqueue(fake), settings=fast, on_leader_tick=counter("leader"))
    leader.start()
    wait_for(lambda: leader.is_running_schedules, PATIENCE_S)
    follower = schedulers(fake, IdempotentEnqueue(fake), settings=fast, on_leader_tick=counter("follower"))
    follower.start()
    time.sleep(1.1)
    assert ticks["leader"] >= 4 and ticks["follower"] == 0
    assert leader.leader_holder() == follower.leader_holder() == leader.lease.token


def test_upcoming_lists_next_and_last_runs(fake, schedulers) -> None:
    scheduler = schedulers(fake, IdempotentEnqueue(fake), clock=lambda: utc(2026, 3, 7, 18, 0))
    for default in default_schedules():
        scheduler.store.add(default)
    rows = {row.name: row for row in scheduler.upcoming()}
    assert rows["production-data-validation"].next_run_utc == utc(2026, 3, 8, 8, 0)
    assert rows["production-data-validation"].next_run.strftime("%H:%M %Z") == "03:00 CDT"
    assert rows["compliance-report"].next_run_utc == utc(2026, 3, 8, 11, 0)


# --- two schedulers on one real Redis --------------------------------------------------------------------


@pytest.fixture
def real_clients(redis_client: redis.Redis, redis_url: str) -> Iterator[Callable[[], redis.Redis]]:
    clients: list[redis.Redis] = []

    def make() -> redis.Redis:
        client = redis.Redis.from_url(redis_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_two_schedulers_fire_each_occurrence_exactly_once(redis_client, real_clients, schedulers) -> None:
    redis_client.set(KEYS.schedules_installed, "tests")
    calls: list = []
    first_client, second_client = real_clients(), real_clients()
    first = schedulers(first_client, IdempotentEnqueue(first_client, "first", calls))
    second = schedulers(second_client, IdempotentEnqueue(second_client, "second", calls))
    first.store.add(every_second())
    first.start()
    second.start()
    time.sleep(3.3)
    for scheduler in sorted((first, second), key=lambda s: s.is_running_schedules):  # the follower first
        scheduler.stop()

    ids = [job_id for _, job_id, _ in calls]
    assert len(ids) >= 2
    assert len(set(ids)) == len(ids)  # nobody even tried an occurrence twice
    assert sorted(IdempotentEnqueue(redis_client).created()) == sorted(
        ids
    )  # each fire created once (threads interleave)
    assert len({tag for tag, _, _ in calls}) == 1  # only the leader fired
    fire_times = [datetime.fromisoformat(payload["at"]) for _, _, payload in calls]
    assert all(later - earlier == timedelta(seconds=1) for earlier, later in itertools.pairwise(fire_times))


def test_failover_to_the_other_scheduler_fires_each_occurrence_once(redis_client, real_clients, schedulers) -> None:
    redis_client.set(KEYS.schedules_installed, "tests")
    calls: list = []
    first_client, second_client = real_clients(), real_clients()
    first = schedulers(first_client, IdempotentEnqueue(first_client, "first", calls))
    first.store.add(every_second())
    first.start()
    wait_for(lambda: first.is_running_schedules, PATIENCE_S)
    second = schedulers(second_client, IdempotentEnqueue(second_client, "second", calls))
    second.start()
    wait_for(lambda: len(calls) >= 1, PATIENCE_S)

    first.stop(release=False)  # the leader dies without releasing its lease
    took = wait_for(lambda: second.is_running_schedules, PATIENCE_S)
    lease = second.lease
    print(
        f"scheduler takeover after {took:.2f} s (lease ttl {lease.ttl_ms} ms, renew every {lease.renew_interval_ms} ms)"
    )
    wait_for(lambda: sum(tag == "second" for tag, _, _ in calls) >= 2, PATIENCE_S)
    second.stop(release=False)  # no more fires; one already called may still be writing its job
    wait_for(
        lambda: len(IdempotentEnqueue(redis_client).created()) >= len({job_id for _, job_id, _ in calls}), PATIENCE_S
    )
    ids = [job_id for _, job_id, _ in calls]

    assert len(set(ids)) == len(ids)
    assert sorted(IdempotentEnqueue(redis_client).created()) == sorted(
        ids
    )  # each fire created once (threads interleave)
    tags = [tag for tag, _, _ in calls]
    handed_over_at = tags.index("second")
    assert handed_over_at >= 1 and set(tags[:handed_over_at]) == {"first"} and set(tags[handed_over_at:]) == {"second"}
