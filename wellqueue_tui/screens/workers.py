"""Worker processes on every host: state, uptime, restarts, memory, heartbeat and last error; `+`/`-` scale
the highlighted process's group on its supervisor, `x` restarts the process."""

from __future__ import annotations

from functools import partial
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from ..auth.permissions import Action
from ..console_data import OperationsSource
from ..sanitize import safe_str, safe_text
from ..widgets.tones import tone
from ..widgets.worker_table import WorkerTable, up_summary, worker_detail
from ..workers.supervisor import MAX_PROCESSES_PER_GROUP
from ..workers.worker_records import WorkerInfo, WorkerState
from .base import ConsoleScreen
from .confirm import ConfirmScreen
from .operator_actions import jobs_phrase

EMPTY = (
    "No worker processes are reporting. Start them on a server with `wellqueue --workers-only` "
    "(or run `wellqueue`, whose console hosts this machine's workers); they show up here within seconds."
)

#: States in which a process is on its way out: scaling counts the processes that stay.
LEAVING = (WorkerState.STOPPING, WorkerState.STOPPED)


def scale_refusal(worker: WorkerInfo, workers: list[WorkerInfo], delta: int) -> str | None:
    """Why the supervisor would refuse to scale the worker's group by `delta`, as far as the records tell."""
    if not worker.supervisor:
        return f"the record of {worker.id} names no supervisor, so nobody would receive the request"
    staying = [
        other for other in workers
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
            "Start worker process ", name, " afresh? It is ", safe_text(worker.state, 20, style="bold"),
            " with no process running; its supervisor ", supervisor, " starts a new one now and resets its backoff.",
        )
    if worker.active:
        stopping = Text.assemble(
            " stops it gracefully: it takes no new jobs, its ", jobs_phrase(worker.active, "running"),
            " get the grace time to finish (any still running then go back to waiting and run again),",
        )
    else:
        stopping = Text(" stops it (it runs no jobs now),")
    return Text.assemble(
        "Restart worker process ", name, f" (pid {worker.pid}) on ", safe_text(worker.host, 60, style="bold"), "? ",
        "Its supervisor ", supervisor, stopping, " and a fresh process starts in its place.",
    )


class WorkersScreen(ConsoleScreen):
    """Every worker process the supervisors on all hosts report, refreshed each tick."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("plus", "add_process", "Add process", key_display="+"),
        Binding("minus", "remove_process", "Remove process", key_display="-"),
        Binding("x", "restart", "Restart"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "edge(False)", "First row", show=False),
        Binding("G", "edge(True)", "Last row", show=False),
    ]
    # Actions without parameters: the base screen looks up a greyed-out key's permission by the action as bound.
    GATED_ACTIONS = {"add_process": "scale_workers", "remove_process": "scale_workers", "restart": "restart_worker"}

    class Loaded(Message):
        def __init__(self, workers: list[WorkerInfo]) -> None:
            super().__init__()
            self.processes = workers

    def __init__(self) -> None:
        super().__init__(classes="fleet-screen")
        self.sub_title = "Workers"
        self.processes: list[WorkerInfo] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static("Loading worker processes…", classes="fleet-title")
        yield WorkerTable(classes="fleet-table")
        yield Static(EMPTY, classes="fleet-empty")
        yield Static(classes="fleet-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(".fleet-empty").display = False
        self.query_one(".fleet-detail").display = False
        self.table.focus()

    @property
    def table(self) -> WorkerTable:
        return self.query_one(WorkerTable)

    @property
    def source(self) -> OperationsSource:
        """The console's source; this screen is only offered when it reports workers."""
        return cast(OperationsSource, self.console.source)

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("workers"):
            self.load()

    @work(thread=True, exclusive=True, group="workers")
    def load(self) -> None:
        with self.console.reading():
            self.deliver(self.Loaded(self.source.workers()))

    def on_workers_screen_loaded(self, message: Loaded) -> None:
        self.processes = message.processes
        self.table.show_workers(message.processes, self.console.now())
        self.table.display = bool(message.processes)
        self.query_one(".fleet-empty").display = not message.processes
        self.show_title()
        self.show_detail()
        self.refresh_bindings()

    def show_title(self) -> None:
        text = Text(end="")
        text.append("Workers", style="bold")
        hosts = {worker.host for worker in self.processes}
        text.append(f"  {up_summary(self.processes)} on {len(hosts)} host{'s' if len(hosts) != 1 else ''}")
        looping = sum(1 for worker in self.processes if worker.state in (WorkerState.CRASH_LOOP, WorkerState.FAILED))
        if looping:
            text.append(f"  {looping} crash-looping or failed", style=tone(self.app, "text-error", bold=True))
        if self.console.scheduler_summary:
            text.append("  ")
            text.append_text(safe_text(self.console.scheduler_summary, 80, style="dim"))
        self.query_one(".fleet-title", Static).update(text)

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        worker = self.table.highlighted
        detail = self.query_one(".fleet-detail", Static)
        detail.display = worker is not None
        if worker is not None:
            detail.update(worker_detail(worker, self.console.now(), tone(self.app, "text-error")))

    # Keys

    def action_back(self) -> None:
        self.dismiss()

    def action_cursor(self, step: int) -> None:
        self.table.step(step)

    def action_edge(self, bottom: bool) -> None:
        self.table.edge(bottom)

    def target(self) -> WorkerInfo | None:
        worker = self.table.highlighted
        if worker is None:
            self.notify("No worker process here: pick a row first.", markup=False)
        return worker

    def action_add_process(self) -> None:
        self.scale(1)

    def action_remove_process(self) -> None:
        self.scale(-1)

    def scale(self, delta: int) -> None:
        """Ask the highlighted process's supervisor for one process more or fewer in its group."""
        worker = self.target()
        if worker is None or not self.console.operator.permitted(Action.SCALE_WORKERS):
            return
        refusal = scale_refusal(worker, self.processes, delta)
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
