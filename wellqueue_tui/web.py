"""The console in a browser (`wellqueue serve`): textual-serve runs one console process per browser
session; each starts at the sign-in screen and runs with its token's role and scope until the token
expires. Tokens are typed in, never put in URLs (RFC 6750 §2.3 / RFC 9700 §4.3.2).
The REST API (`/api/jobs/*`) is served by the same aiohttp application, on the same port."""

from __future__ import annotations

import functools
import shlex
import sys
import time
from typing import cast

from textual import events

from .app import WellQueueApp
from .auth.secrets import load_signing_key
from .auth.tokens import TokenClaims, read_claims
from .connection import redis_client, resolve_redis_url
from .console_data import ConsoleSource
from .jobs import enqueue
from .jobs.broker import build_broker
from .jobs.keys import KeySchema
from .jobs.kind import all_kinds
from .jobs.registry import Registry
from .screens.signin import SignInScreen
from .session import OperatorSession
from .settings import Settings, load_settings

EXPIRY_CHECK_S = 5.0


class WebConsoleApp(WellQueueApp):
    """The console behind a sign-in screen; it exits when the token expires."""

    def __init__(self, settings: Settings, registry: Registry, enqueue_fn=None, **kwargs) -> None:
        # No source until someone signs in; nothing reads it before (on_mount waits for the sign-in).
        super().__init__(source=cast(ConsoleSource, None), **kwargs)
        self.settings = settings
        self.registry = registry
        self.enqueue_fn = enqueue_fn
        self.expires_at: float | None = None

    def on_mount(self, event: events.Mount) -> None:  # type: ignore[override]  # Textual passes the event when asked
        event.prevent_default()  # the console proper starts only after sign-in (WellQueueApp.on_mount)
        key = load_signing_key(self.settings)
        self.push_screen(SignInScreen(lambda token: read_claims(key, token)), callback=self.signed_in)

    def signed_in(self, claims: TokenClaims | None) -> None:
        if claims is None:
            return
        self.source = OperatorSession(
            self.registry, claims.identity, enqueue_fn=self.enqueue_fn, kinds=all_kinds(self.settings.kind_modules)
        )
        self.expires_at = float(claims.exp)
        WellQueueApp.on_mount(self)
        self.set_interval(EXPIRY_CHECK_S, self.check_expiry)

    def check_expiry(self) -> None:
        if self.expires_at is not None and time.time() >= self.expires_at:
            self.exit(message="Your token expired: sign in again with a fresh one.")


def console_command() -> str:
    return f"{shlex.quote(sys.executable)} -m wellqueue_tui.web"


def serve(host: str = "127.0.0.1", port: int = 3003, *, api_only: bool = False) -> None:
    """Serve the browser console and the REST API on host:port (only the API with `api_only`)."""
    from .api import build_services
    from .api.hosting import serve_api, serve_console_and_api

    settings = load_settings()
    services = build_services(settings, redis_client(resolve_redis_url(settings)))
    if api_only:
        serve_api(services, host, port)
    else:
        serve_console_and_api(console_command(), services, host, port)


def main() -> None:
    """One browser session's console process."""
    settings = load_settings()
    url = resolve_redis_url(settings)
    client = redis_client(url)
    broker = build_broker(url, settings=settings, client=client)
    WebConsoleApp(
        settings,
        Registry(client, KeySchema.from_settings(settings)),
        enqueue_fn=functools.partial(enqueue, broker=broker),
    ).run()


if __name__ == "__main__":
    main()
