"""Bulk actions on every job a search matched (not only the rows on screen): retry or remove them in
batches, reporting progress after each batch and stopping between batches when asked to."""

from __future__ import annotations

from collections.abc import Callable

from .actions import BATCH, ActionResult, _remove, _resubmit
from .registry import Registry

#: Called after each batch with (jobs handled so far, jobs asked for); returning False stops the action.
Progress = Callable[[int, int], bool]


def _batched(
    job_ids: list[str], run: Callable[[list[str]], dict[str, int]], progress: Progress | None
) -> tuple[int, int, bool]:
    """(jobs the action applied to, jobs looked at, whether it was stopped early)."""
    done = handled = 0
    for start in range(0, len(job_ids), BATCH):
        batch = job_ids[start : start + BATCH]
        done += sum(1 for code in run(batch).values() if code == 1)
        handled += len(batch)
        if progress is not None and not progress(handled, len(job_ids)) and handled < len(job_ids):
            return done, handled, True
    return done, handled, False


def _outcome(verb: str, what: str, done: int, handled: int, asked: int, stopped: bool) -> str:
    skipped = handled - done
    message = f"{done} of {asked} matching jobs {verb}"
    if skipped:
        message += f" ({skipped} not {what})"
    if stopped:
        message += f"; cancelled after {handled} of {asked}"
    return message


def retry_matches(
    reg: Registry, job_ids: list[str], target: str, *, org: str | None = None, progress: Progress | None = None
) -> ActionResult:
    """Queue again each of `job_ids` that is failed; the others are left as they are."""
    done, handled, stopped = _batched(job_ids, lambda batch: _resubmit(reg, batch, "failed", org), progress)
    return ActionResult(
        "retry_matches", target, done, _outcome("queued again", "failed", done, handled, len(job_ids), stopped)
    )


def remove_matches(
    reg: Registry, job_ids: list[str], target: str, *, org: str | None = None, progress: Progress | None = None
) -> ActionResult:
    """Remove each of `job_ids` that is not running (a running job is left to finish)."""
    done, handled, stopped = _batched(job_ids, lambda batch: _remove(reg, batch, org), progress)
    return ActionResult(
        "remove_matches",
        target,
        done,
        _outcome("removed", "removable: running or gone", done, handled, len(job_ids), stopped),
    )
