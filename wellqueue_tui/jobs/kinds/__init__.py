"""The job kinds: one module per queue, each a payload model plus its processor."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel

from ..context import JobContext


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


def all_kinds(extra_modules: tuple[str, ...] | list[str] = ()) -> dict[str, JobKind]:
    """Every kind, keyed by queue name: the built-in four plus any `KIND` from `extra_modules`
    (settings.kind_modules, e.g. a site's own job kinds)."""
    from . import data_validation, email_notifications, report_generation, webhooks

    kinds = [data_validation.KIND, report_generation.KIND, email_notifications.KIND, webhooks.KIND]
    for module_name in extra_modules:
        module = importlib.import_module(module_name)
        kinds.extend(getattr(module, "KINDS", None) or [module.KIND])
    return {kind.queue: kind for kind in kinds}
