"""One queue: its jobs by state, a page at a time, with filter, sort, selection and job actions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import cast

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static, Tab, Tabs

from ..console_data import QueueSettingsSource, offers
from ..jobs.actions import ActionError
from ..jobs.models import STATES, JobDetail, JobPage, JobState, JobSummary, MinuteStats, QueueCounts
from ..jobs.queue_config import QueueConfig
from ..sanitize import safe_str, safe_text
from ..widgets import formats
from ..widgets.job_table import JobTable
from ..widgets.queue_history import WINDOWS_H, LatencySample, bucket_minutes, bucketed, history_text, next_window
from ..widgets.throughput_chart import ThroughputChart, throughput_series
from .base import ConsoleScreen
from .clipboard import copy_incident, copy_job_id
from .overview import THROUGHPUT_EVERY_S
from .queue_settings import LimitRequest, LimitScreen, QueueInfoScreen, limits_text

#: Rows fetched per page (the registry reads exactly one page per refresh).
PAGE_SIZE = 20
#: Newest completed jobs whose wait and run times the history line sums up.
LATENCY_SAMPLE = 50


@dataclass(frozen=True)
class History:
    """What the chart and the history line show: per-minute stats of the window, and recent completed jobs."""

    hours: int
    throughput: list[MinuteStats]
    recent_completed: list[JobSummary]


class QueueScreen(ConsoleScreen):
    """Tabs per state with counts, the page of jobs, and the queue's throughput chart."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open_job", "Open"),
        # priority: runs as the key arrives, so the keys typed after it are routed to the field it focuses
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("r", "retry", "Retry"),
        Binding("d", "remove", "Remove"),
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("P", "promote", "Promote", show=False),
        Binding("R", "retry_all", "Retry all failed", show=False),
        Binding("c", "clean", "Clean", show=False),
        Binding("D", "drain", "Drain waiting", show=False),
        Binding("space", "select", "Select row", show=False),
        Binding("y", "copy_id", "Copy job id", show=False),
        Binding("Y", "copy_incident", "Copy incident summary", show=False),
        Binding("s", "sort", "Sort column", show=False),
        Binding("t", "chart_window", "Chart 1/6/24/48 h", show=False),
        Binding("h", "step_state(-1)", "Previous state", show=False),
        Binding("l", "step_state(1)", "Next state", show=False),
        Binding("n", "page(1)", "Next page", show=False),
        Binding("b", "page(-1)", "Previous page", show=False),
        Binding("pagedown", "page(1)", "Next page", show=False, priority=True),
        Binding("pageup", "page(-1)", "Previous page", show=False, priority=True),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "edge(False)", "First row", show=False),
        Binding("G", "edge(True)", "Last row", show=False),
        Binding("L", "limit", "Rate limit / cap", show=False),
        Binding("i", "info", "Queue info", show=False),
    ]
    GATED_ACTIONS = {
        "limit": "limit",
        "retry": "retry",
        "remove": "remove",
        "promote": "promote",
        "retry_all": "retry_all",
        "clean": "clean",
        "drain": "drain",
    }

    class DetailRead(Message):
        """The highlighted job in full, read for its incident summary (None: it is gone)."""

        def __init__(self, job_id: str, detail: JobDetail | None) -> None:
            super().__init__()
            self.job_id = job_id
            self.detail = detail

    class Loaded(Message):
        def __init__(self, counts: QueueCounts, page: JobPage, search: str, history: History | None) -> None:
            super().__init__()
            self.counts = counts
            self.page = page
            self.search = search
            self.history = history

    def __init__(self, queue: str, state: str = JobState.WAITING) -> None:
        super().__init__(classes="queue-screen")
        self.queue = queue
        self.state = str(state)
        self.page_offset = 0
        self.search = ""  # the applied filter; "" lists the state page by page
        self.total = 0
        self.selected: set[str] = set()
        self.throughput_fetched_at: float | None = None
        self.window_hours = WINDOWS_H[0]
        self.sub_title = f"Queue {queue}"

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static(classes="queue-title")
        yield Tabs(*(Tab(str(state), id=f"state-{state}") for state in STATES), active=f"state-{self.state}")
        yield Input(placeholder="filter by id or payload text, enter applies, esc clears", classes="queue-filter")
        yield JobTable(classes="job-table")
        yield Static(classes="queue-history")
        yield ThroughputChart(classes="queue-chart")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(".queue-filter", Input).display = False
        self.table.focus()

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("queue"):
            self.reload()

    def reload(self) -> None:
        """Fetch the current state/page/filter now, superseding any load in flight."""
        now = self.console.now()
        due = self.throughput_fetched_at is None or now - self.throughput_fetched_at >= THROUGHPUT_EVERY_S
        if due:
            self.throughput_fetched_at = now
        self.load(self.state, self.page_offset, self.search, self.window_hours if due else None)

    @work(thread=True, exclusive=True, group="queue")
    def load(self, state: str, offset: int, search: str, history_hours: int | None) -> None:
        source = self.console.source
        with self.console.reading():
            counts = source.queue_counts(self.queue)
            if search:
                page = source.search_jobs(self.queue, state, search, PAGE_SIZE)
            else:
                page = source.list_jobs(self.queue, state, offset, PAGE_SIZE)
            history = None
            if history_hours is not None:
                throughput = source.throughput(self.queue, history_hours * 60)
                recent = source.list_jobs(self.queue, JobState.COMPLETED, 0, LATENCY_SAMPLE).jobs
                history = History(history_hours, throughput, recent)
            self.deliver(self.Loaded(counts, page, search, history))

    def on_queue_screen_loaded(self, message: Loaded) -> None:
        page = message.page
        if page.state != self.state or message.search != self.search or page.offset != self.page_offset:
            return  # the operator moved on while this page was loading
        if not page.jobs and page.offset and not message.search:
            self.page_offset = max(0, (page.total - 1) // PAGE_SIZE * PAGE_SIZE)  # the page emptied: go to the last one
            self.reload()
            return
        self.console.counts[self.queue] = message.counts
        self.total = page.total
        now = self.console.now()
        for state in STATES:
            self.query_one(f"#state-{state}", Tab).label = f"{state} {formats.count(message.counts.of(state))}"
        self.table.show_jobs(page.jobs, now, self.selected, self.state)
        if message.history is not None and message.history.hours == self.window_hours:
            self.show_history(message.history, now)
        self.show_title(message.counts)
        self.refresh_bindings()

    def show_history(self, history: History, now: float) -> None:
        series = throughput_series(history.throughput, now, history.hours * 60)
        self.query_one(".queue-history", Static).update(
            history_text(series, history.hours, LatencySample.of(history.recent_completed))
        )
        size = bucket_minutes(history.hours)
        window = f" · last {history.hours} h (t: {next_window(history.hours)} h)"
        self.query_one(ThroughputChart).show(self.queue, bucketed(series, size), size, window)

    def action_chart_window(self) -> None:
        """The chart's next window: 1 h, 6 h, 24 h, 48 h, then 1 h again."""
        self.window_hours = next_window(self.window_hours)
        self.throughput_fetched_at = None
        self.reload()

    def show_title(self, counts: QueueCounts | None = None) -> None:
        counts = counts or self.console.operator.counts(self.queue)
        text = Text(end="")
        text.append_text(safe_text(self.queue, 60, style="bold"))
        if counts.paused:
            text.append("  PAUSED", style="bold reverse")
        if limited := limits_text(counts.limits):
            text.append(f"  {limited}", style="bold")
        shown = len(self.table.jobs)
        if self.search:
            text.append("  filter ", style="dim")
            text.append_text(safe_text(self.search, 40, style="bold"))
            text.append(f"  {shown} of {self.total} matching", style="dim")
        elif shown:
            text.append(
                f"  {self.state} {self.page_offset + 1}–{self.page_offset + shown} of {self.total}", style="dim"
            )
        else:
            text.append(f"  no {self.state} jobs", style="dim")
        text.append(f"  {self.table.sort_label}", style="dim")
        if self.selected:
            text.append(f"  {len(self.selected)} selected", style="bold")
        self.query_one(".queue-title", Static).update(text)

    # State, page, filter

    @on(Tabs.TabActivated)
    def tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id != self.query_one(Tabs).active:
            return  # announced after a later switch: h/l switch at once, their tab messages come late
        state = (event.tab.id or "").removeprefix("state-")
        if state and state != self.state:  # a click on a tab
            self.show_state(state)

    def show_state(self, state: str) -> None:
        """Switch to `state` now, so the next key of a burst starts from it (not from the tab message to come)."""
        self.state, self.page_offset = str(state), 0
        self.selected.clear()
        self.query_one(Tabs).active = f"state-{state}"
        self.table.move_cursor(row=0)
        self.set_focus(self.table)
        self.reload()

    def action_step_state(self, step: int) -> None:
        index = (STATES.index(JobState(self.state)) + step) % len(STATES)
        self.show_state(STATES[index])

    def action_page(self, step: int) -> None:
        if self.search:
            return
        offset = self.page_offset + step * PAGE_SIZE
        if 0 <= offset < max(self.total, 1):
            self.page_offset = offset
            self.reload()

    def action_filter(self) -> None:
        field = self.query_one(".queue-filter", Input)
        if self.focused is field:
            raise SkipAction()  # a `/` typed into the filter is text
        field.display = True
        field.value = self.search
        self.set_focus(field)  # at once: the text typed right after `/` must land in the field

    @on(Input.Submitted, ".queue-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, text: str) -> None:
        """List the jobs of this state whose id or payload holds `text` ("" lists them all again)."""
        field = self.query_one(".queue-filter", Input)
        self.search = text.strip()
        self.page_offset = 0
        field.value = self.search
        field.display = bool(self.search)
        self.set_focus(self.table)
        self.reload()

    def action_back(self) -> None:
        field = self.query_one(".queue-filter", Input)
        if field.display:
            field.display = False
            self.set_focus(self.table)
            if self.search:
                self.search = ""
                self.reload()
            return
        self.dismiss()

    # Rows

    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=self.table.cursor_row + step)

    def action_edge(self, bottom: bool) -> None:
        self.table.move_cursor(row=self.table.row_count - 1 if bottom else 0)

    def action_sort(self) -> None:
        self.table.cycle_sort(self.console.now(), self.selected)
        self.show_title()

    def action_select(self) -> None:
        job_id = self.table.highlighted_id
        if job_id is None:
            return
        self.selected.symmetric_difference_update({job_id})
        self.table.mark(job_id, job_id in self.selected)
        self.show_title()

    def action_copy_id(self) -> None:
        if (job_id := self.highlighted_or_say()) is not None:
            copy_job_id(self.console, job_id)

    def action_copy_incident(self) -> None:
        if (job_id := self.highlighted_or_say()) is not None:
            self.read_detail(job_id)

    def highlighted_or_say(self) -> str | None:
        job_id = self.table.highlighted_id
        if job_id is None:
            self.notify("No job here: pick a row first.", markup=False)
        return job_id

    @work(thread=True, group="copy")
    def read_detail(self, job_id: str) -> None:
        with self.console.reading():
            self.post_message(self.DetailRead(job_id, self.console.source.get_job(job_id)))

    def on_queue_screen_detail_read(self, message: DetailRead) -> None:
        if message.detail is None:
            self.notify(f"Nothing to copy: job {safe_str(message.job_id, 80)} no longer exists.", markup=False)
        else:
            copy_incident(self.console, message.detail)

    def action_open_job(self) -> None:
        if self.table.highlighted_id is not None:
            self.console.open_job(self.table.highlighted_id)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.console.open_job(event.row_key.value)

    # Actions (on the selection, else the highlighted job)

    def targets(self) -> list[str]:
        if self.selected:
            return sorted(self.selected)
        job_id = self.highlighted_or_say()
        return [] if job_id is None else [job_id]

    def clear_selection(self) -> None:
        self.selected.clear()

    def action_retry(self) -> None:
        if job_ids := self.targets():
            self.console.operator.retry(job_ids, after=self.clear_selection)

    def action_promote(self) -> None:
        if job_ids := self.targets():
            self.console.operator.promote(job_ids, after=self.clear_selection)

    def action_remove(self) -> None:
        if job_ids := self.targets():
            state = "" if len(job_ids) > 1 else self.state
            self.console.operator.remove(self.queue, job_ids, state, after=self.clear_selection)

    def permission_for(self, action: str) -> str | None:
        if action == "toggle_pause":
            return "resume" if self.console.operator.counts(self.queue).paused else "pause"
        return super().permission_for(action)

    # Queue settings (screens/queue_settings.py): the limit dialog and the info panel

    class ConfigRead(Message):
        """The queue's defaults and limits, read for the info panel (or the reason they could not be)."""

        def __init__(self, config: QueueConfig | None, problem: str = "") -> None:
            super().__init__()
            self.config = config
            self.problem = problem

    def action_limit(self) -> None:
        if not offers(self.console.source, "set_queue_limit"):
            self.notify("This console cannot change queue limits.", markup=False)
            return
        limits = self.console.operator.counts(self.queue).limits
        self.console.push_screen(LimitScreen(self.queue, limits), self._limit_chosen)

    def _limit_chosen(self, request: LimitRequest | None) -> None:
        if request is not None:
            source = cast(QueueSettingsSource, self.console.source)
            self.console.perform(partial(source.set_queue_limit, self.queue, request.rate, request.concurrency))

    def action_info(self) -> None:
        if offers(self.console.source, "queue_config"):
            self.read_config()
        else:
            self.notify("This console cannot show queue settings.", markup=False)

    @work(thread=True, group="info")
    def read_config(self) -> None:
        source = cast(QueueSettingsSource, self.console.source)
        with self.console.reading():
            try:
                config = source.queue_config(self.queue)
            except (ActionError, ValueError) as exc:
                self.post_message(self.ConfigRead(None, safe_str(exc, 300)))
                return
            self.post_message(self.ConfigRead(config))

    def on_queue_screen_config_read(self, message: ConfigRead) -> None:
        if message.config is None:
            self.notify(message.problem, severity="warning", markup=False)
        else:
            self.console.push_screen(QueueInfoScreen(message.config))

    def action_toggle_pause(self) -> None:
        self.console.operator.toggle_pause(self.queue)

    def action_retry_all(self) -> None:
        self.console.operator.retry_all(self.queue)

    def action_clean(self) -> None:
        self.console.operator.clean(self.queue, self.state)

    def action_drain(self) -> None:
        self.console.operator.drain(self.queue)
