"""HTTP calls of the example packs: JSON to a configured provider, and POSTs to a subscriber's URL.

Answers decide retrying: 5xx, 408, 425, 429 and network trouble raise `ProviderError` (the worker
retries); other 4xx and redirects raise `PermanentJobError`. Subscriber URLs come from payloads, so they
are vetted by WellFlow's rules (https only and public addresses, unless WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS opens them)
and the connection goes to the vetted address.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from wellqueue_tui.jobs.kind import PermanentJobError
from wellqueue_tui.settings import Settings
from wellqueue_tui.wellflow.kinds.webhooks import resolve_destination

TIMEOUT_S = 30
MAX_RESPONSE_BYTES = 1024 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429})
USER_AGENT = "WellQueue-examples/0.1"


class ProviderError(Exception):
    """A call that may succeed later: retried with the job's backoff."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> dict:
        try:
            value = json.loads(self.body)
        except ValueError:
            raise PermanentJobError(f"the answer is not JSON: {self.body[:120]!r}") from None
        if not isinstance(value, dict):
            raise PermanentJobError("the answer is not a JSON object")
        return value


def check_url(value: str) -> str:
    """A payload's target URL: http(s), a host, no credentials, no spaces or control characters."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("url must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("url must be an https:// URL naming a host, e.g. https://hooks.example.com/in")
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not contain a user name or password")
    try:
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise ValueError("url has an invalid port") from None
    return value


def call_json(
    method: str,
    url: str,
    *,
    body: dict | None = None,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT_S,
) -> Answer:
    """One request to a configured provider (`body` as JSON, or `raw_body` exactly); raises unless 2xx."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentJobError(f"provider URL {url[:200]!r} must be an http:// or https:// URL")
    data = raw_body if body is None else json.dumps(body, separators=(",", ":")).encode()
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = "application/json"
    return _exchange(parts.scheme, parts.hostname, parts.port, (parts.hostname,), method, url, data, sent, timeout)


def post_vetted(
    url: str, body: bytes, headers: dict[str, str], settings: Settings, timeout: float = TIMEOUT_S
) -> Answer:
    """POST `body` to a URL taken from a payload, after WellFlow's destination checks."""
    destination = resolve_destination(url, settings)
    parts = urlsplit(url)
    sent = {"Content-Type": "application/json", **headers}
    return _exchange(
        parts.scheme, parts.hostname or "", parts.port, destination.addresses, "POST", url, body, sent, timeout
    )


def _exchange(
    scheme: str,
    host: str,
    port: int | None,
    addresses: tuple[str, ...],
    method: str,
    url: str,
    data: bytes | None,
    headers: dict[str, str],
    timeout: float,
) -> Answer:
    parts = urlsplit(url)
    origin = f"{scheme}://{parts.netloc}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    port = port or (443 if scheme == "https" else 80)
    connection = _connection(scheme, host, port, addresses, timeout)
    try:
        connection.request(method, target, body=data, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        status, content = response.status, response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise ProviderError(f"could not reach {origin}: {exc or type(exc).__name__}") from exc
    finally:
        connection.close()
    if 200 <= status < 300:
        return Answer(status, content)
    snippet = " ".join(content[:200].decode("utf-8", "replace").split())
    answer = f"{origin} answered {status}" + (f": {snippet}" if snippet else "")
    if status >= 500 or status in RETRYABLE_STATUSES:
        raise ProviderError(answer)
    if 300 <= status < 400:
        raise PermanentJobError(f"{answer} (a redirect; redirects are not followed, fix the URL)")
    raise PermanentJobError(answer)


def _connection(
    scheme: str, host: str, port: int, addresses: tuple[str, ...], timeout: float
) -> http.client.HTTPConnection:
    if scheme == "https":
        return _PinnedHTTPS(host, port, timeout=timeout, addresses=addresses, tls=ssl.create_default_context())
    return _PinnedHTTP(host, port, timeout=timeout, addresses=addresses)


def _connect_any(addresses: tuple[str, ...], port: int, timeout: float | None) -> socket.socket:
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            failure = exc
    raise failure


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the given addresses instead of resolving the host again (no DNS rebinding)."""

    def __init__(self, *args, addresses: tuple[str, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_any(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As `_PinnedHTTP`, with TLS verified against the URL's host name."""

    def __init__(self, *args, addresses: tuple[str, ...], tls: ssl.SSLContext, **kwargs) -> None:
        super().__init__(*args, context=tls, **kwargs)
        self._addresses = addresses
        self._tls = tls

    def connect(self) -> None:
        sock = _connect_any(self._addresses, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
