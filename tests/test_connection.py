"""Redis clients from URLs (incl. Sentinel parsing), the server safety check, and password masking."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
import redis.sentinel

from wellqueue_tui import connection
from wellqueue_tui.connection import (
    SentinelTarget,
    UnsafeRedisConfig,
    check_server,
    describe_url,
    parse_sentinel_url,
    redis_client,
    resolve_redis_url,
)
from wellqueue_tui.redis_server import free_port, start_redis


def test_parse_sentinel_url_with_hosts_password_and_db() -> None:
    target = parse_sentinel_url("redis+sentinel://:s%40cret@10.0.0.1:26380,sentinel-b:26381,[::1]:26382/jobs-master/3")
    assert target == SentinelTarget(
        sentinels=[("10.0.0.1", 26380), ("sentinel-b", 26381), ("::1", 26382)],
        service_name="jobs-master",
        db=3,
        username=None,
        password="s@cret",
    )


def test_parse_sentinel_url_defaults() -> None:
    target = parse_sentinel_url("redis+sentinel://ops:pw@sentinel-a,sentinel-b/mymaster")
    assert target.sentinels == [("sentinel-a", 26379), ("sentinel-b", 26379)]
    assert (target.service_name, target.db, target.username, target.password) == ("mymaster", 0, "ops", "pw")
    assert parse_sentinel_url("redis+sentinel://s1:1/m/").password is None


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("redis+sentinel://s1:26379", "service name"),
        ("redis+sentinel://s1:26379/m/zero", "must be a number"),
        ("redis+sentinel://s1:26379/m/0/extra", "service name"),
        ("redis+sentinel:///mymaster", "at least one sentinel"),
        ("redis+sentinel://s1:99999/m", "out of range"),
        ("redis+sentinel://s1:port/m", "not host:port"),
        ("redis://localhost:6390/0", "expected a redis\\+sentinel"),
    ],
)
def test_parse_sentinel_url_rejects_bad_urls(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_sentinel_url(url)


def test_sentinel_client_targets_the_named_master_without_connecting() -> None:
    client = redis_client("redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/jobs/2")
    pool = client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    assert pool.service_name == "jobs"
    assert [conn.connection_pool.connection_kwargs["port"] for conn in pool.sentinel_manager.sentinels] == [1, 2]
    kwargs = client.get_connection_kwargs()
    assert (kwargs["password"], kwargs["db"], kwargs["decode_responses"]) == ("pw", 2, False)


def test_client_defaults_and_overrides(tmp_path: Path) -> None:
    kwargs = redis_client("redis://:pw@127.0.0.1:1/4").get_connection_kwargs()
    assert kwargs["socket_connect_timeout"] == 2 and kwargs["socket_timeout"] == 5
    assert kwargs["health_check_interval"] == 15 and kwargs["decode_responses"] is False
    assert kwargs["db"] == 4 and kwargs["password"] == "pw"
    assert kwargs["retry"].get_retries() == 1

    overridden = redis_client("redis://127.0.0.1:1/0", socket_timeout=0.5, decode_responses=True)
    assert overridden.get_connection_kwargs()["socket_timeout"] == 0.5
    assert overridden.get_connection_kwargs()["decode_responses"] is True

    sock = tmp_path / "r.sock"
    unix_kwargs = redis_client(f"unix://{sock}?password=pw").get_connection_kwargs()
    assert unix_kwargs["path"] == str(sock) and unix_kwargs["password"] == "pw"


def test_unreachable_server_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """One quick retry, not redis-py's default 10 backoff retries (which would take seconds)."""
    client = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    connects: list[object] = []
    real_connect = redis.connection.Connection._connect
    monkeypatch.setattr(
        redis.connection.Connection, "_connect", lambda self: connects.append(self) or real_connect(self)
    )
    with pytest.raises(redis.ConnectionError):
        client.ping()
    assert 1 <= len(connects) <= 2


def test_resolve_prefers_redis_url_else_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Path] = []
    monkeypatch.setattr(connection, "ensure_embedded", lambda data_dir: started.append(data_dir) or "unix:///x.sock")
    assert resolve_redis_url(SimpleNamespace(redis_url="redis://db:6379/0", data_dir=tmp_path)) == "redis://db:6379/0"
    assert started == []
    assert resolve_redis_url(SimpleNamespace(redis_url=None, data_dir=tmp_path)) == "unix:///x.sock"
    assert started == [tmp_path]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@db:6379/0", "redis://:***@db:6379/0"),
        ("rediss://ops:hunter2@db.example:6380/1", "rediss://ops:***@db.example:6380/1"),
        ("unix:///var/wq/redis.sock?password=hunter2&db=0", "unix:///var/wq/redis.sock?password=***&db=0"),
        ("redis+sentinel://:hunter2@s1:26379,s2:26379/jobs", "redis+sentinel://:***@s1:26379,s2:26379/jobs"),
        ("redis://ops@db:6379/0", "redis://ops@db:6379/0"),
        ("redis://db:6379/0", "redis://db:6379/0"),
    ],
)
def test_describe_url_masks_passwords(url: str, shown: str) -> None:
    assert describe_url(url) == shown
    assert "hunter2" not in describe_url(url)


def test_check_server_accepts_the_session_server(redis_client: redis.Redis) -> None:
    assert check_server(redis_client) == []


@pytest.mark.integration
def test_check_server_refuses_an_evicting_server(tmp_path: Path) -> None:
    server = start_redis(tmp_path, port=0, extra_config={"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru"})
    try:
        with pytest.raises(UnsafeRedisConfig, match="allkeys-lru") as caught:
            check_server(redis_client(server.url))
        assert "CONFIG SET maxmemory-policy noeviction" in str(caught.value)
    finally:
        server.stop()


@pytest.mark.integration
def test_check_server_warns_about_weak_persistence(tmp_path: Path) -> None:
    server = start_redis(tmp_path, port=0, appendonly=False)
    try:
        client = redis_client(server.url)
        (warning,) = check_server(client)
        assert "persistence is off" in warning and "appendonly yes" in warning

        client.config_set("save", "3600 1")
        (warning,) = check_server(client)
        assert "RDB snapshots alone" in warning
    finally:
        server.stop()


def test_check_server_warns_when_info_is_unavailable(fake_redis: redis.Redis) -> None:
    (warning,) = check_server(fake_redis)  # fakeredis has no INFO, like an ACL that denies it
    assert "could not read INFO" in warning and "noeviction" in warning
