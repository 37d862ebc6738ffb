"""Seed 004, the SaaS background jobs: e-mail, reports, data exports, signed webhooks, tenant onboarding
and cleanup on `saas.email`, `saas.reports`, `saas.data-exports`, `saas.webhooks`, `saas.tenant-onboarding`
and `saas.cleanup`, with the document's attempts, timeouts and backoff per queue.
Load with `WELLQUEUE_KIND_MODULES='["examples.saas"]'`."""

from __future__ import annotations

from . import cleanup, data_exports, emails, onboarding, reports, webhooks
from .queue_service import (
    queue_cleanup,
    queue_data_export,
    queue_email,
    queue_report,
    queue_tenant_onboarding,
    queue_webhook,
    with_tenant_context,
)

KINDS = [emails.KIND, reports.KIND, data_exports.KIND, webhooks.KIND, onboarding.KIND, cleanup.KIND]

__all__ = [
    "KINDS",
    "queue_cleanup",
    "queue_data_export",
    "queue_email",
    "queue_report",
    "queue_tenant_onboarding",
    "queue_webhook",
    "with_tenant_context",
]
