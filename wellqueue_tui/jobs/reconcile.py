"""No job stranded by a failover: what a worker process holds of each acks set (messages handed to a worker
thread or prefetched, not yet finished), so its consumers can give back the rest (lua/reconcile.lua) after a
reconnect and periodically, instead of leaving it "in flight" until the process stops."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

#: How often a consumer reconciles its acks set besides right after it (re)connects.
RECONCILE_INTERVAL_S = 15.0


class HeldMessages:
    """The message ids (rids) a worker process holds per acks set; shared by the consumers the process makes
    for one queue over time (Dramatiq builds a new consumer after a connection error) and the worker threads
    that finish messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: defaultdict[str, set[bytes]] = defaultdict(set)

    def add(self, acks_key: str, rid: bytes) -> None:
        with self._lock:
            self._held[acks_key].add(rid)

    def discard(self, acks_key: str, rids: Iterable[bytes | str]) -> None:
        with self._lock:
            held = self._held[acks_key]
            for rid in rids:
                held.discard(rid.encode() if isinstance(rid, str) else rid)

    def snapshot(self, acks_key: str) -> list[bytes]:
        with self._lock:
            return list(self._held[acks_key])
