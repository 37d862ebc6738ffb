"""A flow in the console: the job detail's tree of children with their states, and the waiting-children tab
(snapshots on fixed data and clock; update with --snapshot-update)."""

from __future__ import annotations

import dataclasses

from rich.console import Console

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.jobs.models import FlowNode, JobDetail
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.widgets.flow_tree import flow_text

from .conftest import SIZE, settle
from .sample_data import NOW, QUEUES, job, sample_source
from .static_source import StaticSource

Q, KIND = "report-generation", "generate_report"
TREE = (
    FlowNode("acme-billing", Q, "completed"),
    FlowNode(
        "acme-workspace",
        Q,
        "waiting-children",
        (FlowNode("acme-database", Q, "active"), FlowNode("acme-storage", Q, "failed")),
    ),
    FlowNode("acme-welcome", "email-notifications", "waiting"),
)


def flow_jobs() -> list[JobDetail]:
    root = job("onboard-acme", Q, KIND, "waiting-children", {"organizationName": "Acme Corp"}, age_s=90)
    child = job("acme-workspace", Q, KIND, "waiting-children", {"step": "workspace"}, age_s=90)
    return [
        dataclasses.replace(root, children=TREE),
        dataclasses.replace(child, parent="onboard-acme", children=TREE[1].children),
    ]


def flow_app() -> WellQueueApp:
    base = sample_source()
    source = StaticSource([*base.jobs.values(), *flow_jobs()], queues=QUEUES, throughput=base.stats, now=NOW)
    return WellQueueApp(source, refresh_interval=3600, clock=lambda: NOW)


def test_flow_text_draws_the_tree_with_states():
    console = Console(width=100, color_system=None)
    with console.capture() as capture:
        console.print(flow_text("onboard-acme", TREE))
    assert capture.get().splitlines() == [
        "parent  onboard-acme",
        "children (3)",
        "├─ acme-billing  completed  report-generation",
        "├─ acme-workspace  waiting-children  report-generation",
        "│  ├─ acme-database  active  report-generation",
        "│  └─ acme-storage  failed  report-generation",
        "└─ acme-welcome  waiting  email-notifications",
    ]
    assert flow_text(None, ()) is None


def test_flow_parent_detail(snap_compare):
    async def open_parent(pilot):
        await settle(pilot)
        pilot.app.open_job("onboard-acme")
        await settle(pilot)

    assert snap_compare(flow_app(), terminal_size=SIZE, run_before=open_parent)


def test_waiting_children_tab(snap_compare):
    async def waiting_children(pilot):
        await settle(pilot)
        pilot.app.push_screen(QueueScreen(Q, "waiting-children"))
        await settle(pilot)

    assert snap_compare(flow_app(), terminal_size=SIZE, run_before=waiting_children)
