"""One table entry per endpoint: the router and the OpenAPI document are both built from these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from ..auth.permissions import Action

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    ok: int = 200
    response: Any = None  # a pydantic model or type for the success body; None: see `media`
    media: str = "application/json"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    action: Action | None = None  # the permission checked; None: any valid token
    public: bool = False  # no token needed
    errors: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # more OpenAPI fields for the operation
