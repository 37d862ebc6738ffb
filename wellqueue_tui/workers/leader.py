"""The scheduler leader lease: at most one process holds the lease key (`KeySchema.leader`) and runs the cron loop."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from importlib.resources import files

import redis

log = logging.getLogger(__name__)

Listener = Callable[[], None]


def _load_script(client: redis.Redis, filename: str) -> redis.commands.core.Script:
    return client.register_script(files(__package__).joinpath(filename).read_text())


class LeaderLease:
    """A Redis lease taken with SET NX PX and renewed by compare-and-PEXPIRE from a daemon thread.

    Leadership ends at once when a renewal finds another holder, and also when Redis has not confirmed
    the lease for `ttl - margin` (errors, timeouts): that deadline comes before the key can expire and a
    follower can take over, so two live processes never both believe they lead. `is_leader` checks the
    deadline itself, so it stays truthful even while the renewal thread is stuck in a Redis call.
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        ttl_ms: int = 15_000,
        *,
        renew_interval_ms: int | None = None,
        margin_ms: int | None = None,
        on_elected: Listener | None = None,
        on_lost: Listener | None = None,
    ) -> None:
        self.key = key
        self.ttl_ms = ttl_ms
        self.renew_interval_ms = renew_interval_ms if renew_interval_ms is not None else ttl_ms // 3
        self.margin_ms = margin_ms if margin_ms is not None else max(ttl_ms // 5, 50)
        if not 0 < self.renew_interval_ms < ttl_ms - self.margin_ms:
            raise ValueError(
                f"renew_interval_ms ({self.renew_interval_ms}) must be positive and below ttl_ms - margin_ms "
                f"({ttl_ms - self.margin_ms})"
            )
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self._client = client
        self._renew = _load_script(client, "leader_renew.lua")
        self._release = _load_script(client, "leader_release.lua")
        self._lock = threading.Lock()
        self._leader = False
        self._valid_until = 0.0  # time.monotonic() after which we no longer count as leader
        self._elected: list[Listener] = [on_elected] if on_elected else []
        self._lost: list[Listener] = [on_lost] if on_lost else []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add_listener(self, *, on_elected: Listener | None = None, on_lost: Listener | None = None) -> None:
        """Be called (from the lease thread) when this process gains or loses leadership."""
        if on_elected:
            self._elected.append(on_elected)
        if on_lost:
            self._lost.append(on_lost)

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return self._leader and time.monotonic() < self._valid_until

    def holder(self) -> str | None:
        """The token ("host:pid:uuid") of the current leader, or None when nobody holds the lease."""
        raw = self._client.get(self.key)
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else raw

    def start(self) -> None:
        """Start competing for (and then renewing) the lease in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="wq-leader-lease", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True, timeout: float = 5.0) -> None:
        """Stop the thread and step down; `release=False` leaves the key to expire (as a crash would)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        was_leader = self._step_down("lease stopped")
        if release and was_leader:
            try:
                self._release(keys=[self.key], args=[self.token])
            except redis.RedisError as exc:
                log.warning("could not release scheduler lease %s (it will expire): %s", self.key, exc)

    def tick(self) -> float:
        """One acquire-or-renew round; returns the seconds to wait before the next one."""
        interval = self.renew_interval_ms / 1000
        with self._lock:
            leading = self._leader
        if leading:
            return self._renew_once(interval)
        sent = time.monotonic()
        try:
            acquired = self._client.set(self.key, self.token, nx=True, px=self.ttl_ms)
        except redis.RedisError as exc:
            log.debug("scheduler lease %s: acquire failed: %s", self.key, exc)
            return interval
        if acquired:
            with self._lock:
                self._leader = True
                self._valid_until = sent + (self.ttl_ms - self.margin_ms) / 1000
            log.info("became scheduler leader (%s)", self.token)
            self._notify(self._elected)
        return interval

    def _renew_once(self, interval: float) -> float:
        sent = time.monotonic()
        if sent >= self._valid_until:
            self._step_down("Redis did not confirm the lease in time")
            return interval
        try:
            renewed = self._renew(keys=[self.key], args=[self.token, self.ttl_ms])
        except redis.RedisError as exc:
            log.warning("scheduler lease %s: renewal failed, retrying: %s", self.key, exc)
            remaining = self._valid_until - time.monotonic()
            return max(0.01, min(interval / 5, remaining))
        if not renewed:
            self._step_down("the lease expired or another process holds it")
            return interval
        # A successful compare-and-PEXPIRE proves the key never left us, even if the answer came late.
        with self._lock:
            self._valid_until = sent + (self.ttl_ms - self.margin_ms) / 1000
        return interval

    def _step_down(self, reason: str) -> bool:
        with self._lock:
            was_leader, self._leader = self._leader, False
        if was_leader:
            log.warning("gave up scheduler leadership: %s", reason)
            self._notify(self._lost)
        return was_leader

    def _notify(self, listeners: list[Listener]) -> None:
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("scheduler lease listener %r failed", listener)

    def _run(self) -> None:
        delay = 0.0
        while not self._stopping.wait(delay):
            delay = self.tick()
