"""The `saas.email` queue: deliver an HTML and text e-mail (5 attempts, 30-second timeout); `priority`
(1-5, lower first) may come in the payload, as the document's `POST /api/jobs/email` sends it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import mail
from .fields import PAYLOAD_CONFIG, EmailAddress, OrganizationId


class EmailPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    to: EmailAddress | list[EmailAddress]
    subject: str = Field(min_length=1, max_length=300)
    html: str | None = Field(default=None, max_length=500_000)
    text: str | None = Field(default=None, max_length=500_000)
    from_: EmailAddress | None = Field(default=None, alias="from")
    priority: int | None = Field(default=None, ge=1, le=5)
    organizationId: OrganizationId | None = None

    @property
    def recipients(self) -> list[str]:
        return self.to if isinstance(self.to, list) else [self.to]


def send_email(payload: EmailPayload, ctx: JobContext) -> dict:
    text = payload.text or "This message has an HTML body only.\n"
    message = mail.compose(
        ctx, to=payload.recipients, subject=payload.subject, text=text, html=payload.html, sender=payload.from_
    )
    result = mail.send(ctx, message, payload.recipients)
    ctx.progress(100)
    return result


KIND = JobKind(
    name="saas_send_email",
    queue="saas.email",
    payload=EmailPayload,
    process=send_email,
    max_attempts=5,
    backoff_ms=5000,
    timeout_ms=30_000,
    priority_of=lambda payload: payload.priority,
)
