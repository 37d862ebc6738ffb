"""Run the API as a server: on textual-serve's aiohttp application next to the browser console, or alone."""

from __future__ import annotations

from aiohttp import web
from textual_serve.server import Server

from .app import create_api_app, install_api
from .security import console_csp
from .services import ApiServices


class ConsoleServer(Server):
    """textual-serve's server whose application also carries the API and the security headers."""

    def __init__(self, command: str, services: ApiServices, **kwargs) -> None:
        super().__init__(command, **kwargs)
        self.services = services

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        install_api(app, self.services, page_csp=console_csp(self.public_url))
        return app


def serve_console_and_api(command: str, services: ApiServices, host: str, port: int) -> None:
    ConsoleServer(command, services, host=host, port=port, title="WellQueue").serve()


def serve_api(services: ApiServices, host: str, port: int) -> None:
    web.run_app(
        create_api_app(services),
        host=host,
        port=port,
        access_log=None,
        print=lambda *_: print(f"WellQueue API on http://{host}:{port}/api/jobs/ (Ctrl+C to stop)"),
    )
