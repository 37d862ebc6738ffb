"""Put the API on an aiohttp application: on the console's own (textual-serve) app, or on one of its own
for `serve(api_only=True)`."""

from __future__ import annotations

from aiohttp import web

from .bodies import MAX_BODY_BYTES
from .errors import error_middleware
from .openapi import endpoints
from .security import API_CSP, BrowserPolicy
from .services import SERVICES, ApiServices


def install_api(app: web.Application, services: ApiServices, *, page_csp: str = API_CSP) -> None:
    """Add the `/api/jobs/*` routes, their middlewares and the security headers to `app` (before it starts).
    `page_csp` is the policy for responses outside /api/ (the console's page)."""
    app[SERVICES] = services
    BrowserPolicy(services.settings.cors_origin_list, page_csp).install(app)
    app.middlewares.append(error_middleware)  # innermost: errors become JSON before the headers are added
    for endpoint in endpoints():
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)

    async def close_services(_app: web.Application) -> None:
        services.close()

    app.on_cleanup.append(close_services)


def create_api_app(services: ApiServices) -> web.Application:
    """An application serving only the API."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    install_api(app, services)
    return app
