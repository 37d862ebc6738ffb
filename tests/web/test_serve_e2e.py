"""`wellqueue serve` end to end in real headless Chromium: sign in with an OPERATOR token, see the queues,
retry a failed job. Screen text is read from the terminal stream the browser receives over its websocket."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.models import STATES, JobState
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here: `apt-get install chromium` (CI installs it)"
)

SECRET = "web-e2e-secret-" + "x" * 32
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b.")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


READING = {
    "wellId": "WELL-TX-0001",
    "leaseId": "LEASE-1",
    "operatorId": "OP-1",
    "location": {"latitude": 31.99, "longitude": -102.07, "county": "Midland", "state": "TX"},
    "production": {"oil": 150.5, "gas": 1200, "water": 45.2},
    "validationType": "daily_production",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Each browser session boots a console process; on a busy machine that takes a while. Waits end early.
PATIENCE_S = 90.0


class Screen:
    """Everything the browser received on the console's websocket, as plain text."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.page = None  # Playwright delivers frames only while the test waits through the page

    def on_frame(self, payload) -> None:
        data = payload if isinstance(payload, (bytes, bytearray)) else payload.encode()
        self.chunks.append(ANSI.sub("", data.decode("utf-8", "replace")))

    def text(self) -> str:
        return "".join(self.chunks)

    def wait_for(self, *needles: str, timeout: float = PATIENCE_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(n in self.text() for n in needles):
                return
            self.page.wait_for_timeout(200)
        raise AssertionError(f"never saw {needles!r}; last text: {self.text()[-800:]!r}")


@pytest.fixture
def web_env(redis_client, redis_url, tmp_path, monkeypatch):
    env = {"REDIS_URL": redis_url, "WELLQUEUE_DATA_DIR": str(tmp_path), "WELLQUEUE_JWT_SECRET": SECRET}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **env}


def test_operator_signs_in_sees_queues_and_retries_a_failed_job(web_env, redis_url, tmp_path):
    settings = Settings(data_dir=tmp_path, jwt_secret=SECRET)
    broker = build_broker(redis_url, settings=settings)
    registry = Registry(broker.client, broker.keys)
    failed = enqueue("data-validation", READING, broker=broker, attempts=1)
    broker.client.hset(f"wq:job:{failed}", mapping={"state": "failed", "error": "SMTP relay down"})
    broker.client.zrem("wq:q:data-validation:waiting", failed)
    broker.client.zadd("wq:q:data-validation:failed", {failed: time.time() * 1000})
    token = issue_token(load_signing_key(settings), sub="web-operator", role=Role.OPERATOR, ttl=timedelta(minutes=10))

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "wellqueue_tui.cli", "serve", "--port", str(port)],
        env=web_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    screen = Screen()
    try:
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        with playwright.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            screen.page = page
            page.on("websocket", lambda ws: ws.on("framereceived", screen.on_frame))
            page.goto(f"http://127.0.0.1:{port}/")
            screen.wait_for("sign in")
            page.locator(".xterm-screen").click()
            page.keyboard.type(token)
            page.keyboard.press("Enter")
            screen.wait_for("data-validation", "report-generation", "email-notifications", "web-operator")
            assert token not in page.url
            page.keyboard.press("Enter")  # the first queue: data-validation
            screen.wait_for("Filter")  # the queue screen's footer
            for _ in range(STATES.index(JobState.FAILED) - STATES.index(JobState.WAITING)):  # the tabs to "failed"
                page.keyboard.press("l")
                page.wait_for_timeout(300)
            screen.wait_for(failed[:8])
            page.keyboard.press("r")
            deadline = time.monotonic() + PATIENCE_S
            while registry.get_job(failed).summary.state != "waiting" and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    assert registry.get_job(failed).summary.state == "waiting"
    audit = broker.client.xrevrange("wq:audit", count=1)[0][1]
    assert audit[b"who"] == b"web-operator" and audit[b"action"] == b"retry" and audit[b"outcome"] == b"ok"
