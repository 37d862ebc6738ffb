"""The `webhooks` queue: POST a signed JSON event to a subscriber's endpoint.

The body `{"id", "event", "data", "organizationId"?}` is serialized once and those exact
bytes are signed: `X-WellQueue-Signature: v1=<hex HMAC-SHA256>` over
`f"{delivery_id}.{timestamp}.".encode() + body` with WELLQUEUE_WEBHOOK_SECRET (in development,
with the embedded Redis and no secret set, one generated 0600 in the data dir, as for tokens). The
signature covers the delivery id (the job id, the same on every retry) as well as the
timestamp (new on every attempt) and the body, so a captured request can neither be
replayed under another id nor after the receiver's 5-minute window; receivers verify with
`wellflow.webhook_signing.verify` and drop delivery ids they have already seen.
Targets are resolved first and refused if any address is not public unicast or embeds one
that is not (`address_policy`), unless WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS names it; the
connection then goes to the vetted address (no second DNS lookup to rebind), redirects are
not followed and sockets time out in 10 s.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from ...address_policy import AllowList, is_metadata
from ...auth.secrets import SigningKeyError, is_dev_mode, read_or_create_secret
from ...jobs.context import JobContext
from ...jobs.kind import JobKind, PermanentJobError
from ...settings import Settings
from .. import webhook_signing
from .fields import ORGANIZATION_ID, PAYLOAD_CONFIG, check_json_object

TIMEOUT_S = 10
USER_AGENT = "WellQueue/0.1"
MAX_DATA_BYTES = 256 * 1024
MAX_RESPONSE_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429})
HTTP_RULE = "http:// is allowed only for hosts and networks named in WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS"
WEBHOOK_SECRET_FILE = "webhook_secret"


class WebhookError(Exception):
    """A delivery that may succeed later (5xx, 429, timeout, refused connection): retried."""


class WebhookDelivery(BaseModel):
    """One event for one endpoint.

    The https-only rule and the address checks depend on the *worker's* settings, so they
    are applied when the job runs (a refused target fails at once, naming `url`).
    """

    model_config = PAYLOAD_CONFIG

    url: str = Field(min_length=1, max_length=2048)
    event: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    data: dict
    organizationId: str | None = Field(default=None, pattern=ORGANIZATION_ID)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValueError("url must not contain spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http"):
            raise ValueError("url must start with https://")
        if not parts.hostname:
            raise ValueError("url must name a host, e.g. https://hooks.example.com/wellqueue")
        if parts.username is not None or parts.password is not None:
            raise ValueError("url must not contain a user name or password")
        try:
            parts.port  # noqa: B018  (reading the port is what checks it)
        except ValueError:
            raise ValueError("url has an invalid port") from None
        return value

    @field_validator("data")
    @classmethod
    def _bounded(cls, value: dict) -> dict:
        return check_json_object(value, max_bytes=MAX_DATA_BYTES)


@dataclass(frozen=True)
class Destination:
    """A vetted target: where to connect, and how to name it in messages without path or query."""

    url: str
    origin: str
    addresses: tuple[str, ...]


def deliver_webhook(payload: WebhookDelivery, ctx: JobContext) -> dict:
    """Sign and POST the event once; raise on any non-2xx answer."""
    settings = ctx.settings
    secret = signing_secret(settings)
    destination = resolve_destination(payload.url, settings)

    envelope = {"id": ctx.job_id, "event": payload.event, "data": payload.data}
    if payload.organizationId:
        envelope["organizationId"] = payload.organizationId
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        destination.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            webhook_signing.DELIVERY_HEADER: ctx.job_id,
            webhook_signing.TIMESTAMP_HEADER: str(timestamp),
            webhook_signing.SIGNATURE_HEADER: webhook_signing.sign(secret, ctx.job_id, timestamp, body),
        },
    )

    ctx.log(f"POST {destination.origin} event={payload.event} ({len(body)} bytes, attempt {ctx.attempt})")
    started = time.monotonic()
    try:
        with _opener(destination.addresses).open(request, timeout=TIMEOUT_S) as response:
            status = response.status
            response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:
            raise _answer_failure(exc, destination) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise WebhookError(f"could not deliver to {destination.origin}: {reason or type(exc).__name__}") from exc
    elapsed_ms = round((time.monotonic() - started) * 1000)
    ctx.log(f"{destination.origin} answered {status} in {elapsed_ms} ms")
    ctx.progress(100)
    return {"status": status, "ms": elapsed_ms}


def signing_secret(settings: Settings) -> bytes:
    """WELLQUEUE_WEBHOOK_SECRET, or in dev mode the secret generated in `{data_dir}/webhook_secret`."""
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        return settings.webhook_secret.get_secret_value().encode()
    if not is_dev_mode(settings):
        raise PermanentJobError(
            "webhook secret is not configured: set WELLQUEUE_WEBHOOK_SECRET (shared with the receiver), then retry"
        )
    path = Path(settings.data_dir) / WEBHOOK_SECRET_FILE
    try:
        return read_or_create_secret(path, "the webhook secret file")
    except (OSError, SigningKeyError) as exc:
        raise PermanentJobError(f"cannot use the development webhook secret {path}: {exc}") from None


def resolve_destination(url: str, settings: Settings) -> Destination:
    """Resolve the host and vet every address it resolves to (see `address_policy`); http:// only where allowed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    origin = f"{parts.scheme}://{parts.netloc}"
    allowed = AllowList.parse(settings.webhook_allowed_networks)
    if parts.scheme != "https" and not allowed:
        raise PermanentJobError(f"url must start with https:// ({HTTP_RULE})")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookError(f"could not resolve the host of url {origin}: {exc}") from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))  # an IP address for SOCK_STREAM
    vetted = [(address, ipaddress.ip_address(address.partition("%")[0])) for address in addresses]
    for address, ip in vetted:
        reason = allowed.refusal(host, ip)
        if reason:
            remedy = (
                f"only an entry naming {ip} itself in WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS allows it"
                if is_metadata(ip)
                else "name a host, address or network in WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS to allow it"
            )
            raise PermanentJobError(
                f"url: {host} resolves to {address}, {reason}; webhooks may only target public addresses ({remedy})"
            )
    if parts.scheme != "https" and not all(allowed.opens(host, ip) for _address, ip in vetted):
        raise PermanentJobError(f"url must start with https:// ({HTTP_RULE})")
    return Destination(url=url, origin=origin, addresses=addresses)


def _answer_failure(exc: urllib.error.HTTPError, destination: Destination) -> Exception:
    answer = f"{destination.origin} answered {exc.code} {exc.reason}"
    if 300 <= exc.code < 400:
        location = urlsplit(exc.headers.get("Location", ""))
        target = f" to {location.scheme}://{location.netloc}" if location.netloc else ""
        return PermanentJobError(f"url: {answer} (a redirect{target}); redirects are not followed, update the url")
    detail = _snippet(exc)
    if exc.code >= 500 or exc.code in RETRYABLE_STATUSES:
        return WebhookError(answer + detail)
    return PermanentJobError(f"url: {answer}{detail}; the receiver refused the delivery")


def _snippet(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(200).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    text = " ".join(text.split())
    return f": {text}" if text else ""


def _connect_any(addresses: tuple[str, ...], port: int, timeout: float | None) -> socket.socket:
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            failure = exc
    raise failure


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the vetted addresses instead of resolving the host name again."""

    def __init__(self, *args, addresses: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_any(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Like `_PinnedHTTPConnection`, with TLS verified against the URL's host name."""

    def __init__(self, *args, addresses: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect_any(self._addresses, self.port, self.timeout)
        # typeshed leaves out the TLS context HTTPSConnection keeps
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, addresses: tuple[str, ...]) -> None:
        super().__init__()
        self._addresses = addresses

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_PinnedHTTPConnection, addresses=self._addresses), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, addresses: tuple[str, ...]) -> None:
        super().__init__(context=ssl.create_default_context())
        self._addresses = addresses

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_PinnedHTTPSConnection, addresses=self._addresses)
        # typeshed leaves out the TLS context HTTPSHandler keeps
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turns every 3xx into an HTTPError instead of following it (a redirect could reach inside)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _opener(addresses: tuple[str, ...]) -> urllib.request.OpenerDirector:
    # ProxyHandler({}) ignores *_PROXY variables: the vetted address must be the one we reach.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _PinnedHTTPHandler(addresses),
        _PinnedHTTPSHandler(addresses),
        _RefuseRedirects(),
    )


def destination_host(payload: dict) -> str | None:
    """The host a raw webhook payload posts to (its per-destination circuit breaker's key)."""
    url = payload.get("url")
    return urlsplit(url).hostname if isinstance(url, str) else None


KIND = JobKind(
    name="deliver_webhook",
    queue="webhooks",
    payload=WebhookDelivery,
    process=deliver_webhook,
    max_attempts=5,
    backoff_ms=2000,
    timeout_ms=60_000,
    example={"url": "https://hooks.example.com/wellflow", "event": "well.validated", "data": {"wellId": "WELL-1250"}},
    destination_of=destination_host,
)
