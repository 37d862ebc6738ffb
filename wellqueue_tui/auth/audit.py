"""The audit stream: one capped Redis stream entry per operator action (allowed, denied or failed), newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import redis

from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.auth.permissions import Action

DEFAULT_MAXLEN = 100_000
MAX_PAGE = 1000
Outcome = Literal["ok", "denied", "error"]
OUTCOMES: tuple[str, ...] = ("ok", "denied", "error")
#: Longest target and detail kept; the stream is an index of what happened, not a log of payloads.
MAX_TARGET_CHARS = 256
MAX_DETAIL_CHARS = 1024
# A JWT pasted into a detail or error message must not end up in the audit trail.
_JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_STREAM_ID = re.compile(r"\d{1,20}(-\d{1,20})?")
_FIELDS = ("at", "who", "role", "org", "action", "target", "count", "outcome", "detail")


@dataclass(frozen=True)
class AuditEntry:
    """One operator action as recorded; `problem` says what was wrong with a malformed entry."""

    id: str
    at: float  # Redis server time, seconds since the epoch
    who: str
    role: str
    org: str | None
    action: str
    target: str
    count: int
    outcome: str
    detail: str = ""
    problem: str | None = None


class AuditLog:
    """Append to and page through one deployment's audit stream (`KeySchema.audit`), capped at about `maxlen` entries."""

    def __init__(self, client: redis.Redis, key: str, maxlen: int = DEFAULT_MAXLEN) -> None:
        if maxlen < 1:
            raise ValueError(f"audit maxlen must be at least 1, got {maxlen}")
        self.client = client
        self.key = key
        self.maxlen = maxlen

    def record(
        self,
        identity: Identity,
        action: Action | str,
        target: str,
        count: int,
        outcome: Outcome,
        detail: str = "",
    ) -> str:
        """Append one entry stamped with Redis server time; returns the stream id."""
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        seconds, micros = self.client.time()
        fields = {
            "at": f"{seconds}.{micros:06d}",
            "who": identity.sub,
            "role": str(identity.role),
            "org": identity.org or "",
            "action": str(action),
            "target": _scrub(target, MAX_TARGET_CHARS),
            "count": str(int(count)),
            "outcome": outcome,
            "detail": _scrub(detail, MAX_DETAIL_CHARS),
        }
        entry_id = self.client.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)
        return _text(entry_id)

    def recent(self, limit: int = 200, *, before_id: str | None = None) -> list[AuditEntry]:
        """Up to `limit` entries, newest first; pass the last id seen as `before_id` for the next page."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"audit limit must be between 1 and {MAX_PAGE}, got {limit}")
        if before_id is not None and not _STREAM_ID.fullmatch(before_id):
            raise ValueError(f"audit page id must look like 1700000000000-0, got {before_id[:40]!r}")
        newest = f"({before_id}" if before_id else "+"
        rows = self.client.xrevrange(self.key, max=newest, min="-", count=limit)
        return [_entry(_text(entry_id), fields) for entry_id, fields in rows]


def _entry(entry_id: str, raw: dict) -> AuditEntry:
    """Read one stream entry, tolerating missing or garbled fields (noted in `problem`)."""
    fields = {_text(name): _text(value) for name, value in raw.items()}
    problems = [f"missing {name}" for name in _FIELDS if name not in fields and name not in ("org", "detail")]
    try:
        at = float(fields["at"])
    except (KeyError, ValueError):
        at = int(entry_id.split("-", 1)[0]) / 1000  # the id's millisecond part is server time too
        if "at" in fields:
            problems.append("bad at")
    try:
        count = int(fields.get("count", "0"))
    except ValueError:
        count = 0
        problems.append("bad count")
    if fields.get("outcome", "ok") not in OUTCOMES:
        problems.append("unknown outcome")
    if fields.get("role", "ADMIN") not in tuple(Role):
        problems.append("unknown role")
    return AuditEntry(
        id=entry_id,
        at=at,
        who=fields.get("who", ""),
        role=fields.get("role", ""),
        org=fields.get("org") or None,
        action=fields.get("action", ""),
        target=fields.get("target", ""),
        count=count,
        outcome=fields.get("outcome", ""),
        detail=fields.get("detail", ""),
        problem="; ".join(problems) or None,
    )


def _scrub(text: str, limit: int) -> str:
    return _JWT_LIKE.sub("[token removed]", str(text))[:limit]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
