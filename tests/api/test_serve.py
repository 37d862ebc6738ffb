"""`wellqueue serve` puts the API on the console's port; `--api-only` serves the API without the console.
In Chromium, the console page loads under its CSP without a single violation."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.settings import Settings

from .conftest import SECRET

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def run_serve(redis_url: str, data_dir, *extra: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "WELLQUEUE_DATA_DIR": str(data_dir), "WELLQUEUE_JWT_SECRET": SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "wellqueue_tui.cli", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                fetch(f"{base}/api/jobs/openapi.json")
                break
            except OSError:
                assert process.poll() is None, "wellqueue serve exited"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def token(tmp_path) -> str:
    return issue_token(load_signing_key(Settings(data_dir=tmp_path, jwt_secret=SECRET)), sub="web", role=Role.MANAGER)


@pytest.fixture
def console(redis_client, redis_url, tmp_path) -> Iterator[str]:
    yield from run_serve(redis_url, tmp_path)


@pytest.fixture
def api_only(redis_client, redis_url, tmp_path) -> Iterator[str]:
    yield from run_serve(redis_url, tmp_path, "--api-only")


def test_console_and_api_share_the_port(console, token):
    status, headers, body = fetch(f"{console}/")
    assert status == 200 and b"textual-terminal" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = fetch(f"{console}/static/js/textual.js")
    assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = fetch(f"{console}/api/jobs/queues", token)
    assert status == 200 and headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert fetch(f"{console}/api/jobs/queues")[0] == 401


def test_api_only_serves_no_console(api_only, token):
    assert fetch(f"{api_only}/")[0] == 404
    assert fetch(f"{api_only}/api/jobs/queues", token)[0] == 200


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here: `apt-get install chromium` (CI installs it)")
def test_console_page_runs_under_its_csp(console):
    playwright = pytest.importorskip("playwright.sync_api")
    messages: list[str] = []
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("console", lambda message: messages.append(message.text))
        for host in ("127.0.0.1", "localhost"):  # the public URL names 127.0.0.1; the page may be opened as either
            page.goto(console.replace("127.0.0.1", host) + "/")
            deadline = time.monotonic() + 20
            while "-first-byte" not in page.evaluate("document.body.className") and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            assert "-first-byte" in page.evaluate("document.body.className")  # the terminal got the console's output
        browser.close()
    assert not [m for m in messages if "Content Security Policy" in m], messages
