"""Security headers on every API response, CORS off unless origins are listed, and no writes from pages of
other origins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.settings import Settings

from .conftest import READING, SECRET, Api, start_api

ALLOWED = "https://ops.example.com"


@pytest.mark.parametrize(
    "method,path,role",
    [
        ("GET", "/api/jobs/queues", Role.MANAGER),
        ("GET", "/api/jobs/queues", None),
        ("GET", "/api/jobs/health", None),
        ("GET", "/api/jobs/metrics", Role.ADMIN),
        ("GET", "/api/jobs/nowhere", Role.ADMIN),
        ("POST", "/api/jobs/queues/data-validation/drain", Role.MANAGER),
    ],
)
def test_every_response_has_the_security_headers(api, method, path, role):
    caller = api.as_role(role) if role else api
    reply = caller.request(method, path)
    assert reply.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_cors_is_off_by_default(api):
    preflight = api.request(
        "OPTIONS", "/api/jobs/queues", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status == 403 and "Access-Control-Allow-Origin" not in preflight.headers
    reply = api.as_role(Role.MANAGER).get("/api/jobs/queues", headers={"Origin": ALLOWED})
    assert reply.status == 200 and "Access-Control-Allow-Origin" not in reply.headers


def test_writes_from_another_origin_are_refused(api):
    admin = api.as_role(Role.ADMIN)
    path = "/api/jobs/queues/data-validation/jobs"
    reply = admin.post(path, {"data": READING}, headers={"Origin": "https://evil.example"})
    assert reply.status == 403 and reply.json["error"] == "cross_origin_refused"
    same = admin.post(path, {"data": READING}, headers={"Origin": api.server.url})
    assert same.status == 201


@pytest.fixture(scope="module")
def cors_api(redis_url, tmp_path_factory) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("cors"),
        jwt_secret=SECRET,
        redis_url=redis_url,
        cors_origins=f"{ALLOWED}, http://localhost:5173",
    )
    server, services = start_api(settings, redis_url)
    yield Api(server, services)
    server.stop()


def test_listed_origins_get_cors_headers(cors_api, redis_client):
    preflight = cors_api.request(
        "OPTIONS",
        "/api/jobs/queues/data-validation/jobs",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    admin = cors_api.as_role(Role.ADMIN)
    reply = admin.post("/api/jobs/queues/data-validation/jobs", {"data": READING}, headers={"Origin": ALLOWED})
    assert reply.status == 201 and reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in reply.headers["Vary"]
    other = admin.get("/api/jobs/queues", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
