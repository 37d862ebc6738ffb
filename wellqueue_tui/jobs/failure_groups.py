"""Failure groups: failed jobs of every queue filed by error signature as they fail (lua/common.lua keeps them),
read here as plain records, and the bulk actions on a whole group (retry all, remove all) in batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from ..connection import reply_text, reply_texts
from .actions import BATCH, ActionResult, _remove, _resubmit
from .keys import KeySchema
from .models import JobPage
from .registry import Registry
from .signature import GROUP_FIELDS

#: Groups read for the list, the largest first (one pipelined round trip however many jobs failed).
GROUP_LIMIT = 200
#: Most frequent values shown per payload field.
TOP_VALUES = 3
#: Hours of the trend (the groups keep 48).
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


def _decode_group(group_id: str, fields: dict, hours: dict, values: list[list]) -> FailureGroup | None:
    text = {reply_text(k, "replace"): v for k, v in fields.items()}
    if not text:
        return None
    queues = {name[2:]: _count(v) for name, v in text.items() if name.startswith("q:") and _count(v) > 0}
    hourly = {_count(k): _count(v) for k, v in hours.items()}
    top = {
        name: [(reply_text(value, "replace"), int(score)) for value, score in rows]
        for (name, _path), rows in zip(GROUP_FIELDS, values)
        if rows
    }
    return FailureGroup(
        id=group_id,
        signature=reply_text(text.get("signature") or b"", "replace"),
        count=_count(text.get("count")),
        first_seen=_seconds(text.get("first_seen")),
        last_seen=_seconds(text.get("last_seen")),
        error=reply_text(text.get("error") or b"", "replace"),
        queues=dict(sorted(queues.items(), key=lambda item: (-item[1], item[0]))),
        hourly=hourly,
        top_values=top,
    )


class FailureGroups:
    """Reads the failure groups of one deployment."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.client = client
        self.keys = keys

    def total(self) -> int:
        """How many groups there are (the list reads the largest `GROUP_LIMIT`)."""
        return int(self.client.zcard(self.keys.failure_groups))

    def groups(self, limit: int = GROUP_LIMIT) -> list[FailureGroup]:
        """The largest `limit` groups, largest first (ties: by id)."""
        if limit <= 0:
            return []
        ids = reply_texts(self.client.zrevrange(self.keys.failure_groups, 0, limit - 1), "replace")
        return self._read(ids)

    def group(self, group_id: str) -> FailureGroup | None:
        found = self._read([group_id])
        return found[0] if found else None

    def _read(self, ids: list[str]) -> list[FailureGroup]:
        if not ids:
            return []
        per_group = 2 + len(GROUP_FIELDS)
        with self.client.pipeline(transaction=False) as pipe:
            for group_id in ids:
                pipe.hgetall(self.keys.failure_group(group_id))
                pipe.hgetall(self.keys.failure_group_hours(group_id))
                for name, _path in GROUP_FIELDS:
                    pipe.zrevrange(self.keys.failure_group_values(group_id, name), 0, TOP_VALUES - 1, withscores=True)
            replies = pipe.execute()
        groups = []
        for index, group_id in enumerate(ids):
            chunk = replies[index * per_group : (index + 1) * per_group]
            group = _decode_group(group_id, chunk[0], chunk[1], chunk[2:])
            if group is not None and group.count > 0:
                groups.append(group)
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
