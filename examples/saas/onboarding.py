"""The `saas.tenant-onboarding` queue (3 attempts): provision a new organization in idempotent steps,
reporting progress after each.

Each step is its own function taking the payload and the tenant so far: here one job runs them in order,
and examples/saas/onboarding_flow.py runs each as its own job of a flow. A retry reruns every step, and
each finds its own earlier work (same organization, same admin, same settings, same e-mail job id).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from . import billing
from .fields import PAYLOAD_CONFIG, EmailAddress
from .store import area, now_iso, open_store

TIER_LIMITS = {
    "starter": {"max_users": "5", "max_stations": "3", "report_retention_days": "30"},
    "professional": {"max_users": "50", "max_stations": "25", "report_retention_days": "365"},
    "enterprise": {"max_users": "unlimited", "max_stations": "unlimited", "report_retention_days": "2555"},
}


class TenantOnboardingPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    organizationName: str = Field(min_length=1, max_length=200)
    adminEmail: EmailAddress
    adminName: str = Field(min_length=1, max_length=200)
    tier: Literal["starter", "professional", "enterprise"]
    stripeCustomerId: str | None = Field(default=None, pattern=r"^cus_[A-Za-z0-9]+$")
    stripeSubscriptionId: str | None = Field(default=None, pattern=r"^sub_[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Tenant:
    """What the steps have provisioned so far."""

    organization_id: str = ""
    admin_user_id: str = ""
    billing: str = "none"
    welcome_job_id: str = ""


Step = Callable[[JobContext, TenantOnboardingPayload, Tenant], Tenant]


def organization_id_for(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "org"
    return f"org-{slug}"


def create_organization(ctx: JobContext, payload: TenantOnboardingPayload, tenant: Tenant) -> Tenant:
    organization_id = organization_id_for(payload.organizationName)
    with open_store(ctx.settings.data_dir) as db:
        db.execute(
            "INSERT OR IGNORE INTO organizations (id, name, tier, created_at) VALUES (?, ?, ?, ?)",
            (organization_id, payload.organizationName, payload.tier, now_iso()),
        )
        row = db.execute("SELECT id FROM organizations WHERE name = ?", (payload.organizationName,)).fetchone()
    if row["id"] != organization_id:
        raise PermanentJobError(f"organizationName: {payload.organizationName!r} is taken by {row['id']}")
    return replace(tenant, organization_id=organization_id)


def create_admin_user(ctx: JobContext, payload: TenantOnboardingPayload, tenant: Tenant) -> Tenant:
    user_id = f"{tenant.organization_id}:admin"
    with open_store(ctx.settings.data_dir) as db:
        db.execute(
            "INSERT OR IGNORE INTO users VALUES (?, ?, ?, ?, 'admin', ?)",
            (user_id, tenant.organization_id, payload.adminEmail.lower(), payload.adminName, now_iso()),
        )
    return replace(tenant, admin_user_id=user_id)


def apply_tier(ctx: JobContext, payload: TenantOnboardingPayload, tenant: Tenant) -> Tenant:
    with open_store(ctx.settings.data_dir) as db:
        db.executemany(
            "INSERT OR REPLACE INTO organization_settings VALUES (?, ?, ?)",
            [(tenant.organization_id, key, value) for key, value in TIER_LIMITS[payload.tier].items()],
        )
        db.execute("UPDATE organizations SET tier = ? WHERE id = ?", (payload.tier, tenant.organization_id))
    return tenant


def link_billing(ctx: JobContext, payload: TenantOnboardingPayload, tenant: Tenant) -> Tenant:
    if not payload.stripeCustomerId:
        return replace(tenant, billing="none")
    subscription = billing.verify_subscription(payload.stripeCustomerId, payload.stripeSubscriptionId or "")
    with open_store(ctx.settings.data_dir) as db:
        db.execute(
            "UPDATE organizations SET stripe_customer_id = ?, stripe_subscription_id = ?, "
            "subscription_status = ? WHERE id = ?",
            (subscription.customer_id, subscription.subscription_id, subscription.status, tenant.organization_id),
        )
    return replace(tenant, billing=subscription.status)


def provision_storage(ctx: JobContext, payload: TenantOnboardingPayload, tenant: Tenant) -> Tenant:
    for folder in ("reports", "exports"):
        area(ctx.settings.data_dir, folder, tenant.organization_id)
    return tenant


def send_welcome_email(ctx: JobContext, payload: TenantOnboardingPayload, tenant: Tenant) -> Tenant:
    job_id = ctx.enqueue(
        "saas.email",
        {
            "to": payload.adminEmail,
            "subject": f"Welcome to HSE.Digital, {payload.organizationName}",
            "text": f"Welcome {payload.adminName}!\n\nYour organization {payload.organizationName} is ready on the "
            f"{payload.tier} plan. Sign in with {payload.adminEmail}.\n",
            "organizationId": tenant.organization_id,
        },
        job_id=f"onboarding-welcome-{tenant.organization_id}",
    )
    return replace(tenant, welcome_job_id=job_id)


STEPS: tuple[Step, ...] = (
    create_organization,
    create_admin_user,
    apply_tier,
    link_billing,
    provision_storage,
    send_welcome_email,
)


def check_billing(payload: TenantOnboardingPayload) -> None:
    """Before any step, so a bad pair of ids or an unconfigured provider leaves nothing half-made."""
    if payload.stripeCustomerId or payload.stripeSubscriptionId:
        if not (payload.stripeCustomerId and payload.stripeSubscriptionId):
            raise PermanentJobError("stripeCustomerId and stripeSubscriptionId go together; give both or neither")
        billing.configured()


def summary(tenant: Tenant) -> dict:
    """What an onboarding returns once every step is done."""
    return {
        "organizationId": tenant.organization_id,
        "adminUserId": tenant.admin_user_id,
        "billing": tenant.billing,
        "welcomeEmailJob": tenant.welcome_job_id,
        "steps": [step.__name__ for step in STEPS],
    }


def onboard_tenant(payload: TenantOnboardingPayload, ctx: JobContext) -> dict:
    check_billing(payload)
    tenant = Tenant()
    for number, step in enumerate(STEPS, start=1):
        tenant = step(ctx, payload, tenant)
        ctx.log(f"step {number}/{len(STEPS)} {step.__name__}: done")
        ctx.progress(100 * number / len(STEPS))
    return summary(tenant)


KIND = JobKind(
    name="saas_onboard_tenant",
    queue="saas.tenant-onboarding",
    payload=TenantOnboardingPayload,
    process=onboard_tenant,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=5 * 60_000,
    tenant_field=None,
)
