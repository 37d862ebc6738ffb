"""Session fixtures: one private redis-server for integration tests, and fakeredis for unit tests; `async def`
tests run in their own event loop."""

from __future__ import annotations

import asyncio
import inspect
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import redis

# The package is not necessarily pip-installed into the venv; tests import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wellqueue_tui.redis_server import RedisNotAvailable, RedisProcess, start_redis, stop_embedded

#: Tests that ask for any of these need the real server, so they get the `integration` marker.
REAL_REDIS_FIXTURES = frozenset({"redis_server", "redis_url", "redis_client"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_REDIS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (Pilot tests; no asyncio plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


@pytest.fixture(scope="session", autouse=True)
def private_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test reaches the user's data dir or a Redis named in the shell: the default data dir is a session temp
    dir (an embedded Redis a test starts there is stopped at the end) and REDIS_URL is unset unless a test sets it."""
    data_dir = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as env:
        for name in ("REDIS_URL", "WELLQUEUE_REDIS_URL", "WELLQUEUE_TOKEN"):
            env.delenv(name, raising=False)
        env.setenv("WELLQUEUE_DATA_DIR", str(data_dir))
        yield data_dir
    stop_embedded(data_dir)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A private redis-server (AOF, noeviction, loopback, random port and password) for the whole session."""
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"), port=0, password=secrets.token_hex(16))
    except RedisNotAvailable as exc:
        pytest.skip(str(exc))
    yield server
    if server.is_alive():
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisProcess) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A bytes client on the private server, emptied before the test (we own that server)."""
    client = redis.Redis.from_url(redis_url, decode_responses=False, socket_connect_timeout=2, socket_timeout=5)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def fake_redis() -> Iterator[fakeredis.FakeRedis]:
    """An in-process fake Redis with Lua, for fast unit tests (a fresh server each test)."""
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield client
    client.close()
