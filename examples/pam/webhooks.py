"""The `pam.webhooks` queue: deliver a stored message to the tenant's endpoint, signed.

The endpoint and secret are configuration (PAM_WEBHOOK_URL, PAM_WEBHOOK_SECRET); without them the job
fails at once. The body is `{"id", "type", "tenantId", "createdAt", "data"}`, signed as WellFlow signs
(`X-WellQueue-Signature: v1=…` over id, timestamp and body, `wellflow.webhook_signing.verify` checks it),
with the message id as delivery id so a receiver drops repeats of the same message.
"""

from __future__ import annotations

import json
import time

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError
from wellqueue_tui.wellflow import webhook_signing

from ..common import config
from ..common.http import call_json
from .fields import PAYLOAD_CONFIG, Identifier
from .store import find_message, now_iso, open_store

URL_VARIABLE, SECRET_VARIABLE = "PAM_WEBHOOK_URL", "PAM_WEBHOOK_SECRET"


class WebhookPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    tenantId: Identifier
    messageId: Identifier
    eventType: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def deliver(payload: WebhookPayload, ctx: JobContext) -> dict:
    url, secret = config.required("PAM webhook delivery", URL_VARIABLE, SECRET_VARIABLE)
    with open_store(ctx.settings.data_dir) as db:
        message = find_message(db, payload.tenantId, payload.messageId)
    if message is None:
        raise PermanentJobError(f"messageId: no message {payload.messageId!r} for tenant {payload.tenantId!r}")
    if message.event_type != payload.eventType:
        raise PermanentJobError(
            f"eventType: message {payload.messageId!r} is a {message.event_type!r} event, not {payload.eventType!r}"
        )
    body = json.dumps(
        {
            "id": message.message_id,
            "type": message.event_type,
            "tenantId": message.tenant_id,
            "createdAt": message.created_at,
            "data": message.data,
        },
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time())
    answer = call_json(
        "POST",
        url,
        raw_body=body,
        headers={
            "Content-Type": "application/json",
            webhook_signing.DELIVERY_HEADER: message.message_id,
            webhook_signing.TIMESTAMP_HEADER: str(timestamp),
            webhook_signing.SIGNATURE_HEADER: webhook_signing.sign(
                secret.encode(), message.message_id, timestamp, body
            ),
        },
    )
    with open_store(ctx.settings.data_dir) as db:
        db.execute(
            "UPDATE webhook_messages SET delivered_at = ? WHERE tenant_id = ? AND message_id = ?",
            (now_iso(), payload.tenantId, payload.messageId),
        )
    ctx.log(f"{payload.eventType} {payload.messageId} delivered (HTTP {answer.status}, attempt {ctx.attempt})")
    ctx.progress(100)
    return {"status": answer.status, "messageId": payload.messageId}


KIND = JobKind(
    name="pam_deliver_webhook",
    queue="pam.webhooks",
    payload=WebhookPayload,
    process=deliver,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=60_000,
    tenant_field="tenantId",
)
