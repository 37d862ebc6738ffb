"""Running an example pack on the private Redis: a broker with the pack's kinds, an in-process worker on its
queues, the document's example payloads from tests/fixtures/<pack>, and a fake provider on loopback.

This directory has no `__init__.py` on purpose: as a package it would be named `examples` and shadow the
top-level `examples` package the tests load the packs from.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings

from jobs.conftest import make_broker, running_worker, state_of, wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEADLINE_S = 90.0


def example(pack: str, name: str) -> dict:
    """One of the document's example payloads, as copied into tests/fixtures/<pack>/<name>.json."""
    return json.loads((FIXTURES / pack / f"{name}.json").read_text())


@dataclass
class PackRun:
    broker: object
    registry: Registry
    settings: Settings

    def finished(self, job_id: str) -> str:
        wait_for(lambda: state_of(self.registry, job_id) in ("completed", "failed"), timeout=DEADLINE_S)
        return state_of(self.registry, job_id)

    def completed(self, job_id: str):
        """The job's detail once it completed; fails the test with the job's error otherwise."""
        state = self.finished(job_id)
        job = self.registry.get_job(job_id)
        assert state == "completed", job.summary.error
        return job

    def failed(self, job_id: str):
        assert self.finished(job_id) == "failed"
        return self.registry.get_job(job_id)


@pytest.fixture
def pack_settings(tmp_path: Path) -> Settings:
    """The worker's settings: its own data dir; loopback webhook targets allowed for the fake receivers."""
    return Settings(data_dir=tmp_path / "worker", webhook_allowed_networks=["127.0.0.1/32"])


@contextlib.contextmanager
def run_pack(redis_url: str, settings: Settings, module: str, threads: int = 3) -> Iterator[PackRun]:
    """The pack's kinds on a broker, and a worker on every queue of the pack."""
    kinds = list(importlib.import_module(module).KINDS)
    queues = [kind.queue for kind in kinds]
    with make_broker(redis_url, settings, kinds) as broker, running_worker(broker, threads=threads, queues=queues):
        yield PackRun(broker, Registry(broker.client, broker.keys), settings)


# --- a provider on loopback ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


Route = Callable[[Received], tuple[int, dict]]


@dataclass
class FakeProvider:
    """A real HTTP server in a thread: answers each (method, path) with its route, records every request."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def route(self, method: str, path: str, answer: Route | tuple[int, dict]) -> None:
        self.routes[(method, path)] = answer if callable(answer) else (lambda _request, fixed=answer: fixed)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path.split("?")[0] == path]


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    provider = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            provider.received.append(request)
            route = provider.routes.get((self.command, self.path.split("?")[0]))
            status, body = route(request) if route else (404, {"error": f"no route {self.command} {self.path}"})
            content = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
