"""The API over real HTTP on loopback: an aiohttp server in a thread on a random port, against the private
redis-server of tests/conftest.py, and a small keep-alive-free client that speaks raw HTTP/1.1."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from wellqueue_tui.api import build_services, create_api_app
from wellqueue_tui.api.server import RunningServer, serve_in_thread
from wellqueue_tui.api.services import ApiServices
from wellqueue_tui.auth.identity import Role
from wellqueue_tui.auth.secrets import load_signing_key
from wellqueue_tui.auth.tokens import issue_token
from wellqueue_tui.connection import redis_client as make_redis_client
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.settings import Settings

SECRET = "api-test-secret-" + "k" * 32
SEED_DIR = Path(__file__).parent.parent / "fixtures" / "wellflow"  # WellFlow's examples, byte for byte
ROLES = (Role.ADMIN, Role.OPERATOR, Role.MANAGER)

#: Valid payloads of today's payload models (the seed document's own examples are in seed_payloads/).
READING = {
    "wellId": "WELL-TX-0001",
    "leaseId": "LEASE-1",
    "operatorId": "OP-1",
    "location": {"latitude": 31.99, "longitude": -102.07, "county": "Midland", "state": "TX"},
    "production": {"oil": 150.5, "gas": 1200, "water": 45.2},
    "validationType": "daily_production",
}
ALERT = {"type": "alert", "subject": "Pump 7 pressure high", "recipients": ["ops@example.com"]}


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:300]!r})"


class Api:
    """Calls the running server; `as_role` gives a client carrying a token for that role (and org)."""

    def __init__(self, server: RunningServer, services: ApiServices, token: str | None = None) -> None:
        self.server = server
        self.services = services
        self.token = token

    @property
    def client(self) -> redis.Redis:
        return self.services.client

    def as_role(self, role: Role | str, org: str | None = None, sub: str | None = None, **claims: Any) -> Api:
        key = load_signing_key(self.services.settings)
        token = issue_token(key, sub=sub or f"{str(role).lower()}-user", role=role, org=org, **claims)
        return Api(self.server, self.services, token)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def enqueue(self, queue: str, data: dict, **opts: Any) -> str:
        """Enqueue through the API (as this client) and return the new job's id."""
        reply = self.post(f"/api/jobs/queues/{queue}/jobs", {"data": data, "opts": opts})
        assert reply.status == 201, reply
        return reply.json["id"]


def start_api(settings: Settings, redis_url: str) -> tuple[RunningServer, ApiServices]:
    services = build_services(settings, make_redis_client(redis_url))
    return serve_in_thread(create_api_app(services)), services


@pytest.fixture(scope="module")
def api_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One API server per test module, with a configured secret (not dev mode)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), jwt_secret=SECRET, redis_url=redis_url)
    server, services = start_api(settings, redis_url)
    yield Api(server, services)
    server.stop()


@pytest.fixture
def api(api_server: Api, redis_client: redis.Redis) -> Api:
    """The module's server on an emptied Redis (with its queues declared, as at start-up), without a token."""
    return declare_queues(api_server)


def declare_queues(api: Api) -> Api:
    """Declare the server's queues again after a test emptied Redis (the broker does it at start-up)."""
    api.client.sadd(KEYS.queues, *api.services.broker.kinds)
    return api


def move_state(client: redis.Redis, job_id: str, new: str, *, at_ms: float | None = None) -> None:
    """Put a job into another state the way the registry scripts do (for failed/completed fixtures)."""
    queue, org, old = (v.decode() if v else None for v in client.hmget(KEYS.job(job_id), "queue", "org", "state"))
    score = at_ms if at_ms is not None else client.time()[0] * 1000
    with client.pipeline() as pipe:
        for scope in {None, org or None}:
            pipe.zrem(KEYS.state(queue, old, scope), job_id)
            pipe.zadd(KEYS.state(queue, new, scope), {job_id: score})
        pipe.hset(KEYS.job(job_id), mapping={"state": new, "finished_at": score})
        pipe.execute()


def last_audit(client: redis.Redis) -> dict[str, str]:
    entries = client.xrevrange("wq:audit", count=1)
    assert entries, "no audit entry"
    return {k.decode(): v.decode() for k, v in entries[0][1].items()}


def stored_job_ids(client: redis.Redis) -> list[bytes]:
    return [key for key in client.scan_iter("wq:job:*", count=1000) if not key.endswith(b":log")]


def token_for(api: Api, role: Role, org: str | None = None, ttl: timedelta | None = None) -> str:
    key = load_signing_key(api.services.settings)
    return issue_token(key, sub=f"{role.lower()}-user", role=role, org=org, **({"ttl": ttl} if ttl else {}))
