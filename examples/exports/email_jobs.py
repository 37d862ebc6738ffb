"""The `exports.email` queue: a given HTML e-mail (`send-email`) or a booking confirmation rendered from
the booking and user documents."""

from __future__ import annotations

import html
import re

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import mail
from .payloads import BookingConfirmation, EmailJob, SendEmail, job_of

PRIORITY, ATTEMPTS, BACKOFF_MS = 3, 5, 1000


def text_of(markup: str) -> str:
    """A plain-text alternative for an HTML body."""
    without_tags = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", markup, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(html.unescape(without_tags).split()) + "\n"


def confirmation(job: BookingConfirmation) -> tuple[str, str, str]:
    booking, user = job.data.booking, job.data.user
    when = f"{booking.date:%Y-%m-%d %H:%M} UTC"
    price = f"{booking.amount:.2f} {booking.currency}" if booking.amount is not None else "as quoted"
    lines = [
        f"Dear {user.name},",
        "",
        "your booking is confirmed.",
        "",
        f"Booking: {booking.id}",
        f"Transfer: {booking.tour}",
        f"When: {when}",
        f"Guests: {booking.guests}",
        f"Price: {price}",
        "",
        "GNB Transfer",
    ]
    markup = "".join(f"<p>{html.escape(line)}</p>" if line else "" for line in lines)
    return f"Booking confirmed: {booking.tour} on {booking.date:%Y-%m-%d}", "\n".join(lines) + "\n", markup


def send(payload: EmailJob, ctx: JobContext) -> dict:
    job = job_of(payload)
    if isinstance(job, SendEmail):
        data = job.data
        to, subject, markup, text, sender = (
            data.to,
            data.subject,
            data.html,
            data.text or text_of(data.html),
            data.from_,
        )
    else:
        to, sender = job.data.user.email, None
        subject, text, markup = confirmation(job)
    message = mail.compose(
        ctx, to=[to], subject=subject, text=text, html=markup, sender=sender, headers={"X-GNB-Job": job.name}
    )
    result = mail.send(ctx, message, [to])
    ctx.progress(100)
    return {"success": True, **result}


KIND = JobKind(
    name="gnb_email",
    queue="exports.email",
    payload=EmailJob,
    process=send,
    max_attempts=ATTEMPTS,
    backoff_ms=BACKOFF_MS,
    timeout_ms=60_000,
    priority_of=lambda _payload: PRIORITY,
    tenant_field=None,
)
