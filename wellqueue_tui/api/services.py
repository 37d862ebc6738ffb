"""What the API's handlers share: Redis, the broker (for enqueue), the audit log, the token verifier and
the thread pool that keeps Redis calls off the event loop; one OperatorSession per request."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis
from aiohttp import web
from pydantic import ValidationError

from ..auth.audit import AuditLog
from ..auth.identity import Identity
from ..auth.secrets import is_dev_mode, load_signing_key
from ..jobs import EnqueueError, prepare_message
from ..jobs.actions import ActionError
from ..jobs.broker import WellQueueBroker, build_broker
from ..jobs.keys import KeySchema
from ..jobs.registry import Registry
from ..sanitize import safe_str
from ..session import OperatorSession
from ..settings import Settings
from .auth import Verifier
from .errors import invalid, not_found

Result = TypeVar("Result")
#: Threads for blocking Redis calls: enough to overlap round trips, few enough for a 2-core host.
REDIS_THREADS = 8


@dataclass
class ApiServices:
    settings: Settings
    registry: Registry
    broker: WellQueueBroker
    verifier: Verifier
    audit: AuditLog
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(REDIS_THREADS, "wq-api"))

    @property
    def client(self) -> redis.Redis:
        return self.registry.client

    def session(self, identity: Identity) -> OperatorSession:
        return OperatorSession(self.registry, identity, audit=self.audit)

    async def run(self, work: Callable[..., Result], *args: Any) -> Result:
        """Run blocking (Redis) work on the API's threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(work, *args))

    async def operate(self, request: web.Request, work: Callable[[OperatorSession], Result]) -> Result:
        """Identify the caller (401 if refused), then run `work` with their session off the event loop."""
        session = self.session(self.verifier.identify(request))
        return await self.run(work, session)

    def require_queue(self, name: str) -> None:
        """404 unless `name` is a queue this server has a kind for or that Redis knows of."""
        if name not in self.broker.kinds and name not in self.registry.known_queues():
            raise not_found(f"queue {name!r}")

    def submit(self, queue: str, payload: dict, options: dict[str, Any]) -> tuple[str, bool]:
        """Validate and store one job (create only); returns its id and whether it was created."""
        try:
            message, delay = prepare_message(self.broker, queue, payload, **options)
        except EnqueueError:
            try:  # validate again only to name the payload field at fault
                self.broker.kinds[queue].payload.model_validate(payload)
            except ValidationError as exc:
                raise invalid(exc, "data.") from None
            raise
        submitted = self.broker.submit(message, delay=delay, create_only=True)
        if submitted.code < 0:
            raise ActionError(
                f"job id {safe_str(message.message_id, 130)!r} belonged to a job removed moments ago; use another jobId"
            )
        return message.message_id, submitted.created

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


SERVICES = web.AppKey("wellqueue_api_services", ApiServices)


def services_of(request: web.Request) -> ApiServices:
    return request.app[SERVICES]


def build_services(settings: Settings, client: redis.Redis) -> ApiServices:
    """The API's services over `client` (needs Redis now: the broker declares the queues)."""
    registry = Registry(client, KeySchema.from_settings(settings))
    return ApiServices(
        settings=settings,
        registry=registry,
        broker=build_broker(settings=settings, client=client),
        verifier=Verifier(load_signing_key(settings), is_dev_mode(settings)),
        audit=AuditLog(client, registry.keys.audit),
    )
