"""Seed 004, the SaaS background jobs: e-mail, reports, data exports, signed webhooks, tenant onboarding
and cleanup on `saas.email`, `saas.reports`, `saas.data-exports`, `saas.webhooks`, `saas.tenant-onboarding`
and `saas.cleanup`, with the document's attempts, timeouts and backoff per queue; tenant onboarding also runs
as a flow of one job per step on `saas.onboarding-steps`.
Load with `WELLQUEUE_KIND_MODULES='["examples.saas"]'`."""

from __future__ import annotations

from . import cleanup, data_exports, emails, onboarding, onboarding_flow, reports, webhooks
from .queue_service import (
    queue_cleanup,
    queue_data_export,
    queue_email,
    queue_report,
    queue_tenant_onboarding,
    queue_tenant_onboarding_flow,
    queue_webhook,
    with_tenant_context,
)

KINDS = [
    emails.KIND,
    reports.KIND,
    data_exports.KIND,
    webhooks.KIND,
    onboarding.KIND,
    onboarding_flow.KIND,
    cleanup.KIND,
]

__all__ = [
    "KINDS",
    "queue_cleanup",
    "queue_data_export",
    "queue_email",
    "queue_report",
    "queue_tenant_onboarding",
    "queue_tenant_onboarding_flow",
    "queue_webhook",
    "with_tenant_context",
]
