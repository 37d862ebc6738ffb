"""`EMAIL_SEND` (queue `platform.email-send`): render a named template with `variables` and send it, with
attachments from `{data_dir}/platform/attachments`."""

from __future__ import annotations

import html
from string import Template
from typing import Any

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from ..common import files, mail
from .fields import PAYLOAD_CONFIG, BaseJobData, EmailAddress
from .job_types import QUEUES, JobType
from .store import area

#: Template name -> (text, html) with `$name` placeholders filled from `variables` (and `to`).
TEMPLATES = {
    "welcome": (
        "Hello $name,\n\nwelcome aboard. Your account $to is ready.\n",
        "<p>Hello $name,</p><p>welcome aboard. Your account <b>$to</b> is ready.</p>",
    ),
    "security_alert": (
        "Security alert for $to.\n\n$details\n\nIf this was not you, reset your password now.\n",
        ("<p><b>Security alert</b> for $to.</p><p>$details</p><p>If this was not you, reset your password now.</p>"),
    ),
    "test": ("This is a test e-mail to $to.\n", "<p>This is a test e-mail to $to.</p>"),
}
DEFAULTS = {"name": "there", "details": "We noticed a sign-in or account change that needs your attention."}


class Attachment(BaseModel):
    model_config = PAYLOAD_CONFIG

    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")
    path: str = Field(min_length=1, max_length=1024)


class EmailJobData(BaseJobData):
    to: EmailAddress
    subject: str = Field(min_length=1, max_length=300)
    template: str = Field(min_length=1, max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


def render(payload: EmailJobData) -> tuple[str, str]:
    if payload.template not in TEMPLATES:
        raise PermanentJobError(
            f"template: unknown template {payload.template!r}; use one of {', '.join(sorted(TEMPLATES))}"
        )
    values = {**DEFAULTS, **{k: str(v) for k, v in payload.variables.items()}, "to": payload.to}
    text, markup = TEMPLATES[payload.template]
    return (
        Template(text).safe_substitute(values),
        Template(markup).safe_substitute({k: html.escape(v) for k, v in values.items()}),
    )


def send_email(payload: EmailJobData, ctx: JobContext) -> dict:
    text, markup = render(payload)
    base = area(ctx.settings.data_dir, "attachments")
    attachments = []
    for index, item in enumerate(payload.attachments):
        path = files.inside(base, item.path, f"attachments[{index}].path")
        if not path.is_file():
            raise PermanentJobError(f"attachments[{index}].path: no file {item.path!r} in {base}")
        attachments.append((path, item.filename))
    message = mail.compose(
        ctx,
        to=[payload.to],
        subject=payload.subject,
        text=text,
        html=markup,
        attachments=tuple(attachments),
        headers={"X-Template": payload.template},
    )
    ctx.progress(50)
    result = mail.send(ctx, message, [payload.to])
    ctx.progress(100)
    return {**result, "template": payload.template}


KIND = JobKind(
    name=JobType.EMAIL_SEND,
    queue=QUEUES[JobType.EMAIL_SEND],
    payload=EmailJobData,
    process=send_email,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=60_000,
    tenant_field="tenantId",
)
