"""The workers screen's table and detail lines: one row per worker process on any host, keyed by process id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import App

from ..sanitize import safe_text
from ..workers.worker_records import WorkerInfo, WorkerState
from . import formats
from .keyed_table import KeyedTable
from .tones import badge, tone

MIB = 1024 * 1024


def up_summary(workers: Iterable[Any]) -> str:
    """`3/4 up`: processes running out of all reported (anything with a `state` will do)."""
    states = [str(getattr(worker, "state", "")) for worker in workers]
    return f"{states.count(WorkerState.RUNNING)}/{len(states)} up"


def group_label(worker: WorkerInfo) -> str:
    """The group, and its queues when they are not just the group's namesake: `reports: report-generation,webhooks`."""
    if not worker.queues or list(worker.queues) == [worker.group]:
        return worker.group
    return f"{worker.group}: {','.join(worker.queues)}"


def state_styles(app: App) -> dict[str, Style]:
    """How each process state looks: a crash loop or a failure stands out on `$error`."""
    return {
        WorkerState.RUNNING: tone(app, "text-success"),
        WorkerState.STOPPING: tone(app, "text-warning"),
        WorkerState.RESTARTING: tone(app, "text-warning", bold=True),
        WorkerState.CRASH_LOOP: badge(app, "error"),
        WorkerState.FAILED: badge(app, "error"),
        WorkerState.STOPPED: Style(dim=True),
    }


def uptime(worker: WorkerInfo, now: float) -> float | None:
    """Seconds the current process has run (None while there is no process)."""
    return None if worker.started is None or worker.pid is None else now - worker.started


def worker_cells(worker: WorkerInfo, now: float, styles: dict[str, Style], error_style: Style) -> list[Text]:
    trouble = worker.last_error or worker.problem
    return [
        safe_text(worker.host, 60),
        Text("-" if worker.pid is None else str(worker.pid)),
        safe_text(group_label(worker), 120),
        safe_text(worker.state, 20, style=styles.get(worker.state, styles[WorkerState.RESTARTING])),
        Text(formats.age(uptime(worker, now))),
        Text(str(worker.restarts), style="bold" if worker.restarts else ""),
        Text("-" if worker.last_exit_code is None else str(worker.last_exit_code)),
        Text("-" if worker.rss_bytes is None else f"{worker.rss_bytes / MIB:.0f}"),
        Text(formats.age(worker.heartbeat_age_s)),
        Text(str(worker.active)),
        safe_text(trouble or "", 120, style=error_style if trouble else ""),
    ]


def worker_detail(worker: WorkerInfo, now: float, error_style: Style | str = "red") -> Text:
    """The highlighted process in full: id, supervisor, queues and threads, times, and its last error."""
    text = Text(end="")
    text.append_text(safe_text(worker.id, 120, style="bold"))
    text.append("  supervisor ", style="dim")
    text.append_text(safe_text(worker.supervisor or "?", 80))
    text.append("  threads ", style="dim")
    text.append("?" if worker.threads is None else str(worker.threads))
    text.append("  queues ", style="dim")
    text.append_text(safe_text(", ".join(worker.queues) or "-", 200))
    text.append("\nstarted ", style="dim")
    running = uptime(worker, now)
    text.append(
        f"{formats.timestamp(worker.started)} ({formats.ago(running)})" if running is not None else "no process now"
    )
    text.append("  heartbeat ", style="dim")
    text.append(formats.ago(worker.heartbeat_age_s))
    text.append("  last exit code ", style="dim")
    text.append("-" if worker.last_exit_code is None else str(worker.last_exit_code))
    if worker.last_error:
        text.append("\nlast error ", style="dim")
        text.append_text(safe_text(worker.last_error, 600, style=error_style))
    if worker.problem:
        text.append("\nrecord problem ", style="dim")
        text.append_text(safe_text(worker.problem, 300, style=error_style))
    return text


class WorkerTable(KeyedTable):
    """Worker processes in the source's order (by id: host, supervisor, group, slot)."""

    COLUMNS = (
        ("host", "host", 10),
        ("pid", "pid", 6),
        ("group", "group/queues", 16),
        ("state", "state", 10),
        ("uptime", "uptime", 6),
        ("restarts", "restarts", 8),
        ("exit", "exit", 4),
        ("rss", "MiB", 5),
        ("heartbeat", "beat", 4),
        ("active", "jobs", 4),
        ("error", "last error", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processes: dict[str, WorkerInfo] = {}

    @property
    def highlighted(self) -> WorkerInfo | None:
        key = self.highlighted_key
        return None if key is None else self.processes.get(key)

    def show_workers(self, workers: list[WorkerInfo], now: float) -> None:
        styles, error_style = state_styles(self.app), tone(self.app, "text-error")
        self.processes = {worker.id: worker for worker in workers}
        self.show_rows([(worker.id, worker_cells(worker, now, styles, error_style)) for worker in workers])
