"""The scheduler leader lease against a real redis-server: acquire, renew, release, failover, losing Redis."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.workers.leader import LeaderLease

TTL_MS = 1500  # renewed every 500 ms; leadership lapses locally after 1200 ms without a confirmation


class FlakyRedis(redis.Redis):
    """A client whose commands fail with ConnectionError while `broken` is set (Redis unreachable from here)."""

    broken = False

    def execute_command(self, *args, **options):
        if self.broken:
            raise redis.ConnectionError("simulated network failure")
        return super().execute_command(*args, **options)


#: How long a condition may take on a busy machine; a wait returns as soon as it holds.
PATIENCE_S = 30.0


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


class Events:
    def __init__(self) -> None:
        self.elected = threading.Event()
        self.lost = threading.Event()
        self.lost_count = 0

    def on_lost(self) -> None:
        self.lost_count += 1
        self.lost.set()


@pytest.fixture
def leases(redis_client: redis.Redis, redis_url: str) -> Iterator[Callable[..., LeaderLease]]:
    made: list[LeaderLease] = []
    clients: list[redis.Redis] = []

    def make(client: redis.Redis | None = None, events: Events | None = None, **options) -> LeaderLease:
        if client is None:
            client = redis.Redis.from_url(redis_url)
            clients.append(client)
        lease = LeaderLease(
            client,
            KEYS.leader,
            ttl_ms=TTL_MS,
            on_elected=events.elected.set if events else None,
            on_lost=events.on_lost if events else None,
            **options,
        )
        made.append(lease)
        return lease

    yield make
    for lease in made:
        lease.stop(release=False, timeout=1.0)
    for client in clients:
        client.close()


def test_only_one_process_acquires_and_holder_names_it(leases, redis_client) -> None:
    first, second = leases(), leases()
    first.tick()
    second.tick()
    assert (first.is_leader, second.is_leader) == (True, False)
    assert first.holder() == second.holder() == first.token
    host, pid, unique = first.token.split(":")
    assert (host, int(pid), len(unique)) == (socket.gethostname(), os.getpid(), 32)
    assert 0 < redis_client.pttl(KEYS.leader) <= TTL_MS


def test_renewal_keeps_the_lease_past_its_ttl(leases, redis_client) -> None:
    lease = leases()
    lease.start()
    wait_for(lambda: lease.is_leader, PATIENCE_S)
    time.sleep(TTL_MS / 1000 * 2)
    assert lease.is_leader
    assert redis_client.get(KEYS.leader) == lease.token.encode()
    assert redis_client.pttl(KEYS.leader) > TTL_MS - 700


def test_release_on_stop_lets_a_follower_take_over_at_its_next_attempt(leases, redis_client) -> None:
    events = Events()
    leader, follower = leases(events=events), leases()
    leader.start()
    assert events.elected.wait(1.0)
    follower.start()
    time.sleep(0.1)
    assert not follower.is_leader
    leader.stop()
    assert events.lost.is_set() and not leader.is_leader
    wait_for(lambda: follower.is_leader, follower.renew_interval_ms / 1000 + 0.3)
    assert follower.holder() == follower.token


def test_failover_when_the_leader_stops_renewing(leases) -> None:
    leader, follower = leases(), leases()
    leader.start()
    wait_for(lambda: leader.is_leader, PATIENCE_S)
    follower.start()
    time.sleep(0.2)
    leader.stop(release=False)  # a crash: the key stays until it expires
    assert not follower.is_leader
    took = wait_for(lambda: follower.is_leader, PATIENCE_S)
    print(f"leader takeover after {took:.2f} s (lease ttl {TTL_MS} ms, renew every {follower.renew_interval_ms} ms)")
    assert follower.holder() == follower.token


def test_a_stolen_lease_is_given_up_at_the_next_renewal(leases, redis_client) -> None:
    events = Events()
    lease = leases(events=events)
    lease.start()
    assert events.elected.wait(1.0)
    redis_client.set(KEYS.leader, "other-host:1:abc", px=TTL_MS)
    assert events.lost.wait(lease.renew_interval_ms / 1000 + 0.3)
    assert not lease.is_leader
    assert redis_client.get(KEYS.leader) == b"other-host:1:abc"


def test_leadership_lapses_before_the_key_can_expire_when_redis_is_unreachable(leases, redis_url, redis_client) -> None:
    events = Events()
    flaky = FlakyRedis.from_url(redis_url)
    leader, follower = leases(client=flaky, events=events), leases()
    leader.start()
    assert events.elected.wait(1.0)
    follower.start()
    time.sleep(0.1)

    flaky.broken = True
    cut_at = time.monotonic()
    assert events.lost.wait(TTL_MS / 1000)
    lapsed_after = time.monotonic() - cut_at
    assert lapsed_after <= (TTL_MS - leader.margin_ms) / 1000 + 0.1
    assert not leader.is_leader and events.lost_count == 1
    # Our lapse comes before the key expires, so there is never a moment with two leaders ...
    assert redis_client.get(KEYS.leader) == leader.token.encode() and not follower.is_leader
    # ... and the follower takes over once it does.
    wait_for(lambda: follower.is_leader, (TTL_MS + follower.renew_interval_ms) / 1000)
    flaky.broken = False
    time.sleep(leader.renew_interval_ms / 1000 + 0.1)
    assert not leader.is_leader and follower.is_leader


def test_release_never_deletes_another_holders_lease(leases, redis_client) -> None:
    lease = leases()
    lease.tick()
    redis_client.set(KEYS.leader, "other-host:1:abc", px=TTL_MS)
    lease.stop(release=True)
    assert redis_client.get(KEYS.leader) == b"other-host:1:abc"


def test_renew_interval_must_fit_inside_the_ttl(redis_client) -> None:
    with pytest.raises(ValueError, match="renew_interval_ms"):
        LeaderLease(redis_client, KEYS.leader, ttl_ms=1000, renew_interval_ms=900)
