"""Keys of one fixed kind (the queue set, the audit stream, the schedules hash, …): when Redis answers
WRONGTYPE, find the key holding the wrong kind of value and say so by name, with what to do."""

from __future__ import annotations

import redis

from ..sanitize import safe_str
from .keys import KeySchema


def expected_types(keys: KeySchema) -> dict[str, str]:
    """Every fixed key and the Redis type it must have (TYPE's answer); per-job records are checked where read."""
    return {
        keys.queues: "set",
        keys.paused: "set",
        keys.brokers: "zset",
        keys.workers: "zset",
        keys.audit: "stream",
        keys.schedules: "hash",
        keys.schedule_state: "hash",
        keys.schedules_installed: "string",
        keys.leader: "string",
    }


class WrongKeyType(redis.ResponseError):
    """A fixed key holds another kind of value than WellQueue keeps there."""

    def __init__(self, key: str, actual: str, expected: str) -> None:
        self.key, self.actual, self.expected = key, actual, expected
        super().__init__(f"{key} holds {_article(actual)}, expected {_article(expected)}: fix or delete it")


def is_wrong_type(exc: BaseException) -> bool:
    """Whether Redis refused a command (or a script's command) for a key of the wrong kind."""
    return isinstance(exc, redis.ResponseError) and "WRONGTYPE" in str(exc)


def wrong_type_keys(client: redis.Redis, keys: KeySchema | dict[str, str]) -> list[WrongKeyType]:
    """The fixed keys (of a schema, or key -> expected type) that exist with the wrong type (one pipelined
    TYPE each)."""
    expected = keys if isinstance(keys, dict) else expected_types(keys)
    with client.pipeline(transaction=False) as pipe:
        for key in expected:
            pipe.type(key)
        actual = [_text(kind) for kind in pipe.execute()]
    return [
        WrongKeyType(key, kind, wanted)
        for (key, wanted), kind in zip(expected.items(), actual)
        if kind not in ("none", wanted)
    ]


def name_wrong_type(client: redis.Redis, keys: KeySchema | dict[str, str], exc: BaseException) -> WrongKeyType | None:
    """For a WRONGTYPE error, the fixed key at fault (the first, if several are); None otherwise or if none is."""
    if isinstance(exc, WrongKeyType):
        return exc
    if not is_wrong_type(exc):
        return None
    try:
        found = wrong_type_keys(client, keys)
    except redis.RedisError:
        return None
    return found[0] if found else None


def explain_redis_error(client: redis.Redis, keys: KeySchema | dict[str, str], exc: BaseException) -> str:
    """A Redis failure for an operator: a wrong-type key by name, else the error's class and text."""
    named = name_wrong_type(client, keys, exc)
    if named is not None:
        return str(named)
    if is_wrong_type(exc):
        return f"a key holds the wrong kind of value ({safe_str(exc, 200)})"
    return safe_str(f"{type(exc).__name__}: {exc}", 300)


def _article(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
