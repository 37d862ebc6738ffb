"""Browser-facing protections: security headers on every response (a strict CSP under /api/, one the console
page can live with elsewhere), CORS only for the configured origins, and no cross-site writes."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from .errors import API_PREFIX, Handler, json_error

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CORS_METHODS = "GET, POST, PUT, DELETE"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE_S = "600"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def console_csp(public_url: str) -> str:
    """The console page's policy: textual-serve's page runs an inline script and styles, loads its scripts
    from the server's public URL, a web font from Google, and talks to the server over a websocket."""
    parts = urlsplit(public_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    socket = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    return "; ".join(
        [
            f"default-src 'self' {origin}",
            f"script-src 'self' {origin} 'unsafe-inline'",
            f"style-src 'self' {origin} 'unsafe-inline' https://fonts.googleapis.com",
            f"font-src 'self' {origin} https://fonts.gstatic.com data:",
            f"img-src 'self' {origin} data:",
            f"connect-src 'self' {origin} {socket}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class BrowserPolicy:
    """Security headers for every response and CORS for the allowed origins (none by default)."""

    def __init__(self, allowed_origins: tuple[str, ...], page_csp: str = API_CSP) -> None:
        self.allowed_origins = frozenset(allowed_origins)
        self.page_csp = page_csp

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.on_response_prepare.append(self.add_headers)

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        api = request.path.startswith(API_PREFIX)
        response.headers["Content-Security-Policy"] = API_CSP if api else self.page_csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not api:
            return
        response.headers["Cache-Control"] = "no-store"
        origin = request.headers.get("Origin")
        if origin in self.allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After"
        if self.allowed_origins:
            response.headers.add("Vary", "Origin")

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer CORS preflights, and refuse writes from pages of other origins (a tokenless dev-mode
        call would otherwise be a cross-site request forgery)."""
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if origin not in self.allowed_origins:
                return json_error(
                    403,
                    "cors_refused",
                    "this origin may not call the API; the server's WELLQUEUE_CORS_ORIGINS lists the origins that may",
                )
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Methods": CORS_METHODS,
                    "Access-Control-Allow-Headers": CORS_HEADERS,
                    "Access-Control-Max-Age": CORS_MAX_AGE_S,
                },
            )
        if request.method in WRITE_METHODS and origin and not self._same_or_allowed(origin, request):
            return json_error(403, "cross_origin_refused", "a page of another origin may not change anything here")
        return await handler(request)

    def _same_or_allowed(self, origin: str, request: web.Request) -> bool:
        return origin in self.allowed_origins or urlsplit(origin).netloc.lower() == request.host.lower()
