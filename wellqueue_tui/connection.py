"""Redis clients from settings (redis://, rediss://, unix://, redis+sentinel://) and the server safety check."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

import redis
import redis.sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from wellqueue_tui.redis_server import ensure_embedded

if TYPE_CHECKING:
    from wellqueue_tui.settings import Settings

SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_PORT = 26379


class UnsafeRedisConfig(RuntimeError):
    """The Redis server is configured in a way that can silently lose jobs."""


@dataclass(frozen=True)
class SentinelTarget:
    """What a `redis+sentinel://` URL names: the sentinels, the master's service name and db, and its auth."""

    sentinels: list[tuple[str, int]]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL when configured, else the embedded Redis in the data dir (started if needed)."""
    return settings.redis_url or ensure_embedded(settings.data_dir)


def redis_client(url: str, **kwargs: Any) -> redis.Redis:
    """A bytes-mode client for `url`; errors surface quickly for callers to handle (no timeout retries)."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "health_check_interval": 15,
        "decode_responses": False,  # Dramatiq's messages are bytes
        # A worker process uses a connection per thread and per consumer; redis-py's default cap of 100
        # made jobs fail with MaxConnectionsError beyond ~100 threads.
        "max_connections": 1024,
        # One quick retry replaces a pooled connection the server dropped; timeouts are not retried,
        # so an outage raises within the socket timeouts instead of after a long backoff.
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), 1, supported_errors=(redis.ConnectionError,)),
    }
    options.update(kwargs)
    if urlsplit(url).scheme == SENTINEL_SCHEME:
        return _sentinel_master(parse_sentinel_url(url), options)
    return redis.Redis.from_url(url, **options)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """Parse `redis+sentinel://[[user]:password@]host1:port1,host2:port2/service_name[/db]`."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"REDIS_URL: expected a {SENTINEL_SCHEME}:// URL, got {parts.scheme or 'no'} scheme")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, password = None, None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    sentinels = [_sentinel_address(item) for item in hostlist.split(",") if item.strip()]
    if not sentinels:
        raise ValueError("REDIS_URL: a redis+sentinel:// URL needs at least one sentinel host:port")
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError(
            "REDIS_URL: a redis+sentinel:// URL needs the service name as its path, e.g. /mymaster or /mymaster/0"
        )
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise ValueError(f"REDIS_URL: the database after the service name must be a number, got {path[1]!r}")
        db = int(path[1])
    return SentinelTarget(sentinels, unquote(path[0]), db, username, password)


def _sentinel_address(item: str) -> tuple[str, int]:
    item = item.strip()
    match = re.fullmatch(r"\[(?P<v6>[^\]]+)\](?::(?P<v6port>\d+))?|(?P<host>[^:\[\]]+)(?::(?P<port>\d+))?", item)
    if match is None:
        raise ValueError(f"REDIS_URL: sentinel address {item!r} is not host:port")
    host = match["v6"] or match["host"]
    port = int(match["v6port"] or match["port"] or DEFAULT_SENTINEL_PORT)
    if not 0 < port < 65536:
        raise ValueError(f"REDIS_URL: sentinel port {port} in {item!r} is out of range")
    return host, port


def _sentinel_master(target: SentinelTarget, options: dict[str, Any]) -> redis.Redis:
    # The URL's password authenticates to the master; sentinels commonly run without auth.
    sentinel = redis.sentinel.Sentinel(
        target.sentinels,
        socket_timeout=options.get("socket_timeout"),
        sentinel_kwargs={"socket_connect_timeout": options.get("socket_connect_timeout")},
    )
    return sentinel.master_for(
        target.service_name,
        db=target.db,
        username=target.username,
        password=target.password,
        **options,
    )


def check_server(client: redis.Redis) -> list[str]:
    """Refuse an evicting Redis (raises UnsafeRedisConfig); return warnings about weak persistence.

    Reads INFO rather than CONFIG GET, which managed services and ACLs often deny.
    """
    try:
        memory = client.info("memory")
        persistence = client.info("persistence")
    except redis.ResponseError as exc:
        return [
            f"could not read INFO from Redis ({exc}); make sure maxmemory-policy is noeviction "
            "and AOF is on, or jobs can be lost"
        ]
    policy = _text(memory.get("maxmemory_policy", "noeviction"))
    if policy != "noeviction":
        raise UnsafeRedisConfig(
            f"Redis maxmemory-policy is {policy!r}: when memory fills, Redis would silently delete queued jobs "
            "and their state. Queues need 'noeviction', which rejects writes instead. "
            "Fix: run `CONFIG SET maxmemory-policy noeviction` on the server (and set it in redis.conf)."
        )
    if int(persistence.get("aof_enabled", 0)):
        return []
    if _rdb_schedule(client):
        return [
            "Redis AOF is off: RDB snapshots alone can lose minutes of acknowledged jobs after a crash. "
            "Fix: `CONFIG SET appendonly yes` (live; restarting with only the config changed loses the data)."
        ]
    return [
        "Redis persistence is off (no AOF, no RDB snapshots): a restart loses every job. "
        "Fix: `CONFIG SET appendonly yes` on the server (and set it in redis.conf)."
    ]


def _rdb_schedule(client: redis.Redis) -> bool:
    """Whether RDB snapshots are scheduled; assume yes when CONFIG is denied (we only warn either way)."""
    try:
        value = client.config_get("save").get("save", "")
    except redis.ResponseError:
        return True
    return bool(_text(value).strip())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def reply_text(value: bytes | str, errors: str = "strict") -> str:
    """A Redis reply as text: our clients never decode replies, but redis-py types each one as bytes or str."""
    return value.decode("utf-8", errors) if isinstance(value, bytes) else value


def reply_texts(members: Iterable[Any], errors: str = "strict") -> list[str]:
    """The members of a SMEMBERS, SCAN or score-less ZRANGE reply as text (redis-py types ZRANGE as maybe scored)."""
    return [reply_text(member, errors) for member in members]


def describe_url(url: str) -> str:
    """The URL with any password masked, safe for headers and logs."""
    masked = re.sub(r"(?i)([?&](?:password|sentinel_password)=)[^&#]*", r"\1***", url)
    scheme, sep, rest = masked.partition("://")
    if not sep:
        return masked
    authority, slash, tail = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        authority = f"{user}:***@{hosts}"
    return f"{scheme}://{authority}{slash}{tail}"


_Value = TypeVar("_Value")


def transaction_value(client: redis.Redis, apply: Callable[[redis.client.Pipeline], _Value], *watches: str) -> _Value:
    """`client.transaction(..., value_from_callable=True)`: what `apply` returns (redis-py types it as None)."""
    return cast(_Value, client.transaction(apply, *watches, value_from_callable=True))  # type: ignore[arg-type]
