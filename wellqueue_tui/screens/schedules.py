"""Cron schedules: next run in the schedule's own time zone and in local time, last run and its job, last
error; `n` runs one now, `p` pauses or resumes it, enter opens its last job."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from ..auth.permissions import Action
from ..sanitize import safe_str, safe_text
from ..widgets.schedule_table import ScheduleTable, schedule_detail, zone_name
from ..widgets.tones import tone
from ..workers.schedules import ScheduleStatus
from .record_table import RecordTableScreen, record_bindings


class SchedulesScreen(RecordTableScreen[ScheduleTable, ScheduleStatus]):
    """Every stored schedule with what it will do next and what it did last, refreshed each tick."""

    BINDINGS = record_bindings(
        Binding("n", "run_now", "Run now"),
        Binding("p", "toggle_enabled", "Pause/resume"),
    )
    GATED_ACTIONS = {"run_now": "run_schedule"}
    TABLE = ScheduleTable
    NAME = "Schedules"
    LOADING = "Loading schedules…"
    EMPTY = (
        "No schedules. `wellqueue schedules add` creates one; a fresh installation gets the default schedules "
        "when its first scheduler starts."
    )
    RECORD = "schedule"

    class JobLookedUp(Message):
        """Whether a schedule's last job is still in the registry (enter opens it only then)."""

        def __init__(self, status: ScheduleStatus, exists: bool) -> None:
            super().__init__()
            self.status = status
            self.exists = exists

    def fetch(self) -> list[ScheduleStatus]:
        return self.source.schedules()

    def show_records(self, records: list[ScheduleStatus]) -> None:
        self.table.show_schedules(records, self.console.now(), self.console.local_zone)

    def title_summary(self) -> Text:
        text = Text(end="")
        paused = sum(1 for status in self.records if not status.enabled)
        text.append(f"  {len(self.records)}")
        if paused:
            text.append(f" ({paused} paused)", style=tone(self.app, "text-warning", bold=True))
        if self.console.scheduler_summary:
            text.append("  ")
            text.append_text(safe_text(self.console.scheduler_summary, 80, style="dim"))
        text.append_text(safe_text(f"  local time is {zone_name(self.console.local_zone)}", 80, style="dim"))
        return text

    def detail(self, record: ScheduleStatus) -> Text:
        return schedule_detail(record, self.console.now(), self.console.local_zone, tone(self.app, "text-error"))

    # Keys

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
            self.notify(
                f"Job {safe_str(job_id, 120)} was not enqueued: {safe_str(status.last_error, 300)}",
                severity="warning",
                markup=False,
            )
        else:
            self.notify(
                f"Job {safe_str(job_id, 120)} of schedule {safe_str(status.name, 64)} no longer exists "
                "(removed, or cleaned after it finished).",
                severity="warning",
                markup=False,
            )
