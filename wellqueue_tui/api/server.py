"""Run an aiohttp application on a real TCP port from a background thread (tests, benchmarks, embedding)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from aiohttp import web


@dataclass
class RunningServer:
    """An application listening on host:port; `stop()` shuts it down and joins its thread."""

    loop: asyncio.AbstractEventLoop
    runner: web.AppRunner
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def serve_in_thread(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start `app` on host:port (0 picks a free port) in a daemon thread; returns once it accepts connections."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, host, port)
    loop.run_until_complete(site.start())
    chosen = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, name=f"wq-http-{chosen}", daemon=True)
    thread.start()
    return RunningServer(loop, runner, thread, host, chosen)
