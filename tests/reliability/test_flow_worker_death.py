"""Flows under worker death: worker processes running flow steps are SIGKILLed under the real supervisor, and
every flow's parent still completes exactly once, after all its children, with every child's result (a
3-level flow of sleeping steps, killed while its steps run, beside SaaS tenant onboardings run as flows)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from wellqueue_tui.jobs import enqueue_flow
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers.supervisor import Supervisor, WorkerGroupSpec

from jobs.conftest import wait_for

from .conftest import FAST_RESTARTS, SAMPLE_DIR, TESTS_DIR, ReaperLoop, RunningSupervisor, report, settle

pytestmark = pytest.mark.reliability

REPO_DIR = TESTS_DIR.parent
QUEUES = ("steps", "saas.onboarding-steps")
PROCESSES, THREADS = 2, 2
TENANTS = 6
PATIENCE_S = 300
SLOW_MS = 3000  # long enough for the step to show as active, so the kill lands while it runs


def step(name: str, *children: dict, sleep_ms: int = 0) -> dict:
    return {
        "queue": "steps",
        "data": {"name": name, "sleep_ms": sleep_ms},
        "opts": {"jobId": name, "attempts": 2},
        "children": list(children),
    }


#: root <- (mid-a <- (leaf-a1 slow, leaf-a2), mid-b slow <- leaf-b1): kills land in level 2, then level 1
FLOW = step(
    "root",
    step("mid-a", step("leaf-a1", sleep_ms=SLOW_MS), step("leaf-a2")),
    step("mid-b", step("leaf-b1"), sleep_ms=SLOW_MS),
)
TENANT = {"adminEmail": "admin@example.com", "adminName": "Jo Admin", "tier": "starter"}


def kill_the_worker_running(registry: Registry, job_id: str, killed: tuple[int, ...] = ()) -> int:
    """SIGKILL the worker process that runs `job_id`, once the job shows as active in a process not killed
    already (a job held by a killed process still shows its dead worker until the reaper requeues it)."""

    def running_in_a_live_worker():
        job = registry.get_job(job_id)
        if job is None or job.summary.state != "active" or not job.worker:
            return None
        pid = int(job.worker.split(":")[1])  # the worker label is {host}:{pid}:{broker id}
        return pid if pid not in killed else None

    pid = wait_for(running_in_a_live_worker, timeout=PATIENCE_S, interval=0.05)
    os.kill(pid, signal.SIGKILL)
    return pid


def descendants(registry: Registry, job_id: str) -> list[str]:
    ids = []
    for node in registry.get_job(job_id).children:
        ids.append(node.id)
        ids.extend(descendants(registry, node.id))
    return ids


def check_flow(registry: Registry, client, job_id: str) -> None:
    """The parent completed once, after every child completed, with each child's result."""
    parent = registry.get_job(job_id)
    assert parent.summary.state == "completed", f"{job_id}: {parent.summary.state} {parent.summary.error}"
    assert client.hget(registry.keys.job(job_id), "duplicate_runs") is None, f"{job_id} completed twice"
    for node in parent.children:
        child = registry.get_job(node.id)
        assert child.summary.state == "completed", f"{node.id}: {child.summary.state} {child.summary.error}"
        assert parent.summary.started_at >= child.summary.finished_at, f"{job_id} started before {node.id} ended"
        check_flow(registry, client, node.id)


def test_flows_complete_exactly_once_after_their_children_when_workers_are_killed(
    redis_client, redis_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(str(p) for p in (REPO_DIR, TESTS_DIR, SAMPLE_DIR)))
    monkeypatch.delenv("SAAS_STRIPE_API_URL", raising=False)
    settings = Settings(
        data_dir=Path(tmp_path),
        kind_modules=["flow_kinds", "examples.saas"],
        grace_seconds=10,
        heartbeat_timeout_ms=2000,
    )
    from examples.saas import KINDS as SAAS_KINDS
    from examples.saas.onboarding_flow import onboarding_flow

    from jobs.flow_kinds import KIND as STEP_KIND

    producer = build_broker(redis_url, settings=settings, kinds=[STEP_KIND, *SAAS_KINDS])
    registry = Registry(producer.client, producer.keys)
    enqueue_flow(FLOW, broker=producer)
    onboardings = [
        enqueue_flow(onboarding_flow({**TENANT, "organizationName": f"Tenant {n}"}), broker=producer).id
        for n in range(TENANTS)
    ]
    supervisor = Supervisor(
        settings,
        redis_url,
        groups={"flows": WorkerGroupSpec(QUEUES, PROCESSES, THREADS)},
        policy=FAST_RESTARTS,
        heartbeat_interval_s=0.5,
    )
    with ReaperLoop(redis_url, timeout_ms=2000, interval_s=0.5) as reaper, RunningSupervisor(supervisor) as running:
        first = kill_the_worker_running(registry, "leaf-a1")
        killed = [first, kill_the_worker_running(registry, "mid-b", killed=(first,))]
        roots = ["root", *onboardings]
        done = settle(
            lambda: all(registry.get_job(r).summary.state in ("completed", "failed") for r in roots),
            timeout=PATIENCE_S,
            interval=0.2,
        )
        restarts = sum(p.restarts for p in running.processes())
        clean_stop = running.stop()

    root = registry.get_job("root")
    report(
        "R flow worker death",
        flows=len(roots),
        kills=len(killed),
        restarts=restarts,
        reaped_workers=reaper.dead_workers,
        requeued=reaper.requeued,
        settled=done,
        redelivered=sum(registry.get_job(j).redeliveries for j in ["root", *descendants(registry, "root")]),
    )
    assert done, "every flow's parent finished"
    for job_id in roots:
        check_flow(registry, producer.client, job_id)
    assert root.result["children"]["mid-a"]["children"] == {
        "leaf-a1": {"name": "leaf-a1", "children": {}, "failures": {}},
        "leaf-a2": {"name": "leaf-a2", "children": {}, "failures": {}},
    }
    assert set(root.result["children"]) == {"mid-a", "mid-b"}
    assert registry.get_job("leaf-a1").redeliveries >= 1 and registry.get_job("mid-b").redeliveries >= 1
    for n, job_id in enumerate(onboardings):
        assert registry.get_job(job_id).result["organizationId"] == f"org-tenant-{n}"
    assert registry.queue_counts("steps").waiting_children == 0
    assert restarts >= len(killed) and clean_stop
    producer.client.close()
