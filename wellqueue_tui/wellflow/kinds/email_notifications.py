"""The `email-notifications` queue: render an operator notification and hand it to the mailer.

Each notification type has a small plain-text template (with an HTML alternative built
from the same lines); delivery is SMTP or the .eml outbox, see `wellflow.mailer`. Two shapes are
accepted: WellQueue's (`subject`, `body`, `data`) and WellFlow's (`notificationId`, `message`,
`wellId`), whose subject is derived from the type and message.
"""

from __future__ import annotations

import functools
import html
import json
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from ...jobs.context import JobContext
from ...jobs.kind import JobKind
from ...settings import Settings
from .. import mailer
from .fields import ORGANIZATION_ID, PAYLOAD_CONFIG, Identifier, check_json_object

NotificationType = Literal["alert", "compliance_due", "maintenance_required", "report_ready", "reminder"]
Priority = Literal["urgent", "high", "medium", "low"]

MAX_RECIPIENTS = 50
MAX_DATA_BYTES = 128 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# X-Priority (1 highest .. 5 lowest) and Importance, which mail clients show.
_PRIORITY_HEADERS = {
    "urgent": ("1 (Highest)", "high"),
    "high": ("2 (High)", "high"),
    "medium": ("3 (Normal)", "normal"),
    "low": ("5 (Lowest)", "low"),
}

#: How a derived subject names each type.
TYPE_LABELS = {
    "alert": "Alert",
    "compliance_due": "Compliance due",
    "maintenance_required": "Maintenance required",
    "report_ready": "Report ready",
    "reminder": "Reminder",
}
MAX_SUBJECT = 200


JsonObject = Annotated[dict, AfterValidator(functools.partial(check_json_object, max_bytes=MAX_DATA_BYTES))]


class EmailNotification(BaseModel):
    """One notification to up to 50 recipients."""

    model_config = PAYLOAD_CONFIG

    type: NotificationType
    priority: Priority = "medium"
    recipients: list[Annotated[str, Field(max_length=254)]] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    subject: str | None = Field(default=None, min_length=1, max_length=MAX_SUBJECT)
    body: str = Field(default="", max_length=20_000)
    message: str | None = Field(default=None, max_length=20_000)  # WellFlow's name for the body
    notificationId: Identifier | None = None
    wellId: Identifier | None = None
    data: JsonObject = Field(default_factory=dict)
    organizationId: str | None = Field(default=None, pattern=ORGANIZATION_ID)

    @field_validator("recipients")
    @classmethod
    def _email_addresses(cls, value: list[str]) -> list[str]:
        unique: dict[str, str] = {}
        for index, address in enumerate(value):
            local, _, domain = address.rpartition("@")
            if not _EMAIL.fullmatch(address) or len(local) > 64 or len(domain) > 253:
                raise ValueError(f"recipients[{index}] is not an email address (expected name@example.com)")
            unique.setdefault(address.lower(), address)
        return list(unique.values())

    @field_validator("subject")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise ValueError("subject must be one line without control characters")
        return value

    @model_validator(mode="after")
    def _one_text(self) -> EmailNotification:
        if "body" in self.model_fields_set and self.message is not None:
            raise ValueError("body and message are the same text; give one of them")
        if self.subject is None and not self.text.strip():
            raise ValueError("subject is required when there is no message (it is derived from type and message)")
        return self

    @property
    def text(self) -> str:
        """The message body, whichever name it came under."""
        return self.message if self.message is not None else self.body

    @property
    def subject_line(self) -> str:
        """The given subject, or `{type label}[ for well W]: {first line of the message}`."""
        if self.subject is not None:
            return self.subject
        first_line = next((line for line in self.text.splitlines() if line.strip()), "")
        label = TYPE_LABELS[self.type] + (f" for well {self.wellId}" if self.wellId else "")
        subject = f"{label}: {' '.join(_CONTROL.sub(' ', first_line).split())}"
        return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 1] + "…"


@dataclass
class Section:
    """A titled block of lines; rendered both as text and as HTML."""

    title: str
    lines: list[str] = field(default_factory=list)


def send_notification(payload: EmailNotification, ctx: JobContext) -> dict:
    """Render the notification and deliver it (SMTP or outbox)."""
    ctx.log(f"rendering {payload.type} notification for {len(payload.recipients)} recipient(s)")
    message = render_notification(payload, ctx.job_id, ctx.settings)
    ctx.progress(50)
    delivery = mailer.deliver(message, payload.recipients, ctx.settings, job_id=ctx.job_id)
    where = f"written to {delivery.path}" if delivery.path else f"sent via {ctx.settings.smtp_host}"
    ctx.log(f"{where} ({delivery.recipients} recipient(s))")
    for rcpt, reply in delivery.refused.items():
        ctx.log(f"refused by the SMTP server: {rcpt}: {reply}")
    ctx.progress(100)
    return delivery.as_result()


def render_notification(payload: EmailNotification, job_id: str, settings: Settings) -> EmailMessage:
    """The complete message: headers, text body, HTML alternative and (report_ready) attachment."""
    data = dict(payload.data)
    if payload.wellId:
        data.setdefault("wellId", payload.wellId)
    attachment: Path | None = None
    if payload.type == "report_ready":
        sections, attachment = _report_ready(data, settings)
    else:
        sections = _TEMPLATES[payload.type](data)
    if payload.text:
        sections.insert(0, Section("", payload.text.splitlines()))
    details = _details(data)
    if details.lines:
        sections.append(details)
    reference = _reference(payload)
    if reference.lines:
        sections.append(reference)
    footer = f"Sent by WellQueue for job {job_id}" + (
        f" (organization {payload.organizationId})" if payload.organizationId else ""
    )

    message = EmailMessage()
    subject = payload.subject_line
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(payload.recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = mailer.message_id(job_id, settings.smtp_from)
    message["X-WellQueue-Job"] = job_id
    message["X-WellQueue-Type"] = payload.type
    x_priority, importance = _PRIORITY_HEADERS[payload.priority]
    message["X-Priority"] = x_priority
    message["Importance"] = importance
    if payload.organizationId:
        message["X-WellQueue-Organization"] = payload.organizationId
    if payload.notificationId:
        message["X-WellFlow-Notification-Id"] = payload.notificationId
    if payload.wellId:
        message["X-WellFlow-Well-Id"] = payload.wellId
    message.set_content(_as_text(sections, footer))
    message.add_alternative(_as_html(subject, sections, footer), subtype="html")
    if attachment is not None:
        kind, _ = mimetypes.guess_type(attachment.name)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        message.add_attachment(attachment.read_bytes(), maintype=maintype, subtype=subtype, filename=attachment.name)
    return message


def _alert(data: dict) -> list[Section]:
    intro = Section("", [f"WellQueue raised an alert{_about_well(data)}."])
    issues = data.pop("issues", None)
    found = Section("Issues")
    if isinstance(issues, list) and issues:
        found.lines = [f"- {_issue(issue)}" for issue in issues[:100]]
        if len(issues) > 100:
            found.lines.append(f"- … and {len(issues) - 100} more")
    else:
        found.lines = ["No issue details were attached."]
    return [intro, found]


def _compliance_due(data: dict) -> list[Section]:
    lines = _fields(
        data,
        [
            ("requirement", "Requirement"),
            ("regulation", "Regulation"),
            ("permitNumber", "Permit"),
            ("agency", "Agency"),
            ("dueDate", "Due"),
        ],
    )
    intro = f"A compliance filing is due{_about_well(data)}."
    return [
        Section("", [intro]),
        Section("Filing", lines),
        Section("", ["File it before the due date to avoid a violation."]),
    ]


def _maintenance_required(data: dict) -> list[Section]:
    lines = _fields(
        data,
        [("equipment", "Equipment"), ("reason", "Reason"), ("scheduledDate", "Scheduled"), ("dueDate", "Due")],
    )
    intro = f"Maintenance is required{_about_well(data)}."
    return [
        Section("", [intro]),
        Section("Work", lines),
        Section("", ["Schedule a crew and close the work order when done."]),
    ]


def _reminder(data: dict) -> list[Section]:
    lines = _fields(data, [("task", "Task"), ("dueDate", "Due"), ("owner", "Owner")])
    return [Section("", [f"Reminder{_about_well(data)}."]), Section("", lines)]


def _report_ready(data: dict, settings: Settings) -> tuple[list[Section], Path | None]:
    lines = _fields(data, [("reportType", "Report"), ("format", "Format"), ("period", "Period"), ("rows", "Rows")])
    raw_path = data.pop("reportPath", None)
    attachment: Path | None = None
    if isinstance(raw_path, str) and raw_path:
        attachment, note = _report_attachment(raw_path, settings)
        lines += [f"File: {raw_path}", note]
    else:
        lines.append("No report file was named (data.reportPath).")
    return [Section("", ["Your report is ready."]), Section("Report", lines)], attachment


_TEMPLATES = {
    "alert": _alert,
    "compliance_due": _compliance_due,
    "maintenance_required": _maintenance_required,
    "reminder": _reminder,
}


def _report_attachment(raw_path: str, settings: Settings) -> tuple[Path | None, str]:
    """Attach only files inside the reports folder: a payload must not mail out arbitrary files."""
    reports = settings.reports_dir.resolve()
    path = Path(raw_path)
    resolved = (path if path.is_absolute() else reports / path).resolve()
    if not resolved.is_relative_to(reports):
        return None, f"Not attached: only files in {reports} are attached."
    if not resolved.is_file():
        return None, "Not attached: the file does not exist (yet)."
    size = resolved.stat().st_size
    if size >= MAX_ATTACHMENT_BYTES:
        return None, f"Not attached: {size / 1_048_576:.1f} MB is over the 10 MB limit; open it from the path above."
    return resolved, f"Attached: {resolved.name} ({max(1, size // 1024)} KB)."


def _reference(payload: EmailNotification) -> Section:
    """The sender's own ids, so a reply or a search finds the notification and the well."""
    lines = []
    if payload.notificationId:
        lines.append(f"Notification: {payload.notificationId}")
    if payload.wellId:
        lines.append(f"Well: {payload.wellId}")
    return Section("Reference", lines)


def _about_well(data: dict) -> str:
    well = data.pop("wellId", None)
    if not well:
        return ""
    county, state = data.pop("county", None), data.pop("state", None)
    place = ", ".join(str(part) for part in (county, state) if part)
    return f" for well {_short(well)}" + (f" ({_short(place)})" if place else "")


def _fields(data: dict, labels: list[tuple[str, str]]) -> list[str]:
    return [f"{label}: {_short(data.pop(key))}" for key, label in labels if data.get(key) not in (None, "")]


def _details(data: dict) -> Section:
    items = list(data.items())
    lines = [f"{key}: {_short(value)}" for key, value in items[:50]]
    if len(items) > 50:
        lines.append(f"… and {len(items) - 50} more fields")
    return Section("Details", lines)


def _issue(issue: Any) -> str:
    if isinstance(issue, dict):
        label = issue.get("field") or issue.get("code") or ""
        text = issue.get("message") or issue.get("error") or json.dumps(issue, ensure_ascii=False)
        line = f"{label}: {text}" if label else str(text)
        if issue.get("severity") == "warning":
            line = f"(warning) {line}"
        if issue.get("wellId"):
            line = f"well {issue['wellId']}: {line}"
        return _short(line)
    return _short(issue)


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_text(sections: list[Section], footer: str) -> str:
    blocks = []
    for section in sections:
        heading = [section.title, "-" * len(section.title)] if section.title else []
        blocks.append("\n".join(heading + section.lines))
    return "\n\n".join(blocks) + f"\n\n-- \n{footer}\n"


def _as_html(subject: str, sections: list[Section], footer: str) -> str:
    parts = [f"<h2>{html.escape(subject)}</h2>"]
    for section in sections:
        if section.title:
            parts.append(f"<h3>{html.escape(section.title)}</h3>")
        parts.append("<p>" + "<br>\n".join(html.escape(line) for line in section.lines) + "</p>")
    parts.append(f'<hr><p style="color:#666">{html.escape(footer)}</p>')
    body = "\n".join(parts)
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>\n'


#: E-mail priorities map onto job priorities so urgent alerts jump the queue (1 = highest).
JOB_PRIORITY = {"urgent": 1, "high": 2}


def job_priority(payload: EmailNotification) -> int | None:
    """The job priority an e-mail's own priority asks for; None keeps the queue's default."""
    return JOB_PRIORITY.get(payload.priority)


KIND = JobKind(
    name="send_notification",
    queue="email-notifications",
    payload=EmailNotification,
    process=send_notification,
    max_attempts=5,
    backoff_ms=2000,
    timeout_ms=2 * 60_000,
    priority_of=job_priority,
    example={
        "notificationId": "NOTIF-1",
        "type": "report_ready",
        "message": "Safety inspection overdue",
        "recipients": ["safety@wellflow.com"],
        "priority": "medium",
        "wellId": "WELL-5012",
        "organizationId": "ORG-4",
    },
)
