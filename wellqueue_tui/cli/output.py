"""How commands print: JSON for `--json`, aligned tables, bounded untrusted text, local times."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

from ..jobs.actions import ActionResult
from ..sanitize import safe_str


def emit_json(value: Any) -> None:
    def default(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        return str(obj)

    print(json.dumps(value, default=default, indent=2, sort_keys=True))


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def printable(value: Any, limit: int = 60) -> str:
    """Untrusted text for a terminal: control characters made visible, length bounded."""
    return safe_str(value, limit)


def when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else "-"


def report(result: ActionResult) -> int:
    """Print what an action did (and any warning, on stderr); the exit code of a command that succeeded."""
    print(result.message)
    warn(result)
    return 0


def warn(result: ActionResult | str | None) -> None:
    """A warning beside an outcome (e.g. the audit entry could not be written) on stderr."""
    text = result.warning if isinstance(result, ActionResult) else result
    if text:
        print(f"warning: {printable(text, 2000)}", file=sys.stderr)
