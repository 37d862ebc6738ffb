"""The overview's workers strip: every host's worker groups with one mark per process, coloured by its state."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from ..sanitize import safe_text
from ..workers.worker_records import WorkerInfo, WorkerState
from .worker_table import up_summary

#: One mark per process: filled while it runs, crossed when it crashed, hollow when stopped.
MARKS = {
    WorkerState.RUNNING: "●",
    WorkerState.STOPPING: "◐",
    WorkerState.RESTARTING: "◐",
    WorkerState.CRASH_LOOP: "✕",
    WorkerState.FAILED: "✕",
    WorkerState.STOPPED: "○",
}


def fleet_text(workers: list[WorkerInfo], styles: dict[str, Style]) -> Text:
    """`workers 5/6 up  host-a  data-validation ●● report-generation ●  │  host-b  webhooks ●✕ (2 jobs)`.

    Like `up_summary`, it takes any record with a `state`; a missing host or group shows as `?`."""
    text = Text(end="")
    text.append("workers ", style="bold")
    if not workers:
        text.append("none reported: `wellqueue` or `wellqueue --workers-only` starts them", style="dim")
        return text
    text.append(up_summary(workers), style="dim")
    hosts: dict[str, dict[str, list[WorkerInfo]]] = {}
    for worker in workers:
        host, group = getattr(worker, "host", None) or "?", getattr(worker, "group", None) or "?"
        hosts.setdefault(host, {}).setdefault(group, []).append(worker)
    for position, (host, groups) in enumerate(hosts.items()):
        text.append("  │  " if position else "  ", style="dim")
        text.append_text(safe_text(host, 40, style="bold"))
        for group, processes in groups.items():
            text.append(" ")
            text.append_text(safe_text(group, 40, style="dim"))
            text.append(" ")
            for worker in processes:
                text.append(MARKS.get(worker.state, "?"), style=styles.get(worker.state, ""))  # type: ignore[call-overload]
            busy = sum(getattr(worker, "active", 0) or 0 for worker in processes)
            if busy:
                text.append(f" ({busy} {'job' if busy == 1 else 'jobs'})", style="dim")
    return text
