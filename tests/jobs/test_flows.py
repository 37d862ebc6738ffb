"""Flows on a real Redis: a parent runs once its children completed, with their results; the failure
options; removing a parent removes its pending children; the whole tree is created at once or not at all."""

from __future__ import annotations

import pytest

from wellqueue_tui.jobs import EnqueueError, enqueue_flow
from wellqueue_tui.jobs.actions import remove_job, retry_job
from wellqueue_tui.jobs.flows import MAX_FLOW_JOBS, parse_flow

from .conftest import make_broker, running_worker, state_of, wait_for
from .flow_kinds import KIND as STEP_KIND
from .sample_kinds import KIND as SAMPLE_KIND


@pytest.fixture
def broker(redis_client, redis_url, settings):
    with make_broker(redis_url, settings, [SAMPLE_KIND, STEP_KIND]) as broker:
        yield broker


def step(name: str, *children: dict, **opts) -> dict:
    return {"queue": "steps", "data": {"name": name}, "opts": {"jobId": name, **opts}, "children": list(children)}


def test_a_three_level_flow_runs_children_first_and_hands_their_results_up(broker, registry):
    flow = step("root", step("mid", {"queue": "samples", "data": {"n": 7}, "opts": {"jobId": "leaf-a"}}), step("b"))
    created = enqueue_flow(flow, broker=broker)
    assert created.id == "root" and [c.id for c in created.children] == ["mid", "b"]
    assert created.children[0].children[0].id == "leaf-a"
    assert state_of(registry, "root") == "waiting-children"
    assert state_of(registry, "mid") == "waiting-children"
    assert state_of(registry, "leaf-a") == "waiting" and state_of(registry, "b") == "waiting"
    counts = registry.queue_counts("steps")
    assert counts.waiting_children == 2 and counts.of("waiting-children") == 2 and counts.waiting == 1
    assert {j.id for j in registry.list_jobs("steps", "waiting-children").jobs} == {"mid", "root"}

    with running_worker(broker, queues=("samples", "steps")):
        wait_for(lambda: state_of(registry, "root") == "completed")
    root, mid = registry.get_job("root"), registry.get_job("mid")
    leaf, b = registry.get_job("leaf-a"), registry.get_job("b")
    assert mid.result["children"] == {"leaf-a": {"n": 7, "attempt": 1}}
    assert root.result["children"] == {"mid": mid.result, "b": {"name": "b", "children": {}, "failures": {}}}
    assert mid.summary.started_at >= leaf.summary.finished_at
    assert root.summary.started_at >= max(mid.summary.finished_at, b.summary.finished_at)
    assert registry.queue_counts("steps").waiting_children == 0


def test_fail_parent_on_failure_fails_the_parent_naming_the_child(broker, registry):
    bad = {"queue": "steps", "data": {"name": "bad", "permanent": True}, "opts": {"jobId": "bad"}}
    enqueue_flow(
        step(
            "top",
            step("parent", {**bad, "opts": {"jobId": "bad", "failParentOnFailure": True}}, failParentOnFailure=True),
            step("fine"),
        ),
        broker=broker,
    )
    with running_worker(broker, queues=("steps",)):
        wait_for(lambda: state_of(registry, "top") == "failed")
        wait_for(lambda: state_of(registry, "fine") == "completed")
    parent = registry.get_job("parent")
    assert parent.summary.state == "failed" and "child bad failed" in parent.summary.error
    assert "step bad cannot run" in parent.summary.error
    assert "child parent failed" in registry.get_job("top").summary.error
    assert not parent.summary.started_at  # it never ran


def test_ignore_dependency_on_failure_lets_the_parent_run_with_the_failure_recorded(broker, registry):
    bad = {
        "queue": "steps",
        "data": {"name": "bad", "permanent": True},
        "opts": {"jobId": "bad", "ignoreDependencyOnFailure": True},
    }
    enqueue_flow(step("parent", bad, step("fine")), broker=broker)
    with running_worker(broker, queues=("steps",)):
        wait_for(lambda: state_of(registry, "parent") == "completed")
    result = registry.get_job("parent").result
    assert list(result["children"]) == ["fine"]
    assert "step bad cannot run" in result["failures"]["bad"]
    assert state_of(registry, "bad") == "failed"


def test_a_failed_child_without_options_holds_its_parent_until_retried(broker, registry, settings):
    child = {"queue": "samples", "data": {"n": 1, "needs_file": "go"}, "opts": {"jobId": "child", "attempts": 1}}
    enqueue_flow(step("parent", child), broker=broker)
    with running_worker(broker, queues=("samples", "steps")):
        wait_for(lambda: state_of(registry, "child") == "failed")
        assert state_of(registry, "parent") == "waiting-children"
        (settings.data_dir / "go").touch()
        retry_job(registry, "child")
        wait_for(lambda: state_of(registry, "parent") == "completed")
    assert registry.get_job("parent").result["children"] == {"child": {"n": 1, "attempt": 1}}


def test_removing_a_parent_removes_its_pending_children(broker, registry):
    enqueue_flow(step("root", step("mid", step("leaf")), step("other")), broker=broker)
    assert remove_job(registry, "root").count == 1
    for job_id in ("root", "mid", "leaf", "other"):
        assert registry.get_job(job_id) is None
    assert broker.client.hlen(f"{broker.namespace}:steps.msgs") == 0
    assert not broker.client.exists(registry.keys.job_pending("root"), registry.keys.job_children("mid"))
    with running_worker(broker, queues=("steps",)):  # the stale ready-list entries run nothing
        wait_for(lambda: broker.client.llen(f"{broker.namespace}:steps") == 0)
    assert registry.queue_counts("steps").total == 0


def test_removing_the_last_pending_child_releases_the_parent(broker, registry):
    enqueue_flow(step("parent", step("child")), broker=broker)
    remove_job(registry, "child")
    assert state_of(registry, "parent") == "waiting"
    with running_worker(broker, queues=("steps",)):
        wait_for(lambda: state_of(registry, "parent") == "completed")
    assert registry.get_job("parent").result["children"] == {}


def test_a_flow_is_created_whole_or_not_at_all(broker, registry):
    from wellqueue_tui.jobs import enqueue

    enqueue("steps", {"name": "taken"}, job_id="taken", broker=broker)
    with pytest.raises(EnqueueError, match="'taken' exists already"):
        enqueue_flow(step("root", step("a"), step("taken")), broker=broker)
    assert registry.get_job("root") is None and registry.get_job("a") is None
    with pytest.raises(EnqueueError, match=r"flow.children\[1\]: invalid payload for steps: name"):
        enqueue_flow(step("root", step("a"), {"queue": "steps", "data": {"name": 5}}), broker=broker)
    assert registry.get_job("a") is None
    with pytest.raises(EnqueueError, match="appears twice"):
        enqueue_flow(step("root", step("a"), step("a")), broker=broker)


def test_the_same_root_job_id_enqueues_the_flow_once(broker, registry):
    assert enqueue_flow(step("root", step("a")), broker=broker).created
    again = enqueue_flow(step("root", step("b")), broker=broker)
    assert not again.created and again.id == "root"
    assert registry.get_job("b") is None


def test_parse_flow_names_the_field_at_fault():
    with pytest.raises(EnqueueError, match=r"flow.children\[0\].opts: unknown option 'bogus'"):
        parse_flow({"queue": "q", "children": [{"queue": "c", "opts": {"bogus": 1}}]})
    with pytest.raises(EnqueueError, match="apply to children only"):
        parse_flow({"queue": "q", "opts": {"failParentOnFailure": True}})
    with pytest.raises(EnqueueError, match="cannot be delayed"):
        parse_flow({"queue": "q", "opts": {"delay": 5}, "children": [{"queue": "c"}]})
    with pytest.raises(EnqueueError, match="not both"):
        parse_flow(
            {
                "queue": "q",
                "children": [{"queue": "c", "opts": {"failParentOnFailure": True, "ignoreDependencyOnFailure": True}}],
            }
        )
    with pytest.raises(EnqueueError, match="missing queue"):
        parse_flow({"data": {}})
    many = {"queue": "q", "children": [{"queue": "c"}] * MAX_FLOW_JOBS}
    with pytest.raises(EnqueueError, match="over the limit"):
        parse_flow(many)
    spec = parse_flow({"queueName": "q", "opts": {"jobId": "x", "delay": 0, "removeOnComplete": True}})
    assert spec.queue == "q" and spec.options == {"job_id": "x", "delay_ms": 0, "remove_on_complete": True}


def test_the_job_detail_shows_the_flow_tree(broker, registry):
    enqueue_flow(step("root", step("mid", step("leaf")), step("b")), broker=broker)
    root = registry.get_job("root")
    assert root.parent is None
    assert [(n.id, n.state) for n in root.children] == [("b", "waiting"), ("mid", "waiting-children")]
    assert [(n.id, n.queue, n.state) for n in root.children[1].children] == [("leaf", "steps", "waiting")]
    assert registry.get_job("leaf").parent == "mid" and registry.get_job("leaf").children == ()


def test_delayed_and_prioritized_children_and_a_prioritized_parent(broker, registry):
    delayed = {"queue": "samples", "data": {"n": 1}, "opts": {"jobId": "later", "delay": 300}}
    urgent = {"queue": "samples", "data": {"n": 2}, "opts": {"jobId": "urgent", "priority": 1}}
    enqueue_flow({**step("parent", delayed, urgent), "opts": {"jobId": "parent", "priority": 3}}, broker=broker)
    assert state_of(registry, "later") == "delayed" and state_of(registry, "urgent") == "prioritized"
    with running_worker(broker, queues=("samples", "steps")):
        wait_for(lambda: state_of(registry, "parent") == "completed")
    parent = registry.get_job("parent")
    assert set(parent.result["children"]) == {"later", "urgent"} and parent.summary.priority == 3


def test_flow_scripts_wake_the_queues_they_make_jobs_ready_in(broker, registry):
    steps, samples = broker.keys.queue("steps"), broker.keys.queue("samples")
    enqueue_flow(step("top", {"queue": "samples", "data": {"n": 8}, "opts": {"jobId": "leaf"}}), broker=broker)
    assert broker.client.zcard(samples.wake) == 1  # the child is ready at once
    assert not broker.client.exists(steps.wake)  # its parent waits for it
    with running_worker(broker, queues=("samples",)):
        wait_for(lambda: state_of(registry, "top") == "waiting")
    assert broker.client.zcard(steps.wake) == 1  # the child's finish released the parent and woke its queue
