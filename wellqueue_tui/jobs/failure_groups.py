"""Failure groups: failed jobs of every queue filed by error signature as they fail (lua/common.lua keeps them),
read here as plain records, and the bulk actions on a whole group (retry all, remove all) in batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from ..connection import reply_text, reply_texts
from .actions import BATCH, ActionResult, _remove, _resubmit
from .keys import KeySchema
from .models import JobPage
from .registry import Registry
from .scripts import RegistryScripts
from .signature import GROUP_FIELDS

#: Groups read for the list, the largest first (one script call however many jobs failed).
GROUP_LIMIT = 200
#: Most frequent values read per payload field (lua/failure_groups.lua reads ranks 0..2).
TOP_VALUES = 3
#: Hours of the trend read per group (the groups keep 48).
TREND_HOURS = 24

Progress = Callable[[int, int], object]  # (done so far, total) after each batch


@dataclass(frozen=True)
class FailureGroup:
    """One failure cause: how many failed jobs it holds now, where and since when, and what they are about."""

    id: str
    signature: str
    count: int
    first_seen: float | None  # epoch seconds (Redis server time)
    last_seen: float | None
    error: str  # the latest member's error as it was written
    queues: dict[str, int]  # queue -> failed jobs, largest first
    hourly: dict[int, int] = field(default_factory=dict)  # epoch hour -> jobs filed that hour
    top_values: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # field -> (value, jobs), top first

    def trend(self, now: float, hours: int = TREND_HOURS) -> list[int]:
        """Jobs filed per hour over the last `hours` hours, oldest first (the current hour last)."""
        current = int(now // 3600)
        return [self.hourly.get(hour, 0) for hour in range(current - hours + 1, current + 1)]


def _seconds(raw: object) -> float | None:
    try:
        return int(raw) / 1000 if raw not in (None, b"", "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _count(raw: object) -> int:
    try:
        return int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _decode_group(raw: bytes) -> FailureGroup | None:
    """One group as the read script returns it (a JSON object); None when malformed or empty."""
    try:
        found = json.loads(raw)
        fields, hours, values, hour = found["fields"], found["hours"], found["values"], int(found["hour"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(fields, dict) or _count(fields.get("count")) <= 0:
        return None
    queues = {name[2:]: _count(v) for name, v in fields.items() if name.startswith("q:") and _count(v) > 0}
    counts = hours if isinstance(hours, list) else []
    top: dict[str, list[tuple[str, int]]] = {}
    for name, _path in GROUP_FIELDS:
        flat = values.get(name) if isinstance(values, dict) else None
        if isinstance(flat, list) and flat:
            top[name] = [(str(flat[i]), _count(float(flat[i + 1]))) for i in range(0, len(flat) - 1, 2)]
    return FailureGroup(
        id=str(found.get("id", "")),
        signature=str(fields.get("signature", "")),
        count=_count(fields.get("count")),
        first_seen=_seconds(fields.get("first_seen")),
        last_seen=_seconds(fields.get("last_seen")),
        error=str(fields.get("error", "")),
        queues=dict(sorted(queues.items(), key=lambda item: (-item[1], item[0]))),
        hourly={hour - len(counts) + 1 + index: _count(count) for index, count in enumerate(counts) if _count(count)},
        top_values=top,
    )


class FailureGroups:
    """Reads the failure groups of one deployment."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.client = client
        self.keys = keys

    def total(self) -> int:
        """How many groups there are (the list reads the largest `limit`)."""
        return int(self.client.zcard(self.keys.failure_groups))

    def groups(self, limit: int = GROUP_LIMIT) -> list[FailureGroup]:
        """The largest `limit` groups, largest first (ties: by id)."""
        return self._read(0, limit - 1) if limit > 0 else []

    def group(self, group_id: str) -> FailureGroup | None:
        found = self._read(0, 0, [group_id])
        return found[0] if found else None

    def _read(self, first: int, last: int, ids: list[str] | None = None) -> list[FailureGroup]:
        """One script call: each group comes back as one small JSON object (see lua/failure_groups.lua)."""
        names = ",".join(name for name, _path in GROUP_FIELDS)
        script = RegistryScripts(self.client, self.keys).failure_groups
        replies = script(args=[first, last, TREND_HOURS, names, *(ids or [])])
        groups = [group for group in map(_decode_group, replies) if group is not None]
        groups.sort(key=lambda group: (-group.count, group.id))
        return groups

    def job_ids(self, group_id: str, offset: int = 0, limit: int = 50) -> list[str]:
        """A page of the group's job ids, the latest to fail first."""
        if limit <= 0:
            return []
        key = self.keys.failure_group_jobs(group_id)
        return reply_texts(self.client.zrevrange(key, offset, offset + limit - 1), "replace")

    def size(self, group_id: str) -> int:
        """How many failed jobs the group holds now (exactly: its member set)."""
        return int(self.client.zcard(self.keys.failure_group_jobs(group_id)))


def group_jobs(reg: Registry, group_id: str, offset: int = 0, limit: int = 50) -> JobPage:
    """A page of the group's failed jobs (every queue), the latest to fail first, as queue pages are read."""
    groups = FailureGroups(reg.client, reg.keys)
    total = groups.size(group_id)
    return JobPage("", "failed", total, offset, reg._summaries(groups.job_ids(group_id, offset, limit)))


def _each_batch(
    reg: Registry, group_id: str, act: Callable[[list[str]], dict[str, int]], progress: Progress | None
) -> tuple[int, int]:
    """Apply `act` to every member, BATCH ids at a time (members leave the group as they are acted on).
    Returns (done, members at the start)."""
    groups = FailureGroups(reg.client, reg.keys)
    total = groups.size(group_id)
    done = 0
    seen: set[str] = set()
    while True:
        key = reg.keys.failure_group_jobs(group_id)
        window = reply_texts(reg.client.zrange(key, 0, BATCH - 1 + len(seen)), "replace")
        ids = [i for i in window if i not in seen][:BATCH]
        if not ids:
            break
        seen.update(ids)  # a member that cannot be acted on stays in the group: do not loop on it
        done += sum(1 for code in act(ids).values() if code == 1)
        if progress is not None:
            progress(done, total)
    return done, total


def retry_group(reg: Registry, group_id: str, *, progress: Progress | None = None) -> ActionResult:
    """Queue every failed job of the group again (each leaves the group as it is retried)."""
    signature = _signature(reg, group_id)
    done, total = _each_batch(reg, group_id, lambda ids: _resubmit(reg, ids, "failed", None), progress)
    return ActionResult("retry_group", group_id, done, f"{done} of {total} failed jobs queued again: {signature}")


def remove_group(reg: Registry, group_id: str, *, progress: Progress | None = None) -> ActionResult:
    """Remove every failed job of the group (records, dead letters), leaving tombstones."""
    signature = _signature(reg, group_id)
    done, total = _each_batch(reg, group_id, lambda ids: _remove(reg, ids, None, "failed"), progress)
    return ActionResult("remove_group", group_id, done, f"{done} of {total} failed jobs removed: {signature}")


def _signature(reg: Registry, group_id: str) -> str:
    raw = reg.client.hget(reg.keys.failure_group(group_id), "signature")
    return reply_text(raw, "replace")[:120] if raw else "(group gone)"
