"""Provider settings of the example packs, read from the environment when a job runs."""

from __future__ import annotations

import os

from wellqueue_tui.jobs.kind import PermanentJobError


def required(what: str, *names: str) -> tuple[str, ...]:
    """The values of `names`; fails the job at once, naming every unset variable, when one is missing."""
    values = tuple(os.environ.get(name, "").strip() for name in names)
    missing = [name for name, value in zip(names, values) if not value]
    if missing:
        raise PermanentJobError(f"{what} is not configured: set {' and '.join(missing)}")
    return values


def optional(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default
