"""Cron schedules: next run in the schedule's own time zone and in local time, last run and its job, last
error; `n` runs one now, `p` pauses or resumes it, enter opens its last job."""

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
from ..widgets.schedule_table import ScheduleTable, schedule_detail, zone_name
from ..widgets.tones import tone
from ..workers.schedules import ScheduleStatus
from .base import ConsoleScreen

EMPTY = (
    "No schedules. `wellqueue schedules add` creates one; a fresh installation gets the default schedules "
    "when its first scheduler starts."
)


class SchedulesScreen(ConsoleScreen):
    """Every stored schedule with what it will do next and what it did last, refreshed each tick."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "run_now", "Run now"),
        Binding("p", "toggle_enabled", "Pause/resume"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "edge(False)", "First row", show=False),
        Binding("G", "edge(True)", "Last row", show=False),
    ]
    GATED_ACTIONS = {"run_now": "run_schedule"}

    class Loaded(Message):
        def __init__(self, schedules: list[ScheduleStatus]) -> None:
            super().__init__()
            self.schedules = schedules

    class JobLookedUp(Message):
        """Whether a schedule's last job is still in the registry (enter opens it only then)."""

        def __init__(self, status: ScheduleStatus, exists: bool) -> None:
            super().__init__()
            self.status = status
            self.exists = exists

    def __init__(self) -> None:
        super().__init__(classes="fleet-screen")
        self.sub_title = "Schedules"
        self.schedules: list[ScheduleStatus] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static("Loading schedules…", classes="fleet-title")
        yield ScheduleTable(classes="fleet-table")
        yield Static(EMPTY, classes="fleet-empty")
        yield Static(classes="fleet-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(".fleet-empty").display = False
        self.query_one(".fleet-detail").display = False
        self.table.focus()

    @property
    def table(self) -> ScheduleTable:
        return self.query_one(ScheduleTable)

    @property
    def source(self) -> OperationsSource:
        """The console's source; this screen is only offered when it reports schedules."""
        return cast(OperationsSource, self.console.source)

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("schedules"):
            self.load()

    @work(thread=True, exclusive=True, group="schedules")
    def load(self) -> None:
        with self.console.reading():
            self.deliver(self.Loaded(self.source.schedules()))

    def on_schedules_screen_loaded(self, message: Loaded) -> None:
        self.schedules = message.schedules
        self.table.show_schedules(message.schedules, self.console.now(), self.console.local_zone)
        self.table.display = bool(message.schedules)
        self.query_one(".fleet-empty").display = not message.schedules
        self.show_title()
        self.show_detail()
        self.refresh_bindings()

    def show_title(self) -> None:
        text = Text(end="")
        text.append("Schedules", style="bold")
        paused = sum(1 for status in self.schedules if not status.enabled)
        text.append(f"  {len(self.schedules)}")
        if paused:
            text.append(f" ({paused} paused)", style=tone(self.app, "text-warning", bold=True))
        if self.console.scheduler_summary:
            text.append("  ")
            text.append_text(safe_text(self.console.scheduler_summary, 80, style="dim"))
        text.append_text(safe_text(f"  local time is {zone_name(self.console.local_zone)}", 80, style="dim"))
        self.query_one(".fleet-title", Static).update(text)

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        status = self.table.highlighted
        detail = self.query_one(".fleet-detail", Static)
        detail.display = status is not None
        if status is not None:
            detail.update(schedule_detail(status, self.console.now(), self.console.local_zone, tone(self.app, "text-error")))

    # Keys

    def action_back(self) -> None:
        self.dismiss()

    def action_cursor(self, step: int) -> None:
        self.table.step(step)

    def action_edge(self, bottom: bool) -> None:
        self.table.edge(bottom)

    def target(self) -> ScheduleStatus | None:
        status = self.table.highlighted
        if status is None:
            self.notify("No schedule here: pick a row first.", markup=False)
        return status

    def permission_for(self, action: str) -> str | None:
        if action == "toggle_enabled":
            status = self.table.highlighted if self.is_mounted else None
            return "schedule_resume" if status is not None and not status.enabled else "schedule_pause"
        return super().permission_for(action)

    def action_run_now(self) -> None:
        status = self.target()
        if status is not None and self.console.operator.permitted(Action.RUN_SCHEDULE):
            self.console.perform(partial(self.source.run_schedule_now, status.name))

    def action_toggle_enabled(self) -> None:
        status = self.target()
        if status is None:
            return
        action = Action.SCHEDULE_PAUSE if status.enabled else Action.SCHEDULE_RESUME
        if self.console.operator.permitted(action):
            call = self.source.pause_schedule if status.enabled else self.source.resume_schedule
            self.console.perform(partial(call, status.name))

    @on(DataTable.RowSelected)
    def open_last_job(self, event: DataTable.RowSelected) -> None:
        status = self.table.schedules.get(event.row_key.value or "")
        if status is None:
            return
        if not status.last_job_id:
            self.notify(f"Schedule {safe_str(status.name, 64)} has not run yet: no job to open.", markup=False)
            return
        self.look_up_job(status)

    @work(thread=True, exclusive=True, group="schedule-job")
    def look_up_job(self, status: ScheduleStatus) -> None:
        with self.console.reading():
            exists = self.source.get_job(status.last_job_id or "") is not None
            self.deliver(self.JobLookedUp(status, exists))

    def on_schedules_screen_job_looked_up(self, message: JobLookedUp) -> None:
        status = message.status
        job_id = status.last_job_id or ""
        if message.exists:
            self.console.open_job(job_id)
        elif status.last_error:
            self.notify(f"Job {safe_str(job_id, 120)} was not enqueued: {safe_str(status.last_error, 300)}",
                        severity="warning", markup=False)
        else:
            self.notify(
                f"Job {safe_str(job_id, 120)} of schedule {safe_str(status.name, 64)} no longer exists "
                "(removed, or cleaned after it finished).",
                severity="warning",
                markup=False,
            )
