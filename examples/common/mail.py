"""E-mail from the example packs: compose a message and deliver it through WellFlow's mailer (SMTP when
WELLQUEUE_SMTP_HOST is set, else an .eml file in `{data_dir}/outbox`)."""

from __future__ import annotations

import mimetypes
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.wellflow import mailer

# Long subjects stay on one line (RFC 5322 allows 998 characters): folded, some readers show a leading space.
UNFOLDED = policy.default.clone(max_line_length=998)


def compose(
    ctx: JobContext,
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    sender: str | None = None,
    attachments: tuple[tuple[Path, str], ...] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A message whose Message-ID comes from the job id, so a retried send is recognisably the same."""
    sender = sender or ctx.settings.smtp_from
    message = EmailMessage(policy=UNFOLDED)
    message["Subject"] = " ".join(subject.split())
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = mailer.message_id(ctx.job_id, sender)
    message["X-WellQueue-Job"] = ctx.job_id
    for name, value in (headers or {}).items():
        message[name] = " ".join(value.split())
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for path, filename in attachments:
        kind, _ = mimetypes.guess_type(filename)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(ctx: JobContext, message: EmailMessage, recipients: list[str]) -> dict:
    """Deliver; temporary trouble raises `mailer.DeliveryError` (retried), refusals fail the job."""
    delivery = mailer.deliver(message, recipients, ctx.settings, job_id=ctx.job_id)
    ctx.log(f"delivered by {delivery.method} to {delivery.recipients} recipient(s)")
    return delivery.as_result()
