"""Fix and re-run: check an edited payload against its job kind's model, and retry a failed job with the new
payload, the one it replaces kept in the job's history."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from ..sanitize import safe_str
from .actions import ActionResult, _resubmit, _scripts, _single
from .kind import JobKind
from .registry import Registry


def payload_problems(kind: JobKind, data: Any) -> list[str]:
    """What the kind's model refuses in `data`, one `field.path: message` line per problem (none: valid)."""
    try:
        kind.payload.model_validate(data)
    except ValidationError as exc:
        return [
            safe_str(f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}", 300)
            for err in exc.errors()[:20]
        ]
    except RecursionError:
        return ["payload: nested too deeply"]
    return []


def stored_json(data: Any) -> str:
    """The payload as the registry stores it (sorted keys), so diffs and history compare like with like."""
    return json.dumps(data, sort_keys=True, default=str)


def retry_with_data(reg: Registry, job_id: str, data: Any, *, by: str, org: str | None = None) -> ActionResult:
    """Replace failed job `job_id`'s payload with `data` (the old one goes to its history), then retry it."""
    code = int(_scripts(reg).edit_data(keys=[reg.keys.job(job_id)], args=["failed", org or "", stored_json(data), by]))
    _single({job_id: code}, job_id, "edited", "failed")
    _single(_resubmit(reg, [job_id], "failed", org), job_id, "retried", "failed")
    return ActionResult("retry_edited", job_id, 1, f"job {job_id} queued again with the edited payload")
