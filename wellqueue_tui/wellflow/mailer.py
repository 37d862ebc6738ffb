"""Deliver a rendered email: over SMTP when configured, else as an .eml file in the outbox.

Temporary trouble (SMTP 4xx, dropped connections, an unwritable outbox) raises
`DeliveryError`, which the worker retries; permanent SMTP refusals raise `PermanentJobError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from ..jobs.kind import PermanentJobError
from ..settings import Settings

SMTP_TIMEOUT_S = 30
SMTPS_PORT = 465


class DeliveryError(Exception):
    """Delivery failed for a reason that may pass (the job is retried)."""


@dataclass(frozen=True)
class Delivery:
    """How a message left WellQueue."""

    method: Literal["smtp", "outbox"]
    recipients: int
    path: Path | None = None
    refused: dict[str, str] = field(default_factory=dict)

    def as_result(self) -> dict:
        result: dict = {"delivery": self.method, "recipients": self.recipients}
        if self.path is not None:
            result["path"] = str(self.path)
        if self.refused:
            result["refused"] = dict(self.refused)
        return result


def safe_job_id(job_id: str) -> str:
    """The job id as a file-name and Message-ID fragment; altered ids get a hash so they stay unique."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", job_id)[:100]
    if safe != job_id:
        safe += "-" + hashlib.sha256(job_id.encode()).hexdigest()[:10]
    return safe


def message_id(job_id: str, sender: str) -> str:
    """A Message-ID derived from the job id, so a retried send carries the same one."""
    domain = sender.rpartition("@")[2]
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", domain):
        domain = "wellqueue.local"
    return f"<wellqueue.{safe_job_id(job_id)}@{domain}>"


def deliver(message: EmailMessage, recipients: list[str], settings: Settings, *, job_id: str) -> Delivery:
    """Send `message` to `recipients` by SMTP if `smtp_host` is set, otherwise write it to the outbox."""
    if settings.smtp_host:
        return send_smtp(message, recipients, settings)
    path = write_outbox(message, settings.outbox_dir, job_id)
    return Delivery(method="outbox", recipients=len(recipients), path=path)


def send_smtp(message: EmailMessage, recipients: list[str], settings: Settings) -> Delivery:
    """One SMTP session: STARTTLS and login as configured, then send to every recipient."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    try:
        client = _connect(settings)
        try:
            if settings.smtp_starttls and settings.smtp_port != SMTPS_PORT:
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                client.login(settings.smtp_user, password)
            refused = client.send_message(message, from_addr=settings.smtp_from, to_addrs=recipients)
        finally:
            _hang_up(client)
    except (smtplib.SMTPException, OSError) as exc:
        raise _classify(exc, settings) from exc
    return Delivery(
        method="smtp",
        recipients=len(recipients) - len(refused),
        refused={rcpt: _reply(code, text) for rcpt, (code, text) in refused.items()},
    )


def write_outbox(message: EmailMessage, outbox: Path, job_id: str) -> Path:
    """Write `{timestamp}_{job-id}.eml` atomically; a retry of the same job overwrites its own file."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        path = _outbox_path(outbox, job_id)
        handle, temp_name = tempfile.mkstemp(dir=outbox, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(message.as_bytes())
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp_name)
            raise
    except OSError as exc:
        raise DeliveryError(f"could not write the email to the outbox {outbox}: {exc.strerror or exc}") from exc
    return path


def _outbox_path(outbox: Path, job_id: str) -> Path:
    # The file name keeps the time of the first attempt; later attempts find and reuse it.
    suffix = f"_{safe_job_id(job_id)}.eml"
    for existing in outbox.glob(f"*{suffix}"):
        if existing.name.partition("_")[2] == suffix[1:]:
            return existing
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return outbox / f"{stamp}{suffix}"


def _connect(settings: Settings) -> smtplib.SMTP:
    if not settings.smtp_host:  # smtplib would hand back a client connected to nothing
        raise PermanentJobError("WELLQUEUE_SMTP_HOST is not set; set it to send mail by SMTP")
    if settings.smtp_port == SMTPS_PORT:
        return smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
        )
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S)


def _hang_up(client: smtplib.SMTP) -> None:
    # A failed QUIT after an accepted message must not turn into a retry (and a duplicate).
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _classify(exc: Exception, settings: Settings) -> Exception:
    """Map an smtplib/socket failure to a permanent or a retryable error with a readable message."""
    server = f"SMTP server {settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {rcpt: code for rcpt, (code, _text) in exc.recipients.items()}
        summary = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in exc.recipients.items())
        if all(code >= 500 for code in replies.values()):
            return PermanentJobError(f"recipients: the {server} refused every recipient: {summary}")
        return DeliveryError(f"the {server} deferred the recipients: {summary}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentJobError(
            f"the {server} does not offer STARTTLS; set WELLQUEUE_SMTP_STARTTLS=false or use port {SMTPS_PORT}"
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentJobError(
            f"the {server} rejected the login ({_reply(exc.smtp_code, exc.smtp_error)}); "
            "check WELLQUEUE_SMTP_USER and WELLQUEUE_SMTP_PASSWORD"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code >= 500:
            return PermanentJobError(f"the {server} refused the message: {reply}")
        return DeliveryError(f"the {server} deferred the message: {reply}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentJobError(f"the {server} certificate failed verification: {exc.verify_message}")
    return DeliveryError(f"could not talk to the {server}: {exc}")


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())[:200]}"
