"""The schedules screen's table and detail lines: each cron schedule with its next run in its own time zone
and in the console's local time, its last run and job, keyed by schedule name."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding

from ..sanitize import safe_text
from ..workers.schedules import ScheduleStatus
from . import formats
from .keyed_table import KeyedTable
from .tones import tone


def local_time(moment: datetime | None, zone: tzinfo | None) -> datetime | None:
    """`moment` in `zone`; None means this machine's local time zone (with its daylight-saving rules)."""
    if moment is None:
        return None
    return moment.astimezone(zone) if zone is not None else moment.astimezone()


def zone_name(zone: tzinfo | None) -> str:
    """`Europe/Berlin` for a named zone; for this machine's zone (None) or a fixed offset, its abbreviation now."""
    key = getattr(zone, "key", None)
    if key:
        return key
    now = datetime.now(UTC)
    return (now.astimezone(zone) if zone is not None else now.astimezone()).tzname() or "local"


def last_run_age(status: ScheduleStatus, now: float) -> float | None:
    return None if status.last_fire_utc is None else now - status.last_fire_utc.timestamp()


def schedule_cells(status: ScheduleStatus, now: float, zone: tzinfo | None, styles: dict[str, Style]) -> list[Text]:
    paused = "-" if status.enabled else "paused"
    last_run = formats.ago(last_run_age(status, now)) if status.last_fire_utc else "never"
    return [
        safe_text(status.name, 64, style="bold"),
        Text("on" if status.enabled else "paused", style=styles["on" if status.enabled else "paused"]),
        safe_text(status.cron, 60),
        Text(formats.zoned_time(status.next_run) if status.next_run else paused),
        Text(formats.zoned_time(local_time(status.next_run_utc, zone)) if status.next_run_utc else paused),
        Text(last_run, style="" if status.last_fire_utc else "dim"),
        safe_text(status.last_job_id or "-", 80),
        safe_text(status.last_error or "", 120, style=styles["error"]),
        safe_text(status.timezone, 40),
    ]


def schedule_detail(status: ScheduleStatus, now: float, zone: tzinfo | None, error_style: Style | str = "red") -> Text:
    """The highlighted schedule in full: what it enqueues, its next run in both zones, its last run and error."""
    text = Text(end="")
    text.append_text(safe_text(status.name, 64, style="bold"))
    text.append("  → ", style="dim")
    text.append_text(safe_text(status.queue, 60))
    if status.description:
        text.append("  ")
        text.append_text(safe_text(status.description, 200, style="italic"))
    text.append("\nnext ", style="dim")
    if status.next_run is None:
        text.append("none while paused" if not status.enabled else "none: the expression never fires again")
    else:
        local = local_time(status.next_run_utc, zone)
        text.append(f"{status.next_run:%a %Y-%m-%d %H:%M %Z}")
        text.append_text(safe_text(f" ({status.timezone})", 60, style="dim"))
        text.append(f"  = {local:%a %Y-%m-%d %H:%M %Z}" if local else "")
        text.append(" (local)", style="dim")
    text.append("\nlast ", style="dim")
    if status.last_fire_utc is None:
        text.append("never ran")
    else:
        text.append(f"{formats.timestamp(status.last_fire_utc.timestamp())} ({formats.ago(last_run_age(status, now))})")
        text.append("  job ", style="dim")
        text.append_text(safe_text(status.last_job_id or "-", 120))
    if status.last_error:
        text.append("\nerror ", style="dim")
        text.append_text(safe_text(status.last_error, 600, style=error_style))
    return text


class ScheduleTable(KeyedTable):
    """Schedules by name; enter opens the highlighted schedule's last job."""

    BINDINGS = [Binding("enter", "select_cursor", "Last job")]
    COLUMNS = (
        ("name", "name", 26),
        ("enabled", "enabled", 7),
        ("cron", "cron", 11),
        ("next", "next (its zone)", 16),
        ("local", "next (local)", 16),
        ("last", "last run", 8),
        ("job", "last job", 28),
        ("error", "last error", 30),
        ("timezone", "timezone", 20),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schedules: dict[str, ScheduleStatus] = {}

    @property
    def highlighted(self) -> ScheduleStatus | None:
        key = self.highlighted_key
        return None if key is None else self.schedules.get(key)

    def show_schedules(self, schedules: list[ScheduleStatus], now: float, zone: tzinfo | None) -> None:
        styles = {
            "on": tone(self.app, "text-success"),
            "paused": tone(self.app, "text-warning", bold=True),
            "error": tone(self.app, "text-error"),
        }
        self.schedules = {status.name: status for status in schedules}
        self.show_rows([(status.name, schedule_cells(status, now, zone, styles)) for status in schedules])
