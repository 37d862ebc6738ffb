"""Bearer tokens over HTTP: 401 (with a Bearer challenge) for a missing, malformed, forged or expired token;
tokens in URLs refused; dev mode lets tokenless loopback callers act as the local identity, as the CLI does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from wellqueue_tui.auth.identity import Role
from wellqueue_tui.settings import Settings

from .conftest import SECRET, Api, declare_queues, start_api

QUEUES = "/api/jobs/queues"


def test_missing_token_is_401_with_a_bearer_challenge(api):
    reply = api.get(QUEUES)
    assert reply.status == 401 and reply.json["error"] == "unauthorized"
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="wellqueue"'


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", f"{QUEUES}/data-validation/jobs?state=bogus", None),
        ("POST", f"{QUEUES}/data-validation/jobs", {"data": "bogus"}),
        ("POST", f"{QUEUES}/data-validation/clean", {"state": "bogus"}),
        ("POST", "/api/jobs/schedules", {"name": 1}),
        ("PUT", "/api/jobs/schedules/x", {}),
    ],
)
def test_no_token_is_401_before_any_input_is_judged(api, method, path, body):
    assert api.request(method, path, body).status == 401


def _forged(api: Api) -> str:
    return jwt.encode(
        {"sub": "eve", "role": "ADMIN", "iss": "wellqueue", "aud": "wellqueue", "iat": 1, "exp": 4_000_000_000},
        "another-secret-" + "x" * 32,
        algorithm="HS256",
    )


def _expired(api: Api) -> str:
    return api.as_role(Role.ADMIN, ttl=timedelta(minutes=1), now=datetime.now(UTC) - timedelta(hours=1)).token


def _unsigned(api: Api) -> str:
    return jwt.encode(
        {"sub": "eve", "role": "ADMIN", "iss": "wellqueue", "aud": "wellqueue", "iat": 1, "exp": 4_000_000_000},
        None,
        algorithm="none",
    )


@pytest.mark.parametrize(
    "make,detail",
    [
        (_forged, "signature does not match"),
        (_expired, "token expired"),
        (_unsigned, "not accepted"),
        (lambda api: "not-a-jwt", "not a JWT"),
    ],
)
def test_bad_tokens_are_401_invalid_token(api, make, detail):
    reply = api.get(QUEUES, headers={"Authorization": f"Bearer {make(api)}"})
    assert reply.status == 401 and detail in reply.json["detail"], reply
    assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer   ", "Token abc"])
def test_other_schemes_are_401_invalid_request(api, header):
    reply = api.get(QUEUES, headers={"Authorization": header})
    assert reply.status == 401 and 'error="invalid_request"' in reply.headers["WWW-Authenticate"]


@pytest.mark.parametrize("parameter", ["access_token", "token", "jwt"])
def test_a_token_in_the_url_is_refused_even_with_a_good_header(api, parameter):
    admin = api.as_role(Role.ADMIN)
    reply = admin.get(f"{QUEUES}?{parameter}={admin.token}")
    assert reply.status == 400 and reply.json["error"] == "token_in_url" and reply.json["field"] == parameter
    assert admin.token not in reply.body.decode()


def test_a_valid_token_names_the_caller_in_the_audit(api):
    api.as_role(Role.OPERATOR, sub="otto").post("/api/jobs/queues/data-validation/pause")
    entry = api.client.xrevrange("wq:audit", count=1)[0][1]
    assert entry[b"who"] == b"otto" and entry[b"role"] == b"OPERATOR" and entry[b"outcome"] == b"ok"


def test_health_and_openapi_need_no_token(api):
    assert api.get("/api/jobs/health").status in (200, 503)
    assert api.get("/api/jobs/openapi.json").status == 200


@pytest.fixture(scope="module")
def dev_api(redis_url, tmp_path_factory) -> Iterator[Api]:
    """An API in dev mode: no REDIS_URL and no secret in its settings (its client still uses the test Redis)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("dev"))
    server, services = start_api(settings, redis_url)
    yield Api(server, services)
    server.stop()


def test_dev_mode_without_a_token_acts_as_the_local_admin(dev_api, redis_client):
    declare_queues(dev_api)
    reply = dev_api.post("/api/jobs/queues/data-validation/pause")
    assert reply.status == 200
    entry = redis_client.xrevrange("wq:audit", count=1)[0][1]
    assert entry[b"who"] == b"local" and entry[b"role"] == b"ADMIN"


def test_dev_mode_still_verifies_a_token_that_is_sent(dev_api, redis_client):
    manager = dev_api.as_role(Role.MANAGER)
    assert manager.post("/api/jobs/queues/data-validation/pause").status == 403
    assert dev_api.get(QUEUES, headers={"Authorization": "Bearer not-a-jwt"}).status == 401


def test_dev_mode_refuses_a_foreign_host_name(dev_api, redis_client):
    """A page that rebinds its own DNS name to 127.0.0.1 reaches the server with its own Host header."""
    reply = dev_api.get(QUEUES, headers={"Host": "evil.example:3003"})
    assert reply.status == 401


def test_configured_secret_means_no_dev_mode(api):
    assert api.services.settings.jwt_secret.get_secret_value() == SECRET
    assert api.get(QUEUES).status == 401
