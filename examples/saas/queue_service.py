"""The SaaS document's queue service on WellQueue (`queue_email`, `queue_report`, …) and the tenant context
its REST routes add: `POST /api/jobs/reports` bodies carry no organizationId, the route adds the caller's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wellqueue_tui.jobs import FlowJob, enqueue, enqueue_flow

from ..common.options import enqueue_options


def _queue(queue: str, data: Mapping[str, Any], options: Mapping[str, Any] | None, broker) -> str:
    return enqueue(queue, dict(data), broker=broker, **enqueue_options(options))


def queue_email(data, options=None, *, broker=None) -> str:
    return _queue("saas.email", data, options, broker)


def queue_report(data, options=None, *, broker=None) -> str:
    return _queue("saas.reports", data, options, broker)


def queue_data_export(data, options=None, *, broker=None) -> str:
    return _queue("saas.data-exports", data, options, broker)


def queue_webhook(data, options=None, *, broker=None) -> str:
    return _queue("saas.webhooks", data, options, broker)


def queue_tenant_onboarding(data, options=None, *, broker=None) -> str:
    return _queue("saas.tenant-onboarding", data, options, broker)


def queue_tenant_onboarding_flow(data, *, job_id: str | None = None, broker=None) -> FlowJob:
    """The same onboarding as a flow: one job per step, the onboarding job completing after them all."""
    from .onboarding_flow import onboarding_flow

    return enqueue_flow(onboarding_flow(data, job_id=job_id), broker=broker)


def queue_cleanup(data, options=None, *, broker=None) -> str:
    return _queue("saas.cleanup", data, options, broker)


def with_tenant_context(body: Mapping[str, Any], tenant_id: str, user_id: str | None = None) -> dict:
    """A REST body as the document's routes pass it on: the caller's organization (and user) filled in."""
    data = {**body, "organizationId": tenant_id}
    if user_id is not None:
        data.setdefault("userId", user_id)
    return data
