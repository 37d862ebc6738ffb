"""Seed 004's tenant onboarding as a flow: one job per step, chained, under the onboarding job, which
completes after every step with the single-job onboarding's summary; a failing step fails it, naming the step."""

from __future__ import annotations

import itertools

import pytest
from pack_harness import example
from test_saas_pack import organizations, outbox_message, saas, stripe  # noqa: F401  (saas: the fixture)

from examples.saas import queue_tenant_onboarding, queue_tenant_onboarding_flow
from examples.saas.onboarding import STEPS
from examples.saas.onboarding_flow import QUEUE, onboarding_flow
from examples.saas.store import open_store


def test_onboarding_flow_runs_each_step_after_the_one_before_then_the_onboarding(saas) -> None:  # noqa: F811
    created = queue_tenant_onboarding_flow(example("saas", "rest-tenant-onboarding"), broker=saas.broker)
    assert created.id == "onboarding-org-acme-corp"
    job = saas.completed(created.id)
    steps = [saas.registry.get_job(f"{created.id}:{step.__name__}") for step in STEPS]
    assert all(step.summary.state == "completed" for step in steps)
    for before, after in itertools.pairwise(steps):
        assert after.summary.started_at >= before.summary.finished_at
        assert saas.registry.get_job(before.summary.id).parent == after.summary.id
    assert job.summary.started_at >= steps[-1].summary.finished_at
    assert job.result == {
        "organizationId": "org-acme-corp",
        "adminUserId": "org-acme-corp:admin",
        "billing": "none",
        "welcomeEmailJob": "onboarding-welcome-org-acme-corp",
        "steps": [step.__name__ for step in STEPS],
    }
    assert [node.id for node in job.children] == [f"{created.id}:send_welcome_email"]
    assert organizations(saas) == [("org-acme-corp", "professional", None)]
    welcome = saas.completed(job.result["welcomeEmailJob"])
    assert outbox_message(saas, welcome.summary.id)["To"] == "admin@acme.com"
    # the single-job onboarding of the same tenant finds every step done: the same summary
    single = saas.completed(queue_tenant_onboarding(example("saas", "rest-tenant-onboarding"), broker=saas.broker))
    assert single.result == job.result
    with open_store(saas.settings.data_dir) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 1


def test_a_step_that_fails_for_good_fails_the_onboarding_naming_it(saas) -> None:  # noqa: F811
    created = queue_tenant_onboarding_flow(example("saas", "tenant-onboarding"), broker=saas.broker)
    job = saas.failed(created.id)
    assert job.summary.error.startswith(f"child {created.id}:send_welcome_email failed: child ")
    first = saas.failed(f"{created.id}:create_organization")
    assert "not configured: set SAAS_STRIPE_API_URL and SAAS_STRIPE_API_KEY" in first.summary.error
    assert "not configured" in job.summary.error and organizations(saas) == []


def test_onboarding_flow_with_stripe_links_billing(saas, fake_provider, monkeypatch) -> None:  # noqa: F811
    stripe(fake_provider, monkeypatch)
    job = saas.completed(queue_tenant_onboarding_flow(example("saas", "tenant-onboarding"), broker=saas.broker).id)
    assert job.result["billing"] == "active"
    assert organizations(saas) == [("org-acme-corp", "professional", "active")]


def test_the_flow_document_is_a_chain_checked_before_anything_is_enqueued() -> None:
    flow = onboarding_flow(example("saas", "rest-tenant-onboarding"), job_id="on-1")
    chain = []
    node = flow
    while node["children"]:
        [node] = node["children"]
        chain.append((node["opts"]["jobId"], node["data"]["step"], node["opts"]["failParentOnFailure"]))
    assert flow["queue"] == QUEUE and flow["data"]["step"] == "complete"
    assert chain == [(f"on-1:{s.__name__}", s.__name__, True) for s in reversed(STEPS)]
    with pytest.raises(ValueError, match="tier"):
        onboarding_flow({**example("saas", "rest-tenant-onboarding"), "tier": "gold"})
