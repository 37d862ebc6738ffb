"""What every `wellqueue` command is handed: the parsed arguments and, resolved on first use, the settings,
the Redis client, the registry, the operator's identity and session, and a broker for enqueuing."""

from __future__ import annotations

import argparse
import sys

import redis

from ..auth.identity import Identity
from ..auth.tokens import authenticate
from ..connection import check_server, describe_url, redis_client, resolve_redis_url
from ..jobs.keys import KeySchema
from ..jobs.registry import Registry
from ..session import OperatorSession
from ..settings import Settings, load_settings

EXIT_USAGE = 2


class CliError(Exception):
    """A failure to report on stderr with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class CliContext:
    """What a command needs, resolved lazily: settings, Redis, the registry, the operator."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._settings: Settings | None = None
        self._url: str | None = None
        self._client: redis.Redis | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = resolve_redis_url(self.settings)
        return self._url

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis_client(self.url)
            for warning in check_server(self._client):
                print(f"warning: {warning}", file=sys.stderr)
        return self._client

    @property
    def registry(self) -> Registry:
        return Registry(self.client, self.keys)

    @property
    def keys(self) -> KeySchema:
        return KeySchema.from_settings(self.settings)

    def identity(self) -> Identity:
        return authenticate(self.settings, getattr(self.args, "token", None))

    def session(self) -> OperatorSession:
        return OperatorSession(self.registry, self.identity())

    def broker(self):
        from ..jobs.broker import build_broker, use_broker

        broker = build_broker(self.url, settings=self.settings, client=self.client)
        use_broker(broker)
        return broker

    def explain_redis_error(self, exc: BaseException) -> str:
        """A Redis refusal for the operator: a wrong-type key by name, else the error itself."""
        from ..jobs.key_types import explain_redis_error

        if self._client is None:
            return str(exc)
        return explain_redis_error(self._client, self.keys, exc)

    def redis_label(self) -> str:
        """The Redis a failure happened on, for error messages (without its password)."""
        return describe_url(self._url) if self._url else "Redis"

    def close(self) -> None:
        """Close the Redis connection if a command opened one."""
        if self._client is not None:
            self._client.close()
