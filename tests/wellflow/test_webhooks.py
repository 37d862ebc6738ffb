"""Webhooks: signing and verification, delivery to a local receiver, SSRF refusals and the https rule."""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import PermanentJobError
from wellqueue_tui.settings import Settings
from wellqueue_tui.wellflow import webhook_signing
from wellqueue_tui.wellflow.kinds import webhooks
from wellqueue_tui.wellflow.kinds.webhooks import (
    KIND,
    WEBHOOK_SECRET_FILE,
    WebhookDelivery,
    WebhookError,
    deliver_webhook,
    signing_secret,
)
from wellqueue_tui.wellflow.webhook_signing import SignatureError, sign, verify

SECRET = "whsec-test-0123456789abcdef"


@dataclass
class RecordingSink:
    lines: list[str] = field(default_factory=list)
    progress_calls: list[float] = field(default_factory=list)

    def progress(self, job_id: str, percent: float) -> None:
        self.progress_calls.append(percent)

    def log(self, job_id: str, line: str) -> None:
        self.lines.append(line)

    def enqueue(self, queue_or_kind: str, payload: dict, **options) -> str:
        raise AssertionError("webhooks enqueue nothing")


def make_context(tmp_path: Path, job_id: str = "delivery-1", **settings) -> JobContext:
    values = dict(data_dir=tmp_path, webhook_secret=SECRET, webhook_allowed_networks=["127.0.0.1/32"])
    values.update(settings)
    return JobContext(job_id, "webhooks", 1, Settings(**values), RecordingSink())


def delivery(url: str = "https://hooks.example.com/wellqueue", **overrides) -> WebhookDelivery:
    values = dict(url=url, event="well.validated", data={"wellId": "WELL-TX-0001", "oil": 412.5})
    values.update(overrides)
    return WebhookDelivery.model_validate(values)


# --- signing -----------------------------------------------------------------------------

NOW = 1_750_000_000
BODY = b'{"id":"d-1","event":"well.validated","data":{"wellId":"WELL-TX-0001"}}'


def signed_headers(secret: str = SECRET, delivery_id: str = "d-1", timestamp: int = NOW, body: bytes = BODY) -> dict:
    return {
        "X-WellQueue-Delivery": delivery_id,
        "X-WellQueue-Timestamp": str(timestamp),
        "X-WellQueue-Signature": sign(secret.encode(), delivery_id, timestamp, body),
    }


def test_round_trip_and_case_insensitive_headers() -> None:
    headers = signed_headers()
    verify(SECRET, headers, BODY, now=NOW)
    verify(SECRET.encode(), {k.lower(): v for k, v in headers.items()}, BODY, now=NOW + 299)
    assert headers["X-WellQueue-Signature"].startswith("v1=") and len(headers["X-WellQueue-Signature"]) == 67


def test_signature_covers_the_delivery_id() -> None:
    headers = signed_headers()
    moved = dict(headers, **{"X-WellQueue-Delivery": "d-2"})
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, moved, BODY, now=NOW)


def mutate(rng: random.Random, headers: dict, body: bytes) -> tuple[dict, bytes]:
    headers = dict(headers)
    target = rng.choice(["body", "timestamp", "delivery", "signature"])
    if target == "body":
        data = bytearray(body)
        action = rng.choice(["flip", "append", "truncate"])
        if action == "flip":
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif action == "append":
            data += bytes([rng.randrange(256)])
        else:
            del data[rng.randrange(len(data)) :]
        return headers, bytes(data)
    if target == "timestamp":  # still inside the tolerance, so only the signature can catch it
        headers["X-WellQueue-Timestamp"] = str(NOW + rng.choice([-1, 1]) * rng.randint(1, 290))
    elif target == "delivery":
        original = headers["X-WellQueue-Delivery"]
        headers["X-WellQueue-Delivery"] = (
            original + rng.choice("abcxyz019-") if rng.random() < 0.5 else original[:-1] + "z"
        )
    else:
        signature = list(headers["X-WellQueue-Signature"])
        position = rng.randrange(3, len(signature))
        signature[position] = rng.choice([c for c in "0123456789abcdef" if c != signature[position]])
        headers["X-WellQueue-Signature"] = "".join(signature)
    return headers, body


def test_a_thousand_mutations_are_all_rejected() -> None:
    rng = random.Random(20250301)
    headers = signed_headers()
    rejected = 0
    for _ in range(1000):
        mutated_headers, mutated_body = mutate(rng, headers, BODY)
        assert (mutated_headers, mutated_body) != (headers, BODY)
        with pytest.raises(SignatureError):
            verify(SECRET, mutated_headers, mutated_body, now=NOW)
        rejected += 1
    assert rejected == 1000


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_stale_or_future_timestamps_are_rejected(skew: int) -> None:
    headers = signed_headers(timestamp=NOW + skew)  # correctly signed, just outside the window
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("skew", [-299, 0, 299])
def test_timestamps_inside_the_window_are_accepted(skew: int) -> None:
    verify(SECRET, signed_headers(timestamp=NOW + skew), BODY, now=NOW)


def test_replayed_delivery_id_is_rejected_with_a_set() -> None:
    seen: set[str] = set()
    verify(SECRET, signed_headers(), BODY, now=NOW, seen_delivery_ids=seen)
    assert seen == {"d-1"}
    with pytest.raises(SignatureError, match="replay"):
        verify(SECRET, signed_headers(timestamp=NOW + 5), BODY, now=NOW + 5, seen_delivery_ids=seen)


def test_replayed_delivery_id_is_rejected_with_a_callable() -> None:
    recorded: list[str] = []

    def already_seen(delivery_id: str) -> bool:
        if delivery_id in recorded:
            return True
        recorded.append(delivery_id)
        return False

    verify(SECRET, signed_headers(), BODY, now=NOW, seen_delivery_ids=already_seen)
    with pytest.raises(SignatureError, match="replay"):
        verify(SECRET, signed_headers(), BODY, now=NOW, seen_delivery_ids=already_seen)


def test_forged_requests_do_not_fill_the_replay_memory() -> None:
    seen: set[str] = set()
    with pytest.raises(SignatureError):
        verify("wrong-secret", signed_headers(), BODY, now=NOW, seen_delivery_ids=seen)
    assert seen == set()


def test_rotation_accepts_the_previous_secret() -> None:
    old_headers = signed_headers(secret="old-secret")
    verify(["new-secret", "old-secret"], old_headers, BODY, now=NOW)
    verify(["new-secret", "old-secret"], signed_headers(secret="new-secret"), BODY, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify("new-secret", old_headers, BODY, now=NOW)


def test_several_signatures_in_one_header() -> None:
    headers = signed_headers(secret="new-secret")
    headers["X-WellQueue-Signature"] = sign(b"old-secret", "d-1", NOW, BODY) + " " + headers["X-WellQueue-Signature"]
    verify("new-secret", headers, BODY, now=NOW)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("X-WellQueue-Signature", None, "missing"),
        ("X-WellQueue-Timestamp", None, "missing"),
        ("X-WellQueue-Delivery", None, "missing"),
        ("X-WellQueue-Timestamp", "1750000000.5", "malformed"),
        ("X-WellQueue-Timestamp", "-1750000000", "malformed"),
        ("X-WellQueue-Timestamp", "", "malformed"),
        ("X-WellQueue-Signature", "", "malformed"),
        ("X-WellQueue-Signature", "sha256=abc", "malformed"),
        ("X-WellQueue-Signature", "v1=" + "0" * 63, "malformed"),
        ("X-WellQueue-Signature", "v2=" + "0" * 64, "no v1 signature"),
        ("X-WellQueue-Delivery", "", "malformed"),
        ("X-WellQueue-Delivery", "has space", "malformed"),
    ],
)
def test_malformed_headers_are_rejected(header: str, value: str | None, reason: str) -> None:
    headers = signed_headers()
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, headers, BODY, now=NOW)


def test_verify_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = webhook_signing.hmac.compare_digest
    monkeypatch.setattr(webhook_signing.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    verify(SECRET, signed_headers(), BODY, now=NOW)
    assert calls


# --- payload rules -------------------------------------------------------------------------


def test_kind_wiring() -> None:
    assert (KIND.name, KIND.queue, KIND.max_attempts, KIND.backoff_ms) == ("deliver_webhook", "webhooks", 5, 2000)
    assert KIND.payload is WebhookDelivery and KIND.process is deliver_webhook


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "hooks.example.com/x"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://user:pass@hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com:99999/x"}, "url"),
        ({"url": "https://hooks.example.com/a b"}, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2048}, "url"),
        ({"event": ""}, "event"),
        ({"event": "x" * 101}, "event"),
        ({"event": "well validated\n"}, "event"),
        ({"data": {"blob": "x" * 300_000}}, "data"),
        ({"data": "not an object"}, "data"),
        ({"secret": "x"}, "secret"),
    ],
)
def test_invalid_payload_names_the_field(overrides: dict, field_name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        delivery(**overrides)
    assert field_name in {str(err["loc"][0]) for err in caught.value.errors()}


def test_data_is_required() -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookDelivery.model_validate({"url": "https://hooks.example.com/x", "event": "a"})
    assert {str(err["loc"][0]) for err in caught.value.errors()} == {"data"}


# --- delivery to a local receiver ----------------------------------------------------------


@dataclass
class Receiver:
    port: int
    received: list[dict] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class ReceiverHandler(BaseHTTPRequestHandler):
    """Verifies every delivery like a real subscriber, then answers according to the path."""

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify(SECRET, self.headers, body, seen_delivery_ids=receiver.seen)
            verdict = "verified"
        except SignatureError as exc:
            verdict = exc.reason
        headers = {name.lower(): value for name, value in self.headers.items()}
        receiver.received.append({"path": self.path, "headers": headers, "body": body, "verdict": verdict})
        if self.path == "/slow":
            time.sleep(1.5)
        status = {"/ok": 200, "/accepted": 202, "/fail": 500, "/busy": 429, "/missing": 404, "/moved": 302}.get(
            self.path, 200
        )
        if verdict != "verified":
            status = 401
        self.send_response(status)
        if status == 302:
            self.send_header("Location", receiver.url("/ok"))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the sender gave up (the timeout test)
            self.wfile.write(f"{verdict}\n".encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ReceiverHandler)
    server.daemon_threads = True
    server.receiver = Receiver(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.receiver
    server.shutdown()
    server.server_close()


def test_successful_delivery_is_signed_and_verified(tmp_path: Path, receiver: Receiver) -> None:
    ctx = make_context(tmp_path, job_id="job-77")
    result = deliver_webhook(delivery(receiver.url("/ok"), organizationId="permian-ops"), ctx)
    assert result["status"] == 200 and isinstance(result["ms"], int)
    [request] = receiver.received
    assert request["verdict"] == "verified"
    headers = request["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "WellQueue/0.1"
    assert headers["x-wellqueue-delivery"] == "job-77"
    assert abs(int(headers["x-wellqueue-timestamp"]) - time.time()) < 5
    assert headers["x-wellqueue-signature"].startswith("v1=")
    assert json.loads(request["body"]) == {
        "id": "job-77",
        "event": "well.validated",
        "organizationId": "permian-ops",
        "data": {"wellId": "WELL-TX-0001", "oil": 412.5},
    }
    assert ctx._sink.progress_calls == [100]


def test_any_2xx_is_success(tmp_path: Path, receiver: Receiver) -> None:
    assert deliver_webhook(delivery(receiver.url("/accepted")), make_context(tmp_path))["status"] == 202


@pytest.mark.parametrize("path", ["/fail", "/busy"])
def test_server_errors_and_throttling_are_retryable(tmp_path: Path, receiver: Receiver, path: str) -> None:
    with pytest.raises(WebhookError, match=r"answered (500|429)") as caught:
        deliver_webhook(delivery(receiver.url(path)), make_context(tmp_path))
    assert not isinstance(caught.value, PermanentJobError)
    assert receiver.received[0]["verdict"] == "verified"


def test_client_errors_are_permanent(tmp_path: Path, receiver: Receiver) -> None:
    with pytest.raises(PermanentJobError, match="answered 404"):
        deliver_webhook(delivery(receiver.url("/missing")), make_context(tmp_path))


def test_wrong_secret_is_refused_by_the_receiver(tmp_path: Path, receiver: Receiver) -> None:
    with pytest.raises(PermanentJobError, match="401"):
        deliver_webhook(delivery(receiver.url("/ok")), make_context(tmp_path, webhook_secret="not-the-shared-one"))
    assert receiver.received[0]["verdict"] == "signature does not match"


def test_redirects_are_refused_not_followed(tmp_path: Path, receiver: Receiver) -> None:
    with pytest.raises(PermanentJobError, match=r"302.*redirects are not followed"):
        deliver_webhook(delivery(receiver.url("/moved")), make_context(tmp_path))
    assert [r["path"] for r in receiver.received] == ["/moved"]


def test_timeouts_are_retryable(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_S", 0.3)
    with pytest.raises(WebhookError, match="could not deliver"):
        deliver_webhook(delivery(receiver.url("/slow")), make_context(tmp_path))


def test_connection_refused_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WebhookError, match=r"could not deliver to http://127.0.0.1"):
        deliver_webhook(delivery(f"http://127.0.0.1:{port}/hook"), make_context(tmp_path))


def test_a_retry_is_a_new_timestamp_under_the_same_delivery_id(tmp_path: Path, receiver: Receiver) -> None:
    with pytest.raises(WebhookError):
        deliver_webhook(delivery(receiver.url("/fail")), make_context(tmp_path, job_id="job-5"))
    first = receiver.received[0]["headers"]
    receiver.seen.clear()  # the receiver only remembers deliveries it accepted; a 500 was not one
    deliver_webhook(delivery(receiver.url("/ok")), make_context(tmp_path, job_id="job-5"))
    second = receiver.received[1]["headers"]
    assert first["x-wellqueue-delivery"] == second["x-wellqueue-delivery"] == "job-5"
    assert receiver.received[1]["verdict"] == "verified"


def test_missing_secret_is_permanent(tmp_path: Path, receiver: Receiver) -> None:
    """Outside dev mode (here: an external Redis is configured) nothing makes up a secret."""
    settings = dict(webhook_secret=None, redis_url="redis://redis.example.com:6379")
    with pytest.raises(PermanentJobError, match="WELLQUEUE_WEBHOOK_SECRET"):
        deliver_webhook(delivery(receiver.url("/ok")), make_context(tmp_path, **settings))
    assert receiver.received == []
    assert not (tmp_path / WEBHOOK_SECRET_FILE).exists()


#: A local session: embedded Redis, no token key, no webhook secret (see auth.secrets.is_dev_mode).
DEV_MODE = dict(webhook_secret=None, redis_url=None, jwt_secret=None, jwt_public_key_file=None)


def test_dev_mode_signs_with_a_secret_generated_in_the_data_dir(tmp_path: Path, receiver: Receiver) -> None:
    """Embedded Redis and no secrets configured: a 0600 secret is made once, like the token secret."""
    with pytest.raises(PermanentJobError, match="401"):  # the test receiver shares SECRET, not this one
        deliver_webhook(delivery(receiver.url("/ok")), make_context(tmp_path, **DEV_MODE))
    secret_file = tmp_path / WEBHOOK_SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    generated = secret_file.read_bytes().strip()
    assert len(generated) >= 32
    [sent] = receiver.received
    verify(generated, sent["headers"], sent["body"])
    deliver_webhook_again = make_context(tmp_path, job_id="delivery-2", **DEV_MODE)
    assert signing_secret(deliver_webhook_again.settings) == generated  # kept, not regenerated


def test_dev_mode_secret_readable_by_others_is_refused(tmp_path: Path, receiver: Receiver) -> None:
    secret_file = tmp_path / WEBHOOK_SECRET_FILE
    secret_file.write_text("x" * 64)
    secret_file.chmod(0o644)
    with pytest.raises(PermanentJobError, match="chmod 600"):
        deliver_webhook(delivery(receiver.url("/ok")), make_context(tmp_path, **DEV_MODE))
    assert receiver.received == []


def test_connects_to_the_vetted_address_not_a_second_lookup(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host == "127.0.0.1":  # the connection to the vetted address (numeric: no DNS)
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", fake_getaddrinfo)
    result = deliver_webhook(delivery(f"http://hooks.wellqueue.test:{receiver.port}/ok"), make_context(tmp_path))
    assert result["status"] == 200 and lookups == ["hooks.wellqueue.test"]
    assert receiver.received[0]["headers"]["host"] == f"hooks.wellqueue.test:{receiver.port}"


# --- the https rule and SSRF refusals --------------------------------------------------------


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any connection is attempted: refused targets must never be contacted."""

    def refuse(*args, **kwargs):
        raise AssertionError("a refused target was contacted")

    monkeypatch.setattr(webhooks, "_connect_any", refuse)


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://192.168.1.20:8443/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("https://169.254.1.1/hook", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://100.64.0.1/hook", r"shared \(carrier-grade NAT\)"),
        ("https://localhost/hook", "loopback"),
    ],
)
def test_non_public_targets_are_refused(tmp_path: Path, no_connections: None, url: str, label: str) -> None:
    ctx = make_context(tmp_path, webhook_allowed_networks=[])
    with pytest.raises(PermanentJobError, match=f"^url: .* an? {label} address") as caught:
        deliver_webhook(delivery(url), ctx)
    assert "WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS" in str(caught.value)


def test_one_private_address_among_public_ones_is_enough_to_refuse(
    tmp_path: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = [("93.184.215.14", 443), ("10.1.2.3", 443)]
    monkeypatch.setattr(
        webhooks.socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address) for address in answers],
    )
    with pytest.raises(PermanentJobError, match=r"10.1.2.3, a private address"):
        deliver_webhook(delivery("https://hooks.example.com/x"), make_context(tmp_path, webhook_allowed_networks=[]))


def test_http_is_refused_unless_private_targets_are_allowed(
    tmp_path: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_lookup(*args, **kwargs):
        raise AssertionError("an http:// url must be refused before any DNS lookup")

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", no_lookup)
    with pytest.raises(PermanentJobError, match=r"url must start with https://"):
        deliver_webhook(delivery("http://hooks.example.com/x"), make_context(tmp_path, webhook_allowed_networks=[]))


def test_public_https_targets_pass_the_guard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(
        webhooks.socket,
        "getaddrinfo",
        lambda *a, **k: [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700::6810:84e5", 443, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
        ],
    )
    settings = Settings(data_dir=tmp_path, webhook_allowed_networks=[])
    destination = webhooks.resolve_destination("https://hooks.example.com/path?token=abc", settings)
    assert destination.addresses == ("2606:4700::6810:84e5", "93.184.215.14")
    assert destination.origin == "https://hooks.example.com"  # messages never show the path or query


# --- the address policy at delivery: gaps closed, loopback spellings, what the allow-list opens ---------------


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo from `answers` (host -> addresses) and record the hosts looked up."""
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in answers[host]
        ]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://[2002:a9fe:a9fe::1]/hook", "a 6to4 address embedding 169.254.169.254, a cloud metadata address"),
        ("https://[fec0::1]/hook", "a site-local address"),
        ("https://[2001:0:a9fe:a9fe::1]/hook", "a Teredo address embedding 169.254.169.254"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "a NAT64 address embedding 169.254.169.254"),
        ("https://[64:ff9b:1::a00:1]/hook", "a local-use NAT64 address"),
        ("https://[::127.0.0.1]/hook", "an IPv4-compatible address"),
        ("https://[::ffff:169.254.169.254]/hook", "a cloud metadata address"),
        ("https://[fd00:ec2::254]/hook", "a cloud metadata address"),
        ("https://[fd12::1]/hook", "a unique-local address"),
        ("https://[fe80::1]/hook", "a link-local address"),
        ("https://[ff02::1]/hook", "a multicast address"),
        ("https://255.255.255.255/hook", "a broadcast address"),
        ("https://198.18.0.1/hook", "a benchmarking address"),
        ("https://192.0.2.1/hook", "a documentation address"),
        ("https://[2001:db8::1]/hook", "a documentation address"),
        ("https://240.0.0.1/hook", "a reserved address"),
        ("https://[::1]:6379/hook", "a loopback address"),
        ("https://0x7f.1/hook", "a loopback address"),
        ("https://2130706433/hook", "a loopback address"),
        ("https://0177.0.0.1/hook", "a loopback address"),
        ("https://127.1/hook", "a loopback address"),
        ("https://[::ffff:7f00:1]/hook", "a loopback address"),
        ("https://[0:0:0:0:0:ffff:127.0.0.1]/hook", "a loopback address"),
        ("https://0/hook", "an unspecified address"),
    ],
)
def test_every_spelling_and_embedding_is_judged_on_the_resolved_address(
    tmp_path: Path, no_connections: None, url: str, reason: str
) -> None:
    with pytest.raises(PermanentJobError, match="^url: .* resolves to .*, " + re.escape(reason)):
        deliver_webhook(delivery(url), make_context(tmp_path, webhook_allowed_networks=[]))


def test_a_rebinding_name_is_judged_on_what_it_resolves_to(
    tmp_path: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"rebind.example.com": ["2002:a9fe:a9fe::1"]})
    with pytest.raises(PermanentJobError, match=r"rebind.example.com resolves to 2002:a9fe:a9fe::1, a 6to4 address"):
        deliver_webhook(delivery("https://rebind.example.com/x"), make_context(tmp_path, webhook_allowed_networks=[]))


def test_the_allow_list_opens_only_what_it_names(tmp_path: Path, no_connections: None) -> None:
    settings = Settings(data_dir=tmp_path, webhook_allowed_networks=["127.0.0.1/32"])
    assert webhooks.resolve_destination("http://127.0.0.1:8080/hook", settings).addresses == ("127.0.0.1",)
    for url, reason in [
        ("https://[::1]:6379/x", "a loopback address"),
        ("https://127.0.0.2/x", "a loopback address"),
        ("https://10.0.0.1/x", "a private address"),
        ("https://169.254.169.254/x", "a cloud metadata address"),
    ]:
        with pytest.raises(PermanentJobError, match=re.escape(reason)):
            webhooks.resolve_destination(url, settings)


def test_a_named_host_opens_its_private_addresses_but_never_metadata(
    tmp_path: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(
        monkeypatch,
        {
            "hooks.internal": ["10.1.2.3", "fd12::3"],
            "meta.internal": ["169.254.169.254"],
            "other.internal": ["10.1.2.3"],
        },
    )
    settings = Settings(
        data_dir=tmp_path, webhook_allowed_networks=["hooks.internal", "meta.internal", "169.254.0.0/16"]
    )
    destination = webhooks.resolve_destination("http://HOOKS.internal:8080/x", settings)
    assert destination.addresses == ("10.1.2.3", "fd12::3")
    with pytest.raises(
        PermanentJobError, match=r"a cloud metadata address.*only an entry naming 169.254.169.254 itself"
    ):
        webhooks.resolve_destination("https://meta.internal/x", settings)
    with pytest.raises(PermanentJobError, match=r"other.internal resolves to 10.1.2.3, a private address"):
        webhooks.resolve_destination("https://other.internal/x", settings)
    named = Settings(data_dir=tmp_path, webhook_allowed_networks=["169.254.169.254"])
    assert webhooks.resolve_destination("https://meta.internal/x", named).addresses == ("169.254.169.254",)


def test_http_needs_every_address_opened_by_the_allow_list(
    tmp_path: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.215.14"], "mixed.internal": ["10.1.2.3", "93.184.215.14"]})
    settings = Settings(data_dir=tmp_path, webhook_allowed_networks=["10.0.0.0/8"])
    with pytest.raises(PermanentJobError, match=r"url must start with https://.*WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS"):
        webhooks.resolve_destination("http://hooks.example.com/x", settings)  # public, but not named
    with pytest.raises(PermanentJobError, match="url must start with https://"):
        webhooks.resolve_destination("http://mixed.internal/x", settings)
    assert webhooks.resolve_destination("https://mixed.internal/x", settings).addresses == ("10.1.2.3", "93.184.215.14")


def test_public_nat64_targets_pass_for_ipv6_only_hosts(
    tmp_path: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["64:ff9b::5db8:d70e"]})  # DNS64 answer for 93.184.215.14
    settings = Settings(data_dir=tmp_path)
    assert webhooks.resolve_destination("https://hooks.example.com/x", settings).addresses == ("64:ff9b::5db8:d70e",)
