"""The `saas.webhooks` queue (5 attempts, exponential backoff from 10 s, 30-second timeout): POST `payload`
to `url`, signed as the document specifies.

`X-Webhook-Signature` is the hex HMAC-SHA256, keyed with `secret`, of `f"{timestamp}.{body}"` where `body`
is `JSON.stringify(payload)` (compact, key order kept) and `timestamp` the `X-Webhook-Timestamp` header in
milliseconds. The URL is vetted as WellFlow's webhooks are (https, public addresses).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from pydantic import BaseModel, Field, field_validator

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind
from wellqueue_tui.wellflow.kinds.fields import check_json_object

from ..common.http import check_url, post_vetted
from .fields import PAYLOAD_CONFIG, OrganizationId

MAX_PAYLOAD_BYTES = 256 * 1024


class WebhookPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    url: str = Field(min_length=1, max_length=2048)
    payload: dict
    secret: str = Field(min_length=1, max_length=512)
    eventType: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    organizationId: OrganizationId | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("payload")
    @classmethod
    def _bounded(cls, value: dict) -> dict:
        return check_json_object(value, max_bytes=MAX_PAYLOAD_BYTES)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def deliver(payload: WebhookPayload, ctx: JobContext) -> dict:
    body = json.dumps(payload.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time() * 1000)
    answer = post_vetted(
        payload.url,
        body,
        {
            "X-Webhook-Signature": signature(payload.secret, timestamp, body),
            "X-Webhook-Timestamp": str(timestamp),
            "X-Webhook-Event": payload.eventType,
            "X-Webhook-Delivery": ctx.job_id,
        },
        ctx.settings,
        timeout=25,
    )
    ctx.log(f"{payload.eventType} delivered: HTTP {answer.status} (attempt {ctx.attempt})")
    ctx.progress(100)
    return {"status": answer.status, "eventType": payload.eventType}


KIND = JobKind(
    name="saas_deliver_webhook",
    queue="saas.webhooks",
    payload=WebhookPayload,
    process=deliver,
    max_attempts=5,
    backoff_ms=10_000,
    timeout_ms=30_000,
)
