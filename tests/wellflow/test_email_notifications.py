"""Email notifications: payload rules, rendering per type, outbox files and SMTP delivery against a local server."""

from __future__ import annotations

import base64
import email
import email.policy
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from wellqueue_tui.jobs import prepare_message
from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import PermanentJobError
from wellqueue_tui.settings import Settings
from wellqueue_tui.wellflow.kinds.email_notifications import KIND, EmailNotification, send_notification
from wellqueue_tui.wellflow.mailer import DeliveryError


@dataclass
class RecordingSink:
    progress_calls: list[float] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def progress(self, job_id: str, percent: float) -> None:
        self.progress_calls.append(percent)

    def log(self, job_id: str, line: str) -> None:
        self.lines.append(line)

    def enqueue(self, queue_or_kind: str, payload: dict, **options) -> str:
        raise AssertionError("email notifications enqueue nothing")


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = dict(
        data_dir=tmp_path,
        smtp_host=None,
        smtp_user=None,
        smtp_password=None,
        smtp_from="wellqueue@ops.example.com",
        smtp_starttls=False,
    )
    values.update(overrides)
    return Settings(**values)


def make_context(settings: Settings, job_id: str = "job-1", attempt: int = 1) -> JobContext:
    return JobContext(job_id, "email-notifications", attempt, settings, RecordingSink())


def notification(**overrides) -> EmailNotification:
    values = dict(type="alert", recipients=["ops@permian.example.com"], subject="Production anomaly on WELL-TX-0004")
    values.update(overrides)
    return EmailNotification.model_validate(values)


def outbox_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.outbox_dir.iterdir() if not p.name.startswith("."))


def parse(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def text_and_html(message: email.message.EmailMessage) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


# --- payload rules ------------------------------------------------------------------------


def error_fields(exc: ValidationError) -> set[str]:
    return {str(err["loc"][0]) for err in exc.errors()}


def test_kind_wiring() -> None:
    assert (KIND.name, KIND.queue, KIND.max_attempts, KIND.backoff_ms) == (
        "send_notification",
        "email-notifications",
        5,
        2000,
    )
    assert KIND.payload is EmailNotification and KIND.process is send_notification


@pytest.mark.parametrize(("priority", "job_priority"), [("urgent", 1), ("high", 2), ("medium", None), ("low", None)])
def test_email_priority_becomes_the_job_priority_unless_the_caller_sets_one(priority: str, job_priority) -> None:
    broker = SimpleNamespace(kinds={KIND.queue: KIND})
    payload = {"type": "alert", "priority": priority, "recipients": ["ops@permian.example.com"], "subject": "Alert"}
    message, _delay = prepare_message(broker, KIND.queue, payload)
    assert message.options.get("wq_priority") == job_priority
    message, _delay = prepare_message(broker, KIND.queue, payload, priority=9)
    assert message.options["wq_priority"] == 9


def test_defaults_and_recipient_dedupe() -> None:
    payload = notification(
        recipients=[" Ops@permian.example.com ", "ops@permian.example.com", "hse@permian.example.com"]
    )
    assert payload.priority == "medium" and payload.body == "" and payload.data == {}
    assert payload.recipients == ["Ops@permian.example.com", "hse@permian.example.com"]


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"type": "newsletter"}, "type"),
        ({"priority": "critical"}, "priority"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["ops@permian.example.com", "not-an-address"]}, "recipients"),
        ({"recipients": ["ops@permian.example.com\r\nBcc: x@evil.example"]}, "recipients"),
        ({"recipients": [f"u{i}@x.example.com" for i in range(51)]}, "recipients"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "hello\r\nBcc: victim@example.com"}, "subject"),
        ({"body": "x" * 20_001}, "body"),
        ({"data": {"blob": "x" * 140_000}}, "data"),
        ({"data": {"bad": {1, 2}}}, "data"),
        ({"data": {"n": float("nan")}}, "data"),
        ({"organizationId": "has spaces"}, "organizationId"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_payload_names_the_field(overrides: dict, field_name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        notification(**overrides)
    assert field_name in error_fields(caught.value)


def test_invalid_recipient_error_says_which_and_hides_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        notification(recipients=["ops@permian.example.com", "secret-token-value"])
    text = str(caught.value)
    assert "recipients[1] is not an email address" in text
    assert "secret-token-value" not in text


def test_hostile_nesting_is_rejected_without_recursion_error() -> None:
    deep: list = []
    node = deep
    for _ in range(100_000):
        node.append([])
        node = node[0]
    with pytest.raises(ValidationError) as caught:
        notification(data={"deep": deep})
    assert error_fields(caught.value) == {"data"}


# --- rendering into the outbox ------------------------------------------------------------

TYPE_CASES = {
    "alert": (
        {
            "wellId": "WELL-TX-0004",
            "county": "Midland",
            "state": "TX",
            "issues": ["Water cut 92% is above the 85% threshold", {"field": "production.oil", "message": "negative"}],
        },
        ["Water cut 92% is above the 85% threshold", "production.oil: negative", "WELL-TX-0004 (Midland, TX)"],
    ),
    "compliance_due": (
        {
            "wellId": "WELL-TX-0002",
            "requirement": "RRC Form PR",
            "agency": "Railroad Commission of Texas",
            "dueDate": "2025-03-15",
        },
        ["Requirement: RRC Form PR", "Agency: Railroad Commission of Texas", "Due: 2025-03-15"],
    ),
    "maintenance_required": (
        {"wellId": "WELL-ND-0001", "equipment": "rod pump", "reason": "fluid pound", "scheduledDate": "2025-03-02"},
        ["Equipment: rod pump", "Reason: fluid pound", "Scheduled: 2025-03-02"],
    ),
    "report_ready": (
        {"reportType": "production_daily", "format": "csv", "reportPath": "daily.csv"},
        ["Report: production_daily", "File: daily.csv", "Attached: daily.csv"],
    ),
    "reminder": (
        {"task": "Enter flare volumes", "dueDate": "2025-03-05", "owner": "production engineering"},
        ["Task: Enter flare volumes", "Due: 2025-03-05", "Owner: production engineering"],
    ),
}


@pytest.mark.parametrize("notification_type", list(TYPE_CASES))
def test_each_type_lands_as_a_parseable_eml(tmp_path: Path, notification_type: str) -> None:
    settings = make_settings(tmp_path)
    settings.reports_dir.mkdir(parents=True)
    (settings.reports_dir / "daily.csv").write_text("wellId,oil\nWELL-TX-0001,412.5\n")
    data, expected_lines = TYPE_CASES[notification_type]
    payload = notification(
        type=notification_type,
        priority="urgent",
        data={**data, "extra": "<b>kept</b>"},
        body="Free text from the producer.",
        organizationId="permian-ops",
    )
    ctx = make_context(settings, job_id="cron:daily:2025-03-01T06:00:00Z")

    result = send_notification(payload, ctx)

    [path] = outbox_files(settings)
    assert result == {"delivery": "outbox", "recipients": 1, "path": str(path)}
    assert path.name.endswith(".eml") and ":" not in path.name
    message = parse(path)
    assert message["X-WellQueue-Job"] == "cron:daily:2025-03-01T06:00:00Z"
    assert message["X-Priority"].startswith("1")
    assert message["Subject"] == payload.subject
    assert message["To"] == "ops@permian.example.com"
    assert message["From"] == "wellqueue@ops.example.com"
    assert message["Message-ID"].endswith("@ops.example.com>") and "cron_daily" in message["Message-ID"]
    assert message["X-WellQueue-Organization"] == "permian-ops"
    text, html = text_and_html(message)
    for line in expected_lines:
        assert line in text
    assert "Free text from the producer." in text
    assert "extra: <b>kept</b>" in text  # unused data still reaches the reader, as plain text
    assert "&lt;b&gt;kept&lt;/b&gt;" in html and "<b>kept</b>" not in html
    assert ctx._sink.progress_calls[-1] == 100


def test_report_ready_attaches_the_report(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.reports_dir.mkdir(parents=True)
    (settings.reports_dir / "production_daily.csv").write_bytes(b"wellId,oil\nWELL-TX-0001,412.5\n")
    payload = notification(
        type="report_ready",
        subject="Report ready",
        data={"reportType": "production_daily", "reportPath": "production_daily.csv"},
    )
    send_notification(payload, make_context(settings))
    [attachment] = list(parse(outbox_files(settings)[0]).iter_attachments())
    assert attachment.get_filename() == "production_daily.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == b"wellId,oil\nWELL-TX-0001,412.5\n"


@pytest.mark.parametrize("case", ["outside", "traversal", "missing", "too_big"])
def test_report_ready_does_not_attach_unsafe_or_unusable_files(tmp_path: Path, case: str) -> None:
    settings = make_settings(tmp_path)
    settings.reports_dir.mkdir(parents=True)
    secret = tmp_path / "credentials.txt"
    secret.write_text("do not mail me")
    big = settings.reports_dir / "huge.pdf"
    with big.open("wb") as handle:
        handle.truncate(10 * 1024 * 1024)
    report_path = {
        "outside": str(secret),
        "traversal": "../credentials.txt",
        "missing": "nope.csv",
        "too_big": "huge.pdf",
    }[case]
    payload = notification(type="report_ready", subject="Report ready", data={"reportPath": report_path})
    send_notification(payload, make_context(settings))
    message = parse(outbox_files(settings)[0])
    assert list(message.iter_attachments()) == []
    assert "Not attached" in text_and_html(message)[0]


def test_same_job_id_twice_gives_one_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = send_notification(notification(subject="first"), make_context(settings, "job-42", attempt=1))
    second = send_notification(notification(subject="second"), make_context(settings, "job-42", attempt=2))
    assert first["path"] == second["path"]
    [path] = outbox_files(settings)
    assert parse(path)["Subject"] == "second"
    send_notification(notification(), make_context(settings, "job-43"))
    assert len(outbox_files(settings)) == 2


def test_similar_job_ids_do_not_share_a_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    send_notification(notification(), make_context(settings, "a:b"))
    send_notification(notification(), make_context(settings, "a_b"))
    assert len(outbox_files(settings)) == 2


def test_unwritable_outbox_raises_a_retryable_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.outbox_dir.write_text("a file where the outbox folder should be")
    with pytest.raises(DeliveryError, match="outbox") as caught:
        send_notification(notification(), make_context(settings))
    assert not isinstance(caught.value, PermanentJobError)


# --- SMTP against a small local server ----------------------------------------------------


@dataclass
class SmtpSink:
    """Behaviour and record of the test SMTP server."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> reply line
    data_reply: str = "250 2.0.0 queued"
    password: str | None = None
    drop_after_mail: bool = False


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT) to exercise smtplib for real."""

    timeout = 5

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        sink: SmtpSink = self.server.sink
        sender, rcpts = "", []
        self.reply("220 test.local ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                auth = ["250-AUTH PLAIN"] if sink.password is not None else []
                for extension in ["250-test.local", *auth]:
                    self.reply(extension)
                self.reply("250 SIZE 50000000")
            elif verb == "HELO":
                self.reply("250 test.local")
            elif verb == "AUTH":
                _, _mechanism, blob = command.split(" ", 2)
                _, _, password = base64.b64decode(blob).decode().split("\0")
                self.reply("235 2.7.0 ok" if password == sink.password else "535 5.7.8 bad credentials")
            elif verb == "MAIL":
                if sink.drop_after_mail:
                    return
                sender, rcpts = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>")
                answer = sink.rcpt_replies.get(address, "250 2.1.5 ok")
                if answer.startswith("250"):
                    rcpts.append(address)
                self.reply(answer)
            elif verb == "DATA":
                self.reply("354 end with .")
                chunks = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    chunks.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                if self.server.sink.data_reply.startswith("250"):
                    sink.messages.append((sender, rcpts, b"".join(chunks)))
                self.reply(sink.data_reply)
            elif verb == "RSET":
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpSink, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    server.daemon_threads = True
    server.sink = SmtpSink()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.sink, server.server_address[1]
    server.shutdown()
    server.server_close()


def smtp_settings(tmp_path: Path, port: int, **overrides) -> Settings:
    return make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port, **overrides)


def test_smtp_delivers_to_every_recipient(tmp_path: Path, smtp_server: tuple[SmtpSink, int]) -> None:
    sink, port = smtp_server
    settings = smtp_settings(tmp_path, port)
    payload = notification(recipients=["ops@permian.example.com", "hse@permian.example.com"], priority="low")
    result = send_notification(payload, make_context(settings, "job-7"))
    assert result == {"delivery": "smtp", "recipients": 2}
    [(sender, rcpts, raw)] = sink.messages
    assert sender == "wellqueue@ops.example.com"
    assert rcpts == ["ops@permian.example.com", "hse@permian.example.com"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["X-WellQueue-Job"] == "job-7" and message["X-Priority"].startswith("5")
    assert not settings.outbox_dir.exists()


def test_smtp_login(tmp_path: Path, smtp_server: tuple[SmtpSink, int]) -> None:
    sink, port = smtp_server
    sink.password = "s3cret"
    good = smtp_settings(tmp_path, port, smtp_user="wellqueue", smtp_password="s3cret")
    assert send_notification(notification(), make_context(good))["delivery"] == "smtp"
    bad = smtp_settings(tmp_path, port, smtp_user="wellqueue", smtp_password="wrong")
    with pytest.raises(PermanentJobError, match="WELLQUEUE_SMTP_PASSWORD"):
        send_notification(notification(), make_context(bad))


def test_smtp_permanent_recipient_refusal_is_permanent(tmp_path: Path, smtp_server: tuple[SmtpSink, int]) -> None:
    sink, port = smtp_server
    sink.rcpt_replies["gone@permian.example.com"] = "550 5.1.1 no such user"
    with pytest.raises(PermanentJobError, match="recipients") as caught:
        send_notification(
            notification(recipients=["gone@permian.example.com"]), make_context(smtp_settings(tmp_path, port))
        )
    assert "550" in str(caught.value)
    assert sink.messages == []


def test_smtp_partial_refusal_delivers_to_the_rest(tmp_path: Path, smtp_server: tuple[SmtpSink, int]) -> None:
    sink, port = smtp_server
    sink.rcpt_replies["gone@permian.example.com"] = "550 5.1.1 no such user"
    payload = notification(recipients=["ops@permian.example.com", "gone@permian.example.com"])
    ctx = make_context(smtp_settings(tmp_path, port))
    result = send_notification(payload, ctx)
    assert result["recipients"] == 1 and set(result["refused"]) == {"gone@permian.example.com"}
    assert sink.messages[0][1] == ["ops@permian.example.com"]
    assert any("gone@permian.example.com" in line for line in ctx._sink.lines)


@pytest.mark.parametrize(
    ("configure", "permanent"),
    [
        (lambda sink: sink.rcpt_replies.update({"ops@permian.example.com": "450 4.2.1 mailbox busy"}), False),
        (lambda sink: setattr(sink, "data_reply", "451 4.3.0 try again later"), False),
        (lambda sink: setattr(sink, "data_reply", "554 5.6.0 message rejected"), True),
        (lambda sink: setattr(sink, "drop_after_mail", True), False),
    ],
    ids=["rcpt-4xx", "data-4xx", "data-5xx", "dropped-connection"],
)
def test_smtp_failures_are_classified(
    tmp_path: Path, smtp_server: tuple[SmtpSink, int], configure, permanent: bool
) -> None:
    sink, port = smtp_server
    configure(sink)
    with pytest.raises(Exception) as caught:
        send_notification(notification(), make_context(smtp_settings(tmp_path, port)))
    assert isinstance(caught.value, PermanentJobError) is permanent
    assert isinstance(caught.value, (PermanentJobError, DeliveryError))
    assert sink.messages == []


def test_smtp_starttls_missing_is_permanent(tmp_path: Path, smtp_server: tuple[SmtpSink, int]) -> None:
    _sink, port = smtp_server
    with pytest.raises(PermanentJobError, match="WELLQUEUE_SMTP_STARTTLS"):
        send_notification(notification(), make_context(smtp_settings(tmp_path, port, smtp_starttls=True)))


def test_smtp_connection_refused_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError, match=r"SMTP server 127.0.0.1"):
        send_notification(notification(), make_context(smtp_settings(tmp_path, port)))


# --- WellFlow's shape: notificationId, message, wellId, no subject ----------------------------------

WELLFLOW = {
    "notificationId": "NOTIF-1758639909793-40",
    "type": "report_ready",
    "message": "Safety inspection overdue",
    "recipients": ["safety@wellflow.com", "field@wellflow.com"],
    "priority": "urgent",
    "wellId": "WELL-5012",
    "organizationId": "ORG-4",
}


@pytest.mark.parametrize(
    ("changes", "subject"),
    [
        ({}, "Report ready for well WELL-5012: Safety inspection overdue"),
        ({"type": "alert", "wellId": None}, "Alert: Safety inspection overdue"),
        ({"message": "\n  First   line\nsecond line"}, "Report ready for well WELL-5012: First line"),
        ({"message": "x" * 500}, None),
        ({"subject": "Given subject"}, "Given subject"),
    ],
)
def test_subject_is_derived_from_type_and_message(changes: dict, subject: str | None) -> None:
    payload = EmailNotification.model_validate({k: v for k, v in {**WELLFLOW, **changes}.items() if v is not None})
    if subject is None:
        assert len(payload.subject_line) == 200 and payload.subject_line.endswith("…")
    else:
        assert payload.subject_line == subject


def test_wellflow_notification_renders_ids_in_headers_and_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    send_notification(EmailNotification.model_validate(WELLFLOW), make_context(settings))
    [path] = outbox_files(settings)
    message = parse(path)
    text, html_part = text_and_html(message)
    assert message["Subject"] == "Report ready for well WELL-5012: Safety inspection overdue"
    assert message["X-WellFlow-Notification-Id"] == "NOTIF-1758639909793-40"
    assert message["X-WellFlow-Well-Id"] == "WELL-5012"
    assert text.startswith("Safety inspection overdue")
    assert "Notification: NOTIF-1758639909793-40" in text and "Well: WELL-5012" in text
    assert "Safety inspection overdue" in html_part


def test_alert_with_a_top_level_well_names_it_in_the_intro(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    send_notification(EmailNotification.model_validate({**WELLFLOW, "type": "alert"}), make_context(settings))
    text, _ = text_and_html(parse(outbox_files(settings)[0]))
    assert "WellQueue raised an alert for well WELL-5012." in text


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"body": "also a body"}, "body and message are the same text"),
        ({"message": None}, "subject is required when there is no message"),
        ({"message": "   "}, "subject is required when there is no message"),
        ({"mesage": "typo"}, "mesage"),
        ({"notificationId": "bad\nid"}, "notificationId"),
        ({"wellId": "x" * 65}, "wellId"),
    ],
)
def test_wellflow_shape_still_refuses_what_is_wrong(changes: dict, problem: str) -> None:
    data = {k: v for k, v in {**WELLFLOW, **changes}.items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        EmailNotification.model_validate(data)
    assert problem in str(caught.value)
