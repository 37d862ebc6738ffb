"""Job kind registration: what a queue's processor is, and loading the kind modules by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .context import JobContext

#: The kind pack shipped with WellQueue; loaded by name so the engine never imports it.
BUILT_IN_KIND_MODULES = ("wellqueue_tui.wellflow",)


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad data, refused target): fail at once."""


@dataclass(frozen=True)
class JobKind:
    """A queue's processor: the Dramatiq actor is built from this by `jobs.broker`."""

    name: str  # the Dramatiq actor name
    queue: str
    payload: type[BaseModel]
    process: Callable[[Any, JobContext], dict | None]
    max_attempts: int = 3
    backoff_ms: int = 2000
    timeout_ms: int = 10 * 60_000
    # the priority a validated payload asks for when the caller gave none (1 = highest, None = default)
    priority_of: Callable[[Any], int | None] | None = None
    # the payload field naming the tenant, copied into the message as `wq_org` (None: no tenant)
    tenant_field: str | None = "organizationId"
    # a valid payload to start from when an operator adds a job of this kind in the console (None: `{}`);
    # left out of the hash, so kinds stay usable as cache keys (the OpenAPI document)
    example: dict | None = field(default=None, hash=False, compare=False)
    # the outside service a raw payload calls (e.g. a webhook's host), for per-destination circuit breakers
    destination_of: Callable[[dict], str | None] | None = None


def all_kinds(extra_modules: tuple[str, ...] | list[str] = ()) -> dict[str, JobKind]:
    """Every kind, keyed by queue name: the built-in pack's plus any from `extra_modules`
    (settings.kind_modules, e.g. a site's own job kinds). A module exports `KINDS` or one `KIND`."""
    kinds: list[JobKind] = []
    for module_name in (*BUILT_IN_KIND_MODULES, *extra_modules):
        module = importlib.import_module(module_name)
        kinds.extend(getattr(module, "KINDS", None) or [module.KIND])
    return {kind.queue: kind for kind in kinds}
