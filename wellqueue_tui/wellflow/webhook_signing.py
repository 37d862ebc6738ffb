"""Sign and verify WellQueue webhook deliveries (HMAC-SHA256 over id, timestamp and body).

The signature covers `f"{delivery_id}.{timestamp}.".encode() + body` (the Standard
Webhooks layout), so a captured request cannot be replayed under another delivery id or
time; receivers reject stale timestamps and delivery ids they have already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

DELIVERY_HEADER = "X-WellQueue-Delivery"
TIMESTAMP_HEADER = "X-WellQueue-Timestamp"
SIGNATURE_HEADER = "X-WellQueue-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v1=([0-9a-f]{64})")
_DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


class SignatureError(ValueError):
    """A delivery failed verification; `reason` says why (safe to log, never echoes secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SeenDeliveries(Protocol):
    """Set-like replay memory: `delivery_id in seen`, then `seen.add(delivery_id)`."""

    def __contains__(self, delivery_id: object) -> bool: ...
    def add(self, delivery_id: str) -> None: ...


def signed_content(delivery_id: str, timestamp: int, body: bytes) -> bytes:
    """The exact bytes the signature covers."""
    return f"{delivery_id}.{timestamp}.".encode() + body


def sign(secret: bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The `X-WellQueue-Signature` header value for one delivery: `v1=<hex digest>`."""
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise ValueError("delivery id must be 1-255 printable ASCII characters without spaces")
    digest = hmac.new(_as_bytes(secret), signed_content(delivery_id, int(timestamp), body), hashlib.sha256)
    return f"{SCHEME}={digest.hexdigest()}"


def verify(
    secrets: bytes | str | Iterable[bytes | str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    seen_delivery_ids: SeenDeliveries | Callable[[str], bool] | None = None,
) -> None:
    """Check a received delivery; raise `SignatureError` unless it is authentic, fresh and new.

    `secrets` may be a list (current and previous secret during a rotation). The signature
    header may carry several space- or comma-separated `v1=` values. `seen_delivery_ids` is
    either a set-like object (checked, then added to) or a callable that records the id and
    returns True when it had already been seen; it is consulted only after the signature
    matched, so forged requests cannot fill it.
    """
    keys = _secret_list(secrets)
    delivery_id = _header(headers, DELIVERY_HEADER)
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    raw_signature = _header(headers, SIGNATURE_HEADER)

    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise SignatureError(f"malformed {DELIVERY_HEADER} header")
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise SignatureError(f"malformed {TIMESTAMP_HEADER} header: expected unix seconds")
    candidates = _signatures(raw_signature)

    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp outside the {tolerance_s} s tolerance")

    content = signed_content(delivery_id, timestamp, body)
    expected = [hmac.new(key, content, hashlib.sha256).hexdigest() for key in keys]
    # Compare every pair (no early exit) so timing says nothing about which one matched.
    matched = False
    for candidate in candidates:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    if not matched:
        raise SignatureError("signature does not match")

    if seen_delivery_ids is not None and _already_seen(seen_delivery_ids, delivery_id):
        raise SignatureError(f"delivery {delivery_id} was already received (replay)")


def _already_seen(seen: SeenDeliveries | Callable[[str], bool], delivery_id: str) -> bool:
    if hasattr(seen, "__contains__") and hasattr(seen, "add"):
        if delivery_id in seen:
            return True
        seen.add(delivery_id)
        return False
    return bool(seen(delivery_id))


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if value is None:
        raise SignatureError(f"missing {name} header")
    if not isinstance(value, str):
        raise SignatureError(f"malformed {name} header")
    return value.strip()


def _signatures(raw: str) -> list[str]:
    parts = [p for p in re.split(r"[\s,]+", raw) if p]
    if not parts or len(parts) > 8:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header")
    found = []
    for part in parts:
        match = _SIGNATURE.fullmatch(part)
        if match:
            found.append(match.group(1))
        elif part.startswith(f"{SCHEME}=") or not re.fullmatch(r"v[0-9]+=\S+", part):
            raise SignatureError(f"malformed {SIGNATURE_HEADER} header")
    if not found:
        raise SignatureError(f"no {SCHEME} signature in {SIGNATURE_HEADER} header")
    return found


def _secret_list(secrets: bytes | str | Iterable[bytes | str]) -> list[bytes]:
    items = [secrets] if isinstance(secrets, (bytes, str)) else list(secrets)
    keys = [_as_bytes(s) for s in items]
    if not keys or not all(keys):
        raise ValueError("verify needs at least one non-empty secret")
    return keys


def _as_bytes(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else bytes(secret)
