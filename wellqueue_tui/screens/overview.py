"""The home screen: one panel per queue with its counts and last hour, queue-wide actions, and the keys to
the workers, schedules and audit screens."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from ..console_data import offers
from ..jobs.models import JobSummary, MinuteStats, QueueCounts
from ..widgets.failure_table import FailureTable
from ..widgets.fleet_strip import fleet_text
from ..widgets.queue_panel import QueuePanel
from ..widgets.throughput_chart import throughput_series
from ..widgets.worker_table import state_styles
from .base import ConsoleScreen

#: Keys that open a screen only a source with the matching optional call can fill (hidden otherwise).
SCREEN_CALLS = {
    "open_workers": "workers",
    "open_schedules": "schedules",
    "open_audit": "audit_entries",
    "search": "search",
}

#: Failed jobs the lower half lists, newest first across every queue.
RECENT_FAILURES = 8

#: Per-minute throughput changes slowly; fetch it this often (seconds) rather than every tick.
THROUGHPUT_EVERY_S = 5.0


class OverviewScreen(ConsoleScreen):
    """Queues at a glance; j/k move between panels, enter opens one."""

    BINDINGS = [
        Binding("enter", "open_queue", "Open"),
        Binding("j,down,right", "move(1)", "Next queue", show=False),
        Binding("k,up,left", "move(-1)", "Previous queue", show=False),
        Binding("tab,shift+tab", "switch_section", "Queues/failures", show=False),
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("R", "retry_all", "Retry failed"),
        Binding("c", "clean", "Clean"),
        Binding("D", "drain", "Drain"),
        Binding("w", "open_workers", "Workers", show=False),
        Binding("S", "open_schedules", "Schedules", show=False),
        Binding("A", "open_audit", "Audit log", show=False),
        # priority: opens the search as the key arrives, so the keys typed after it land in its query line
        Binding("slash", "search", "Search", key_display="/", priority=True),
    ]
    GATED_ACTIONS = {"retry_all": "retry_all", "clean": "clean", "drain": "drain", "open_audit": "view_audit"}

    class Loaded(Message):
        def __init__(
            self, counts: list[QueueCounts], throughput: dict[str, list[MinuteStats]] | None, failures: list[JobSummary]
        ) -> None:
            super().__init__()
            self.counts = counts
            self.throughput = throughput
            self.failures = failures

    def __init__(self) -> None:
        super().__init__(classes="overview-screen")
        self.sub_title = "Overview"
        self.throughput_fetched_at: float | None = None
        self.last_panel: QueuePanel | None = None  # where tab goes back to from the failures

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static("Loading queues…", classes="overview-empty")
        yield Grid(classes="queue-grid")  # not a scroll container: arrows move between panels, not the view
        with Vertical(classes="overview-lower"):
            yield Static(classes="failures-title")
            yield FailureTable(classes="failure-table")
            yield Static(classes="fleet-strip")
        yield Footer(compact=True)

    # Loading

    def refresh_data(self) -> None:
        if self.is_loading("overview"):
            return
        now = self.console.now()
        due = self.throughput_fetched_at is None or now - self.throughput_fetched_at >= THROUGHPUT_EVERY_S
        if due:
            self.throughput_fetched_at = now
        self.load(with_throughput=due)

    @work(thread=True, exclusive=True, group="overview")
    def load(self, with_throughput: bool) -> None:
        source = self.console.source
        with self.console.reading():
            counts = source.all_counts()
            throughput = {c.queue: source.throughput(c.queue) for c in counts} if with_throughput else None
            self.deliver(self.Loaded(counts, throughput, source.recent_failures(RECENT_FAILURES)))

    async def on_overview_screen_loaded(self, message: Loaded) -> None:
        self.console.counts.update({counts.queue: counts for counts in message.counts})
        queues = [counts.queue for counts in message.counts]
        if await self._sync_panels(queues) and message.throughput is None:
            self.throughput_fetched_at = None  # new panels want their sparklines at the next tick
        empty = self.query_one(".overview-empty", Static)
        empty.display = not queues
        empty.update("No queues yet: `wellqueue enqueue` or `wellqueue demo` adds jobs, and they show up here.")
        now = self.console.now()
        for counts in message.counts:
            panel = self.panel(counts.queue)
            panel.show_counts(counts)
            if message.throughput is not None:
                panel.show_throughput(throughput_series(message.throughput.get(counts.queue, []), now))
        self.show_failures(message.failures, now)
        self.show_fleet()
        self.refresh_bindings()

    def show_failures(self, failures: list[JobSummary], now: float) -> None:
        title = Text("Recent failures", style="bold", end="")
        title.append(
            "  across every queue, newest first · tab goes here and back, enter opens one"
            if failures
            else "  none: no queue has a failed job",
            style="dim",
        )
        self.query_one(".failures-title", Static).update(title)
        table = self.query_one(FailureTable)
        table.display = bool(failures)
        table.show_failures(failures, now)

    def show_fleet(self) -> None:
        strip = self.query_one(".fleet-strip", Static)
        fleet = self.console.fleet
        strip.display = fleet is not None
        if fleet is not None:
            strip.update(fleet_text(fleet, state_styles(self.app)))

    @on(DataTable.RowSelected, ".failure-table")
    def failure_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.console.open_job(event.row_key.value)

    async def _sync_panels(self, queues: list[str]) -> bool:
        """One panel per queue, in the source's order; focus stays on its queue. True if they changed."""
        grid = self.query_one(".queue-grid", Grid)
        if [panel.queue for panel in grid.query(QueuePanel)] == queues:
            return False
        focused = self.selected_queue
        await grid.remove_children()
        await grid.mount_all([QueuePanel(queue) for queue in queues])
        target = focused if focused in queues else (queues[0] if queues else None)
        if target is not None:
            self.panel(target).focus()
        return True

    def panel(self, queue: str) -> QueuePanel:
        return next(panel for panel in self.query(QueuePanel) if panel.queue == queue)

    @property
    def selected_queue(self) -> str | None:
        focused = self.focused
        return focused.queue if isinstance(focused, QueuePanel) else None

    # Keys

    def action_move(self, step: int) -> None:
        if isinstance(self.focused, FailureTable):
            self.focused.step(step)
            return
        panels = list(self.query(QueuePanel))
        if not panels:
            return
        current = panels.index(self.focused) if self.focused in panels else -1
        self.set_focus(panels[(current + step) % len(panels)])  # at once: `focus()` waits for queued keys

    def action_switch_section(self) -> None:
        """Between the queue panels and the recent failures (when there are any), the panel focus kept."""
        table = self.query_one(FailureTable)
        if self.focused is table or not table.display:
            panels = list(self.query(QueuePanel))
            if panels:
                self.set_focus(self.last_panel if self.last_panel in panels else panels[0])
            return
        self.last_panel = self.focused if isinstance(self.focused, QueuePanel) else None
        self.set_focus(table)

    def action_open_queue(self) -> None:
        if self.selected_queue is not None:
            self.console.open_queue(self.selected_queue)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        call = SCREEN_CALLS.get(action)
        if call is not None and not offers(self.console.source, call):
            return False
        return super().check_action(action, parameters)

    def action_search(self) -> None:
        self.console.open_search()

    def action_open_workers(self) -> None:
        self.console.open_workers()

    def action_open_schedules(self) -> None:
        self.console.open_schedules()

    def action_open_audit(self) -> None:
        self.console.open_audit()

    def permission_for(self, action: str) -> str | None:
        if action == "toggle_pause":
            queue = self.selected_queue
            paused = queue is not None and self.console.operator.counts(queue).paused
            return "resume" if paused else "pause"
        return super().permission_for(action)

    def action_toggle_pause(self) -> None:
        if self.selected_queue is not None:
            self.console.operator.toggle_pause(self.selected_queue)

    def action_retry_all(self) -> None:
        if self.selected_queue is not None:
            self.console.operator.retry_all(self.selected_queue)

    def action_clean(self) -> None:
        if self.selected_queue is not None:
            self.console.operator.clean(self.selected_queue)

    def action_drain(self) -> None:
        if self.selected_queue is not None:
            self.console.operator.drain(self.selected_queue)
