"""Worker processes on every host: state, uptime, restarts, memory, heartbeat and last error; `+`/`-` scale
the highlighted process's group on its supervisor, `x` restarts the process."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.binding import Binding

from ..auth.permissions import Action
from ..sanitize import safe_str, safe_text
from ..widgets.tones import tone
from ..widgets.worker_table import WorkerTable, up_summary, worker_detail
from ..workers.supervisor import MAX_PROCESSES_PER_GROUP
from ..workers.worker_records import WorkerInfo, WorkerState
from .confirm import ConfirmScreen
from .operator_actions import jobs_phrase
from .record_table import RecordTableScreen, record_bindings

#: States in which a process is on its way out: scaling counts the processes that stay.
LEAVING = (WorkerState.STOPPING, WorkerState.STOPPED)


def scale_refusal(worker: WorkerInfo, workers: list[WorkerInfo], delta: int) -> str | None:
    """Why the supervisor would refuse to scale the worker's group by `delta`, as far as the records tell."""
    if not worker.supervisor:
        return f"the record of {worker.id} names no supervisor, so nobody would receive the request"
    staying = [
        other
        for other in workers
        if other.supervisor == worker.supervisor and other.group == worker.group and other.state not in LEAVING
    ]
    count = len(staying) + delta
    if not 1 <= count <= MAX_PROCESSES_PER_GROUP:
        return (
            f"group {worker.group} on {worker.supervisor} would have {count} processes; "
            f"keep it between 1 and {MAX_PROCESSES_PER_GROUP} (x restarts a single process instead)"
        )
    return None


def restart_question(worker: WorkerInfo) -> Text:
    """What `x` will do to this process, in the words the confirmation shows."""
    name = safe_text(worker.id, 120, style="bold")
    supervisor = safe_text(worker.supervisor, 80, style="bold")
    if worker.pid is None:
        return Text.assemble(
            "Start worker process ",
            name,
            " afresh? It is ",
            safe_text(worker.state, 20, style="bold"),
            " with no process running; its supervisor ",
            supervisor,
            " starts a new one now and resets its backoff.",
        )
    if worker.active:
        stopping = Text.assemble(
            " stops it gracefully: it takes no new jobs, its ",
            jobs_phrase(worker.active, "running"),
            " get the grace time to finish (any still running then go back to waiting and run again),",
        )
    else:
        stopping = Text(" stops it (it runs no jobs now),")
    return Text.assemble(
        "Restart worker process ",
        name,
        f" (pid {worker.pid}) on ",
        safe_text(worker.host, 60, style="bold"),
        "? ",
        "Its supervisor ",
        supervisor,
        stopping,
        " and a fresh process starts in its place.",
    )


class WorkersScreen(RecordTableScreen[WorkerTable, WorkerInfo]):
    """Every worker process the supervisors on all hosts report, refreshed each tick."""

    BINDINGS = record_bindings(
        Binding("plus", "add_process", "Add process", key_display="+"),
        Binding("minus", "remove_process", "Remove process", key_display="-"),
        Binding("x", "restart", "Restart"),
    )
    # Actions without parameters: the base screen looks up a greyed-out key's permission by the action as bound.
    GATED_ACTIONS = {"add_process": "scale_workers", "remove_process": "scale_workers", "restart": "restart_worker"}
    TABLE = WorkerTable
    NAME = "Workers"
    LOADING = "Loading worker processes…"
    EMPTY = (
        "No worker processes are reporting. Start them on a server with `wellqueue --workers-only` "
        "(or run `wellqueue`, whose console hosts this machine's workers); they show up here within seconds."
    )
    RECORD = "worker process"

    def fetch(self) -> list[WorkerInfo]:
        return self.source.workers()

    def show_records(self, records: list[WorkerInfo]) -> None:
        self.table.show_workers(records, self.console.now())

    def title_summary(self) -> Text:
        text = Text(end="")
        hosts = {worker.host for worker in self.records}
        text.append(f"  {up_summary(self.records)} on {len(hosts)} host{'s' if len(hosts) != 1 else ''}")
        looping = sum(1 for worker in self.records if worker.state in (WorkerState.CRASH_LOOP, WorkerState.FAILED))
        if looping:
            text.append(f"  {looping} crash-looping or failed", style=tone(self.app, "text-error", bold=True))
        if self.console.scheduler_summary:
            text.append("  ")
            text.append_text(safe_text(self.console.scheduler_summary, 80, style="dim"))
        return text

    def detail(self, record: WorkerInfo) -> Text:
        return worker_detail(record, self.console.now(), tone(self.app, "text-error"))

    # Keys

    def action_add_process(self) -> None:
        self.scale(1)

    def action_remove_process(self) -> None:
        self.scale(-1)

    def scale(self, delta: int) -> None:
        """Ask the highlighted process's supervisor for one process more or fewer in its group."""
        worker = self.target()
        if worker is None or not self.console.operator.permitted(Action.SCALE_WORKERS):
            return
        refusal = scale_refusal(worker, self.records, delta)
        if refusal is not None:
            self.notify(safe_str(refusal, 300), severity="warning", markup=False)
            return
        self.console.perform(partial(self.source.scale_workers, worker.supervisor, worker.group, delta))

    def action_restart(self) -> None:
        worker = self.target()
        if worker is None or not self.console.operator.permitted(Action.RESTART_WORKER):
            return
        call = partial(self.source.restart_worker, worker.id)

        def answered(yes: bool | None) -> None:
            if yes:
                self.console.perform(call)

        confirm = ConfirmScreen(restart_question(worker), "Restart", title="Restart a worker process")
        self.app.push_screen(confirm, answered)
