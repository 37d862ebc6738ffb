"""The audit stream: one capped Redis stream entry per operator action (allowed, denied or failed), newest first.

An entry that cannot be written is kept in this process and written before the next one, so a failed
audit write never turns an action that happened into one reported as failed."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, cast

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
_FIELDS = ("at", "who", "role", "org", "action", "target", "count", "outcome", "detail", "target_org")
_OPTIONAL_FIELDS = ("at", "org", "detail", "target_org")  # `at` only on entries kept through an outage
#: Entries kept in memory while the stream cannot be written; beyond this the oldest are dropped (and counted).
MAX_PENDING = 1000
#: How many entries one scoped read looks through, at most, for the caller's organization.
MAX_SCANNED = 10_000


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
    target_org: str | None = None  # the organization of the job or schedule acted on, where known

    def visible_to(self, org: str | None) -> bool:
        """Whether a token scoped to `org` may see this entry (None sees every entry)."""
        return org is None or org in (self.org, self.target_org)


@dataclass(frozen=True)
class AuditPage:
    """Entries newest first, and the id to pass as `before_id` for older ones (None: the stream's end)."""

    entries: list[AuditEntry]
    older: str | None


class AuditWriteFailed(redis.RedisError):
    """The entry was not written (it is kept and retried with the next write); the message says why."""


@dataclass
class _Pending:
    """Entries not yet written, oldest first, and how many were dropped for want of room."""

    fields: deque = field(default_factory=lambda: deque(maxlen=MAX_PENDING))
    dropped: int = 0


class AuditLog:
    """Append to and page through one deployment's audit stream (`KeySchema.audit`), capped at about `maxlen` entries."""

    def __init__(self, client: redis.Redis, key: str, maxlen: int = DEFAULT_MAXLEN) -> None:
        if maxlen < 1:
            raise ValueError(f"audit maxlen must be at least 1, got {maxlen}")
        self.client = client
        self.key = key
        self.maxlen = maxlen
        self._pending = _Pending()
        self._writing = threading.Lock()  # one log may serve many threads (the API's); each entry is written once

    @property
    def pending(self) -> int:
        """Entries waiting to be written (after a failed write)."""
        return len(self._pending.fields)

    def record(
        self,
        identity: Identity,
        action: Action | str,
        target: str,
        count: int,
        outcome: Outcome,
        detail: str = "",
        *,
        target_org: str | None = None,
    ) -> str:
        """Append one entry (entries kept from failed writes go first) and return its stream id, whose
        millisecond part is Redis server time. If Redis fails, the entry is kept for the next write, stamped
        with the host's clock, and AuditWriteFailed is raised."""
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        fields = {
            "who": identity.sub,
            "role": str(identity.role),
            "org": identity.org or "",
            "action": str(action),
            "target": _scrub(target, MAX_TARGET_CHARS),
            "count": str(int(count)),
            "outcome": outcome,
            "detail": _scrub(detail, MAX_DETAIL_CHARS),
            "target_org": target_org or "",
        }
        with self._writing:
            return self._write(fields)

    def _write(self, fields: dict[str, str]) -> str:
        """Write the kept entries, oldest first, then `fields`; whatever is not written stays kept."""
        pending = self._pending
        if len(pending.fields) == pending.fields.maxlen:
            pending.dropped += 1
        pending.fields.append(fields)
        entry_id = ""
        while pending.fields:
            try:
                entry_id = _text(self.client.xadd(self.key, pending.fields[0], maxlen=self.maxlen, approximate=True))
            except redis.RedisError as exc:
                for kept in pending.fields:  # Redis cannot lend its clock: stamp the host's, the id will be later
                    kept.setdefault("at", f"{time.time():.6f}")
                raise self._failed(exc) from exc
            pending.fields.popleft()
        pending.dropped = 0
        return entry_id

    def _failed(self, exc: BaseException) -> AuditWriteFailed:
        from ..jobs.key_types import explain_redis_error

        lost = f"; {self._pending.dropped} older entries were dropped" if self._pending.dropped else ""
        return AuditWriteFailed(
            f"the audit entry could not be written ({explain_redis_error(self.client, {self.key: 'stream'}, exc)}); "
            f"{self.pending} {'entry is' if self.pending == 1 else 'entries are'} kept in this "
            f"process and retried with the next audit write{lost}"
        )

    def recent(self, limit: int = 200, *, before_id: str | None = None, org: str | None = None) -> list[AuditEntry]:
        """Up to `limit` entries, newest first; pass the last id seen as `before_id` for the next page.
        With `org`, only the entries a token scoped to that organization may see (see `page`)."""
        return self.page(limit, before_id=before_id, org=org).entries

    def page(self, limit: int = 200, *, before_id: str | None = None, org: str | None = None) -> AuditPage:
        """Up to `limit` entries older than `before_id`, newest first. With `org`: only entries by that
        organization's tokens or about its jobs and schedules, looking through at most MAX_SCANNED entries."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"audit limit must be between 1 and {MAX_PAGE}, got {limit}")
        if before_id is not None and not _STREAM_ID.fullmatch(before_id):
            raise ValueError(f"audit page id must look like 1700000000000-0, got {before_id[:40]!r}")
        entries: list[AuditEntry] = []
        scanned, cursor = 0, before_id
        batch = limit if org is None else MAX_PAGE
        while True:
            rows = cast(
                "list[tuple[bytes, dict[bytes, bytes]]]",  # XREVRANGE replies with a list, maybe empty
                self.client.xrevrange(self.key, max=f"({cursor}" if cursor else "+", min="-", count=batch),
            )
            for entry_id, fields in rows:
                cursor = _text(entry_id)
                entry = _entry(cursor, fields)
                if entry.visible_to(org):
                    entries.append(entry)
                    if len(entries) == limit:
                        return AuditPage(entries, cursor)
            scanned += len(rows)
            if len(rows) < batch:
                return AuditPage(entries, None)
            if scanned >= MAX_SCANNED:
                return AuditPage(entries, cursor)


def _entry(entry_id: str, raw: dict) -> AuditEntry:
    """Read one stream entry, tolerating missing or garbled fields (noted in `problem`)."""
    fields = {_text(name): _text(value) for name, value in raw.items()}
    problems = [f"missing {name}" for name in _FIELDS if name not in fields and name not in _OPTIONAL_FIELDS]
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
        target_org=fields.get("target_org") or None,
    )


def _scrub(text: str, limit: int) -> str:
    return _JWT_LIKE.sub("[token removed]", str(text))[:limit]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
