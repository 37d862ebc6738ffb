"""Tenant onboarding as a flow (wellqueue_tui.jobs.flows): each onboarding step is its own job on
`saas.onboarding-steps`, and the onboarding itself is the flow's parent, completing after every step with the
summary the single-job onboarding (`saas.tenant-onboarding`) returns.

The steps build on each other, so the flow is a chain: each step is the parent of the step before it, and the
first step (create_organization) is the deepest child. A step receives the tenant provisioned so far as its
child's result (`ctx.children_results`) and runs the single-job onboarding's own idempotent function. Every
step fails its parent when it fails for good (failParentOnFailure), so a broken step fails the onboarding with
an error naming it. Job ids follow the organization (`onboarding-{org}` and `onboarding-{org}:{step}`), so the
same onboarding enqueued twice runs once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, Literal, get_args

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from .onboarding import STEPS, Tenant, TenantOnboardingPayload, check_billing, organization_id_for, summary

QUEUE = "saas.onboarding-steps"
COMPLETE = "complete"
StepName = Literal[
    "create_organization",
    "create_admin_user",
    "apply_tier",
    "link_billing",
    "provision_storage",
    "send_welcome_email",
    "complete",
]
STEP_BY_NAME = {step.__name__: step for step in STEPS}
assert set(get_args(StepName)) == {*STEP_BY_NAME, COMPLETE}, "StepName must list every onboarding step"


class OnboardingStepPayload(TenantOnboardingPayload):
    """The onboarding's payload and the step this job runs (`complete` for the flow's parent)."""

    step: StepName


def onboarding_flow(data: Mapping[str, Any], *, job_id: str | None = None) -> dict:
    """The flow of one onboarding (the document's payload, checked here): the chain of steps under the
    onboarding job, ready for `enqueue_flow`."""
    payload = TenantOnboardingPayload.model_validate(dict(data))
    root_id = job_id or f"onboarding-{organization_id_for(payload.organizationName)}"
    chain: list[dict] = []
    for step in STEPS:
        chain = [
            {
                "queue": QUEUE,
                "data": {**data, "step": step.__name__},
                "opts": {"jobId": f"{root_id}:{step.__name__}", "failParentOnFailure": True},
                "children": chain,
            }
        ]
    return {"queue": QUEUE, "data": {**data, "step": COMPLETE}, "opts": {"jobId": root_id}, "children": chain}


def run_step(payload: OnboardingStepPayload, ctx: JobContext) -> dict:
    """One step: the tenant so far comes from the step before (none for the first); returns the tenant after it,
    or the onboarding's summary for the flow's parent."""
    tenant = _tenant_from(ctx.children_results)
    if payload.step == COMPLETE:
        ctx.log(f"onboarding of {tenant.organization_id} complete")
        return summary(tenant)
    details = TenantOnboardingPayload.model_validate(payload.model_dump(exclude={"step"}, exclude_unset=True))
    if payload.step == STEPS[0].__name__:
        check_billing(details)
    tenant = STEP_BY_NAME[payload.step](ctx, details, tenant)
    ctx.log(f"step {payload.step}: done")
    return asdict(tenant)


def _tenant_from(children_results: Mapping[str, Any]) -> Tenant:
    """The tenant a step's child returned (a chain has at most one child)."""
    known = {f.name for f in fields(Tenant)}
    for result in children_results.values():
        if isinstance(result, dict):
            return Tenant(**{k: v for k, v in result.items() if k in known})
    return Tenant()


KIND = JobKind(
    name="saas_onboarding_step",
    queue=QUEUE,
    payload=OnboardingStepPayload,
    process=run_step,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=5 * 60_000,
    tenant_field=None,
)
