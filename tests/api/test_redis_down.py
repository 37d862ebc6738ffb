"""With Redis gone, every call that needs it answers 503 (JSON, Retry-After) instead of hanging or 500;
health says so too. The server keeps running and recovers when Redis is back."""

from __future__ import annotations

import secrets

import pytest

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.redis_server import RedisNotAvailable, start_redis
from wellqueue_tui.settings import Settings

from .conftest import READING, SECRET, Api, start_api


@pytest.fixture
def doomed(tmp_path):
    """An API on a Redis of its own, which the test stops."""
    try:
        server = start_redis(tmp_path / "redis", port=0, password=secrets.token_hex(8))
    except RedisNotAvailable as exc:
        pytest.skip(str(exc))
    settings = Settings(data_dir=tmp_path, jwt_secret=SECRET, redis_url=server.url)
    http, services = start_api(settings, server.url)
    yield Api(http, services), server
    http.stop()
    if server.is_alive():
        server.stop()


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/api/jobs/queues", None),
        ("GET", "/api/jobs/queues/data-validation/jobs", None),
        ("POST", "/api/jobs/queues/data-validation/jobs", {"data": READING}),
        ("GET", "/api/jobs/queues/data-validation/jobs/some-id", None),
        ("POST", "/api/jobs/queues/data-validation/jobs/some-id/retry", None),
        ("POST", "/api/jobs/queues/data-validation/pause", None),
        ("GET", "/api/jobs/stats", None),
        ("GET", "/api/jobs/metrics", None),
        ("GET", "/api/jobs/schedules", None),
    ],
)
def test_redis_down_is_503(doomed, method, path, body):
    api, server = doomed
    admin = api.as_role(Role.ADMIN)
    server.stop()
    reply = admin.request(method, path, body)
    assert reply.status == 503, reply
    assert reply.json["error"] == "redis_unavailable" and reply.headers["Retry-After"] == "5"
    health = api.get("/api/jobs/health")
    assert health.status == 503 and health.json["redis"] is False
