"""One contract, two back ends: the in-memory `StaticOperationsSource` the console tests use and the real
`OperatorSession` on the private redis-server get the same jobs, schedules and workers, then must answer and
act alike. A drift of the test double from the product fails here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import pytest

from wellqueue_tui.auth.identity import LOCAL_DEV, Identity, Role
from wellqueue_tui.auth.permissions import PermissionDenied
from wellqueue_tui.console_data import (
    ConsoleSource,
    FailureSource,
    HealthSource,
    OperationsSource,
    QueueSettingsSource,
    SearchSource,
)
from wellqueue_tui.health.alert_rules import AlertRuleError, AlertStore, default_rules
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import ActionError
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.kind import all_kinds
from wellqueue_tui.jobs.models import QueueLimits, RateLimit
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.jobs.search_query import parse_query
from wellqueue_tui.jobs.signature import group_id, signature
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers.schedules import ScheduleStore, default_schedules
from wellqueue_tui.workers.worker_records import WorkerInfo, WorkerRecord, WorkerRecords, WorkerState

from jobs.conftest import make_broker, running_worker, state_of, wait_for
from jobs.sample_kinds import KIND as SAMPLE_KIND

from .sample_data import NOW, job
from .static_health import StaticHealthSource

QUEUE = SAMPLE_KIND.queue
MANAGER = Identity("mona", Role.MANAGER)
LEADER = "h1:10:" + "ab" * 16

#: The jobs both back ends hold: id -> (state, payload); enqueued in this order.
JOBS = {
    "c1": ("completed", {"n": 1}),
    "f1": ("failed", {"n": 2, "permanent": True}),
    "w1": ("waiting", {"n": 3}),
    "w2": ("waiting", {"n": 4}),
    "w3": ("waiting", {"n": 5}),
    "p1": ("prioritized", {"n": 6}),
    "d1": ("delayed", {"n": 7}),
    "d2": ("delayed", {"n": 8}),
}
DELAY_S = {"d1": 600, "d2": 1200}
WORKERS = [
    WorkerRecord(
        "h1:10:samples:0",
        "h1:10",
        "h1",
        "samples",
        ("samples",),
        2,
        WorkerState.RUNNING,
        4321,
        NOW - 90,
        0,
        None,
        64 * 2**20,
        0,
    ),
    WorkerRecord(
        "h1:10:samples:1",
        "h1:10",
        "h1",
        "samples",
        ("samples",),
        2,
        WorkerState.CRASH_LOOP,
        None,
        None,
        6,
        1,
        None,
        0,
        "OSError: broken",
    ),
]


@dataclass
class World:
    """A back end holding `JOBS`, the default schedules, `WORKERS` and `LEADER`; `as_role` gives the same data
    through another identity."""

    source: OperationsSource
    as_role: Callable[[Identity], OperationsSource]


def static_world() -> World:
    details = []
    for index, (job_id, (state, payload)) in enumerate(JOBS.items()):
        details.append(
            job(
                job_id,
                QUEUE,
                SAMPLE_KIND.name,
                state,
                payload,
                age_s=200 - index,  # enqueued in order priority=2 if state == "prioritized" else None,
                attempts=1 if state in ("completed", "failed") else 0,
                took_ms=5 if state in ("completed", "failed") else None,
                error=f"PermanentJobError: n={payload['n']} can never work" if state == "failed" else None,
                delayed_for_s=DELAY_S.get(job_id),
            )
        )
    workers = [
        WorkerInfo(**{**dataclasses.asdict(record), "heartbeat": NOW, "heartbeat_age_s": 0.0}) for record in WORKERS
    ]
    shared = StaticHealthSource(
        details,
        queues=[QUEUE, "webhooks"],  # the Redis world registers every built-in queue; webhooks shows queue info
        now=NOW,
        workers=workers,
        schedules=default_schedules(),
        scheduler_leader=LEADER,
        rules=default_rules(),
    )

    shared.kinds = {SAMPLE_KIND.queue: SAMPLE_KIND}

    def as_role(identity: Identity) -> StaticHealthSource:
        other = StaticHealthSource([], now=NOW)  # the same data (shared, not copied), another identity
        other.__dict__.update(shared.__dict__)
        other.identity = identity
        return other

    return World(shared, as_role)


@pytest.fixture
def redis_world(redis_client, redis_url, tmp_path) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path)
    with make_broker(redis_url, settings, [*all_kinds().values(), SAMPLE_KIND]) as broker:
        registry = Registry(broker.client, broker.keys)
        for job_id, (state, payload) in JOBS.items():
            options = (
                {"priority": 2}
                if state == "prioritized"
                else {"delay_ms": DELAY_S[job_id] * 1000}
                if state == "delayed"
                else {}
            )
            enqueue(QUEUE, payload, job_id=job_id, broker=broker, **options)
            if state in ("completed", "failed"):
                with running_worker(broker):
                    wait_for(lambda job_id=job_id, state=state: state_of(registry, job_id) == state)
        client = broker.client
        ScheduleStore(client, KEYS).install_defaults()
        AlertStore(client, KEYS).install_defaults()
        WorkerRecords(client, KEYS).publish([dataclasses.replace(record, started=None) for record in WORKERS])
        client.set(KEYS.leader, LEADER)

        def as_role(identity: Identity) -> OperatorSession:
            return OperatorSession(registry, identity, enqueue_fn=partial(enqueue, broker=broker), kinds=broker.kinds)

        yield World(as_role(LOCAL_DEV), as_role)


@pytest.fixture(params=["static", "redis"])
def world(request) -> World:
    return static_world() if request.param == "static" else request.getfixturevalue("redis_world")


def counts(source: ConsoleSource) -> dict[str, int]:
    return {
        state: getattr(source.queue_counts(QUEUE), state)
        for state in ("waiting", "prioritized", "delayed", "active", "completed", "failed")
    }


def page_ids(source: ConsoleSource, state: str, offset: int = 0, limit: int = 50) -> list[str]:
    return [summary.id for summary in source.list_jobs(QUEUE, state, offset, limit).jobs]


# Reads


def test_both_back_ends_implement_the_whole_protocol(world):
    assert isinstance(world.source, OperationsSource)


def test_counts(world):
    assert counts(world.source) == {
        "waiting": 3,
        "prioritized": 1,
        "delayed": 2,
        "active": 0,
        "completed": 1,
        "failed": 1,
    }
    [row] = [row for row in world.source.all_counts() if row.queue == QUEUE]
    assert row == world.source.queue_counts(QUEUE) and not row.paused


def test_pages_in_the_order_jobs_run_next(world):
    assert page_ids(world.source, "waiting") == ["w1", "w2", "w3"]
    assert page_ids(world.source, "waiting", 0, 2) + page_ids(world.source, "waiting", 2, 2) == ["w1", "w2", "w3"]
    assert world.source.list_jobs(QUEUE, "waiting", 0, 2).total == 3
    assert page_ids(world.source, "delayed") == ["d1", "d2"]
    assert page_ids(world.source, "failed") == ["f1"]
    found = world.source.search_jobs(QUEUE, "waiting", "w2")
    assert [summary.id for summary in found.jobs] == ["w2"] and found.total == 1


def test_job_detail(world):
    failed = world.source.get_job("f1")
    summary = failed.summary
    assert (summary.id, summary.queue, summary.state, summary.data) == ("f1", QUEUE, "failed", JOBS["f1"][1])
    assert "can never work" in summary.error
    delayed = world.source.get_job("d2")
    assert delayed.delayed_until - world.source.server_time() == pytest.approx(1200, abs=60)
    assert world.source.get_job("nope") is None


def test_recent_failures_across_queues_with_their_errors(world):
    [failed] = world.source.recent_failures(5)
    assert (failed.id, failed.queue, failed.state) == ("f1", QUEUE, "failed")
    assert "can never work" in failed.error
    assert world.source.recent_failures(0) == []
    world.source.retry_job("f1")
    assert world.source.recent_failures(5) == []


# Actions


def test_retry(world):
    assert world.source.retry_job("f1").count == 1
    assert world.source.get_job("f1").summary.state == "waiting"
    with pytest.raises(ActionError, match="'w1'"):
        world.source.retry_job("w1")
    assert counts(world.source)["failed"] == 0 and counts(world.source)["waiting"] == 4


def test_bulk_actions_count_what_they_did(world):
    assert world.source.retry_jobs(["f1", "w1", "nope"]).count == 1
    assert world.source.promote_jobs(["d1", "d2", "w1"]).count == 2
    assert world.source.remove_jobs(["c1", "nope"]).count == 1
    assert counts(world.source) == {
        "waiting": 6,
        "prioritized": 1,
        "delayed": 0,
        "active": 0,
        "completed": 0,
        "failed": 0,
    }


def found(source, text: str) -> list[tuple[str, str, str]]:
    steps = list(source.search(parse_query(text)))
    assert steps[-1].done and steps[-1].scanned == steps[-1].total
    return sorted((m.id, m.queue, m.state) for step in steps for m in step.matches)


@pytest.mark.parametrize("text", ["", "state:waiting,delayed", "error:never", "w2", "kind:sample", "age:<1h"])
def test_search_finds_the_same_jobs(world, text: str):
    expected = {
        "": len(JOBS),
        "state:waiting,delayed": 5,
        "error:never": 1,
        "w2": 1,
        "kind:sample": len(JOBS),
        "age:<1h": len(JOBS),
    }
    assert isinstance(world.source, SearchSource)
    assert len(found(world.source, text)) == expected[text]


def test_bulk_actions_on_matches_count_and_stop_when_told(world):
    source = world.source
    matched = [job_id for job_id, _queue, _state in found(source, "")]
    assert source.retry_matches(matched, "").count == 1  # only f1 is failed
    removed = source.remove_matches(["c1", "w1", "nope"], "c1 w1", lambda done, asked: True)
    assert removed.count == 2 and source.get_job("c1") is None
    with pytest.raises(PermissionDenied):
        world.as_role(MANAGER).retry_matches(["f1"], "")


def test_payload_checks_and_new_jobs(world):
    source = world.source
    assert source.check_payload(QUEUE, {"n": 1}) == []
    assert source.check_payload(QUEUE, {"n": "x"}) == [
        "n: Input should be a valid integer, unable to parse string as an integer"
    ]
    assert source.example_payload(QUEUE) == {}
    with pytest.raises(ActionError, match="not valid"):
        source.retry_with_data("f1", QUEUE, {"n": "x"})
    assert source.retry_with_data("f1", QUEUE, {"n": 9}).count == 1
    detail = source.get_job("f1")
    assert detail.summary.data == {"n": 9} and len(detail.history) == 1


def test_retry_all_failed(world):
    assert world.source.retry_all_failed(QUEUE).count == 1
    assert counts(world.source)["failed"] == 0


def test_remove(world):
    assert world.source.remove_job("w1").count == 1
    assert world.source.get_job("w1") is None
    with pytest.raises(ActionError, match="not found"):
        world.source.remove_job("nope")
    assert counts(world.source)["waiting"] == 2


def test_only_a_running_job_can_be_cancelled(world):
    with pytest.raises(ActionError, match="is not running \\(it is waiting\\); remove it instead"):
        world.source.cancel_job("w1")
    with pytest.raises(ActionError, match="not found"):
        world.source.cancel_job("nope")


def test_promote(world):
    assert world.source.promote_job("d2").count == 1
    assert world.source.get_job("d2").summary.state == "waiting"
    assert world.source.get_job("d2").delayed_until is None
    with pytest.raises(ActionError):
        world.source.promote_job("w1")
    assert page_ids(world.source, "delayed") == ["d1"]


def test_pause_and_resume(world):
    world.source.pause_queue(QUEUE)
    assert world.source.queue_counts(QUEUE).paused
    world.source.resume_queue(QUEUE)
    assert not world.source.queue_counts(QUEUE).paused


def test_clean(world):
    assert world.source.clean_jobs(QUEUE, "completed", 86_400_000).count == 0
    assert world.source.clean_jobs(QUEUE, "completed", 0).count == 1
    assert world.source.clean_jobs(QUEUE, "failed", 0).count == 1
    with pytest.raises(ActionError, match="cannot clean active"):
        world.source.clean_jobs(QUEUE, "active", 0)
    assert counts(world.source) == {
        "waiting": 3,
        "prioritized": 1,
        "delayed": 2,
        "active": 0,
        "completed": 0,
        "failed": 0,
    }


def test_drain_leaves_delayed_jobs(world):
    assert world.source.drain_queue(QUEUE).count == 4
    assert counts(world.source) == {
        "waiting": 0,
        "prioritized": 0,
        "delayed": 2,
        "active": 0,
        "completed": 1,
        "failed": 1,
    }


REFUSED = {
    "retry": lambda source: source.retry_job("f1"),
    "retry_all": lambda source: source.retry_all_failed(QUEUE),
    "remove": lambda source: source.remove_job("w1"),
    "promote": lambda source: source.promote_job("d1"),
    "pause": lambda source: source.pause_queue(QUEUE),
    "clean": lambda source: source.clean_jobs(QUEUE, "completed", 0),
    "drain": lambda source: source.drain_queue(QUEUE),
    "schedule_pause": lambda source: source.pause_schedule("compliance-report"),
    "run_schedule": lambda source: source.run_schedule_now("compliance-report"),
    "scale_workers": lambda source: source.scale_workers("h1", "samples", 1),
    "limit": lambda source: source.set_queue_limit(QUEUE, "1/s"),
    "cancel": lambda source: source.cancel_job("w1"),
}


@pytest.mark.parametrize("action", sorted(REFUSED))
def test_a_manager_is_refused_and_nothing_changes(world, action):
    manager = world.as_role(MANAGER)
    before = (counts(world.source), [(row.name, row.enabled) for row in world.source.schedules()])
    assert not manager.can(action)
    with pytest.raises(PermissionDenied, match=f"{action} needs"):
        REFUSED[action](manager)
    assert (counts(world.source), [(row.name, row.enabled) for row in world.source.schedules()]) == before


# Schedules and workers


def test_schedules_read_pause_resume_and_run_now(world):
    rows = world.source.schedules()
    assert [row.name for row in rows] == sorted(schedule.name for schedule in default_schedules())
    assert all(row.enabled and row.last_job_id is None for row in rows)
    world.source.pause_schedule("compliance-report")
    assert [row.name for row in world.source.schedules() if not row.enabled] == ["compliance-report"]
    world.source.resume_schedule("compliance-report")
    assert all(row.enabled for row in world.source.schedules())

    result = world.source.run_schedule_now("permit-expiration-check")
    [row] = [row for row in world.source.schedules() if row.name == "permit-expiration-check"]
    assert row.last_job_id.startswith("manual:permit-expiration-check:") and row.last_job_id in result.message
    ran = world.source.get_job(row.last_job_id).summary
    assert (ran.queue, ran.state) == ("email-notifications", "prioritized")  # the payload asks for priority high
    with pytest.raises(Exception, match="no schedule named 'nope'"):
        world.source.pause_schedule("nope")


def test_workers_and_the_scheduler_leader(world):
    shown = [
        (
            w.id,
            w.host,
            w.supervisor,
            w.group,
            tuple(w.queues),
            w.threads,
            w.state,
            w.pid,
            w.restarts,
            w.active,
            w.last_error,
        )
        for w in world.source.workers()
    ]
    assert shown == [
        (
            r.id,
            r.host,
            r.supervisor,
            r.group,
            r.queues,
            r.threads,
            str(r.state),
            r.pid,
            r.restarts,
            r.active,
            r.last_error,
        )
        for r in WORKERS
    ]
    assert world.source.scheduler_leader() == LEADER


# Health: queue figures, alert rules, the timeline


def test_both_back_ends_offer_the_health_calls(world):
    assert isinstance(world.source, HealthSource)


def test_queue_health(world):
    [health] = world.source.queue_health([QUEUE])
    assert (health.queue, health.waiting, health.delayed, health.paused) == (QUEUE, 4, 2, False)
    assert (health.consumers, health.crash_looping, health.stuck) == (1, 1, 0)
    assert health.latency_s is not None and health.latency_s >= 0
    assert health.warnings == ("crash loop 1",)
    assert world.source.firing_alerts() == [] and world.source.breakers() == {}


def test_alert_rules_mute_disable_and_remove(world):
    names = [rule.name for rule in world.source.alert_rules()]
    assert names == ["failure-rate", "queue-depth", "redis-connection", "stalled-jobs"]
    assert "muted for 60 min" in world.source.mute_alert("queue-depth", 3600).message
    [muted] = [rule for rule in world.source.alert_rules() if rule.name == "queue-depth"]
    assert muted.muted_until == pytest.approx(world.source.server_time() + 3600, abs=60)
    world.source.unmute_alert("queue-depth")
    world.source.update_alert("queue-depth", {"enabled": False})
    assert [rule.enabled for rule in world.source.alert_rules() if rule.name == "queue-depth"] == [False]
    with pytest.raises(AlertRuleError, match="cannot change kind"):
        world.source.update_alert("queue-depth", {"kind": "latency"})
    world.source.remove_alert("queue-depth")
    with pytest.raises(AlertRuleError, match="no alert rule named 'queue-depth'"):
        world.source.remove_alert("queue-depth")
    assert "queue-depth" not in [rule.name for rule in world.source.alert_rules()]


def test_a_manager_may_not_mute_and_an_operator_may_not_edit(world):
    with pytest.raises(PermissionDenied, match="alert_mute needs"):
        world.as_role(MANAGER).mute_alert("queue-depth", 60)
    with pytest.raises(PermissionDenied, match="alert_update needs"):
        world.as_role(Identity("olga", Role.OPERATOR)).update_alert("queue-depth", {"enabled": False})
    world.as_role(Identity("olga", Role.OPERATOR)).mute_alert("queue-depth", 60)
    assert all(rule.enabled for rule in world.source.alert_rules())


def test_a_pause_shows_on_the_timeline(world):
    world.source.pause_queue(QUEUE)
    events = world.source.timeline(3600, QUEUE)
    assert [(event.kind, event.queue) for event in events if event.kind == "pause"] == [("pause", QUEUE)]
    assert world.source.timeline(3600, "webhooks") == [
        e for e in world.source.timeline(3600, "webhooks") if e.queue != QUEUE
    ]


# Failure groups (every queue, by error signature)

F1_SIGNATURE = "PermanentJobError: n=<n> can never work"
F1_GROUP = group_id(signature("PermanentJobError: n=2 can never work"))


def test_both_back_ends_offer_the_failure_group_calls(world):
    assert isinstance(world.source, FailureSource)


def test_failure_groups_and_their_jobs(world):
    [group] = world.source.failure_groups()
    assert (group.id, group.signature, group.count, group.queues) == (F1_GROUP, F1_SIGNATURE, 1, {QUEUE: 1})
    assert "n=2 can never work" in group.error and group.first_seen == group.last_seen is not None
    assert group.top_values == {} and sum(group.hourly.values()) == 1
    assert world.source.failure_group(F1_GROUP) == group
    page = world.source.failure_group_jobs(F1_GROUP)
    assert (page.total, [job.id for job in page.jobs], page.jobs[0].state) == (1, ["f1"], "failed")
    assert world.source.failure_group("nope") is None and world.source.failure_group_jobs("nope").total == 0
    assert world.source.failure_groups(0) == []


def test_retry_a_failure_group(world):
    seen: list[tuple[int, int]] = []
    result = world.source.retry_failure_group(F1_GROUP, progress=lambda done, total: seen.append((done, total)))
    assert result.count == 1 and seen[-1] == (1, 1)
    assert world.source.get_job("f1").summary.state == "waiting"
    assert world.source.failure_groups() == [] and world.source.failure_group(F1_GROUP) is None
    assert world.source.retry_failure_group(F1_GROUP).count == 0


def test_remove_a_failure_group(world):
    assert world.source.remove_failure_group(F1_GROUP).count == 1
    assert world.source.get_job("f1") is None and world.source.failure_groups() == []


def test_failure_groups_are_refused_to_a_manager_acting_and_to_a_token_with_an_org(world):
    manager = world.as_role(MANAGER)
    assert [group.id for group in manager.failure_groups()] == [F1_GROUP]  # reading is allowed
    with pytest.raises(PermissionDenied, match="retry_all needs"):
        manager.retry_failure_group(F1_GROUP)
    with pytest.raises(PermissionDenied, match="remove needs"):
        world.as_role(Identity("olga", Role.OPERATOR)).remove_failure_group(F1_GROUP)
    scoped = world.as_role(Identity("ann", Role.ADMIN, org="permian-ops"))
    with pytest.raises(PermissionDenied, match="every organization"):
        scoped.failure_groups()
    with pytest.raises(PermissionDenied, match="every organization"):
        scoped.retry_failure_group(F1_GROUP)
    assert scoped.failure_group(F1_GROUP) is None and scoped.failure_group_jobs(F1_GROUP).total == 0
    assert world.source.failure_group(F1_GROUP).count == 1


# Queue settings: limits and the info panel


def test_queue_limits_set_live_show_in_the_counts_and_go_back_to_the_configuration(world):
    assert isinstance(world.source, QueueSettingsSource)
    assert not world.source.queue_counts(QUEUE).limits.any
    result = world.source.set_queue_limit(QUEUE, "10/s", "3")
    assert result.message == f"{QUEUE} limits: 10/s · max 3 in flight (rate 10/s, concurrency 3)"
    limits = world.source.queue_counts(QUEUE).limits
    assert (limits.rate, limits.concurrency, limits.rate_live) == (RateLimit(10, 1000), 3, True)
    [row] = [row for row in world.source.all_counts() if row.queue == QUEUE]
    assert row.limits == limits

    world.source.set_queue_limit(QUEUE, "off")
    assert world.source.queue_counts(QUEUE).limits.summary() == "max 3 in flight"
    world.source.set_queue_limit(QUEUE, "config", "config")
    assert world.source.queue_counts(QUEUE).limits == QueueLimits()


def test_a_bad_limit_or_queue_is_refused_naming_the_form(world):
    with pytest.raises(ActionError, match="MAX/DURATION"):
        world.source.set_queue_limit(QUEUE, "fast")
    with pytest.raises(ActionError, match="concurrency cap"):
        world.source.set_queue_limit(QUEUE, None, "-1")
    with pytest.raises(ActionError, match="unknown queue"):
        world.source.set_queue_limit("nope", "1/s")
    assert not world.source.queue_counts(QUEUE).limits.any


def test_a_token_with_an_org_may_not_limit_a_shared_queue(world):
    scoped = world.as_role(Identity("olga", Role.OPERATOR, org="permian-ops"))
    with pytest.raises(ActionError, match="affects every organization"):
        scoped.set_queue_limit(QUEUE, "1/s")


def test_the_queue_info_shows_the_effective_defaults_and_limits(world):
    world.source.set_queue_limit("webhooks", "600/min")
    config = world.source.queue_config("webhooks")
    webhooks = all_kinds()["webhooks"]
    assert (config.attempts, config.timeout_ms, config.threads) == (webhooks.max_attempts, webhooks.timeout_ms, 5)
    assert (config.keep_completed.count, config.keep_failed.count) == (100, 50)
    assert config.limits.rate == RateLimit(600, 60_000)
    with pytest.raises(ActionError, match="no job kind"):
        world.source.queue_config("nope")
