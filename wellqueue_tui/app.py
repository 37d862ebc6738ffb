"""The WellQueue operator console: a Textual app over a `ConsoleSource`, with k9s-style keys.

The app owns the refresh tick, the Redis-reachability state behind the outage banner (and the header's
workers and scheduler leader), the action worker, and the command palette's queue, job and screen commands.
Screens render; the source does the I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, cast

import redis
from rich.text import Text
from textual import work
from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input

from .auth.permissions import Action
from .console_data import ConsoleSource, OperationsSource, offers
from .jobs.models import QueueCounts
from .sanitize import safe_str
from .screens.alerts import AlertsScreen
from .screens.audit import AuditScreen
from .screens.base import ConsoleScreen
from .screens.command import CommandScreen
from .screens.command_line import Command
from .screens.confirm import ConfirmScreen
from .screens.failures import FailuresScreen
from .screens.fix_and_rerun import new_job
from .screens.help import HelpScreen
from .screens.job import JobScreen
from .screens.operator_actions import OperatorActions, jobs_phrase
from .screens.overview import OverviewScreen
from .screens.queue import QueueScreen
from .screens.schedules import SchedulesScreen
from .screens.search import SearchScreen
from .screens.timeline import TimelineScreen
from .screens.workers import WorkersScreen
from .widgets.status_bars import scheduler_summary
from .widgets.worker_table import up_summary


def stylesheet_folder() -> Path:
    """The top-level styles/ folder, which the build installs as the `wellqueue_tui.styles` package."""
    try:
        return Path(str(resources.files("wellqueue_tui.styles")))
    except ModuleNotFoundError:  # a checkout run without `pip install`: nothing maps the package to styles/
        return Path(__file__).resolve().parents[1] / "styles"


STYLES = stylesheet_folder()

#: What a source raises when Redis is unreachable or refuses: the console shows a banner and keeps retrying.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)

#: Queue health changes slowly and costs a few round trips; read it this often (seconds), alerts every tick.
HEALTH_EVERY_S = 5.0

#: Longest text typed into the palette that is still taken for a job id.
MAX_JOB_ID = 200


def describe_problem(exc: BaseException) -> str:
    """`ConnectionError: Error 111 connecting to …` — the class says more than most messages."""
    return safe_str(f"{type(exc).__name__}: {exc}", 200)


class SourceStatus(Message):
    """A source call succeeded (`problem` None) or could not reach Redis."""

    def __init__(self, problem: str | None) -> None:
        super().__init__()
        self.problem = problem


class ServerChecked(Message):
    """The heartbeat's reading of the server clock, and of the workers and the scheduler leader when the
    source has them (`scheduler` is then the leader's lease holder, or None when no scheduler holds it)."""

    def __init__(
        self,
        clock_offset: float,
        workers: list[Any] | None,
        *,
        knows_scheduler: bool = False,
        scheduler: str | None = None,
    ) -> None:
        super().__init__()
        self.clock_offset = clock_offset
        self.workers = workers
        self.knows_scheduler = knows_scheduler
        self.scheduler = scheduler


class HealthChecked(Message):
    """The alerts firing now, and (when the source has them) queue health and breaker states by queue."""

    def __init__(self, firing: list[Any], health: dict[str, Any] | None, breakers: dict[str, Any] | None) -> None:
        super().__init__()
        self.firing = firing
        self.health = health
        self.breakers = breakers


class ActionFinished(Message):
    """An operator action returned; run its follow-up and refresh what is on screen."""

    def __init__(self, after: Callable[[], object] | None) -> None:
        super().__init__()
        self.after = after


def highlighted(matcher: Matcher, text: str) -> Content:
    """The fuzzy match marked on plain content (`Matcher.highlight` would parse `text` as markup)."""
    content = Content(text)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class ListedCommands(Provider):
    """A palette provider over a fixed list of (text, command, help) entries."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        return iter(())

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(Content(text), command, text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, highlighted(matcher, text), command, text=text, help=help_text)


class QueueCommands(ListedCommands):
    """Command palette: open a queue, pause or resume it, find a job by id."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = cast("WellQueueApp", self.app)
        for counts in app.counts.values():
            name = safe_str(counts.queue, 80)
            yield f"Open queue {name}", partial(app.open_queue, counts.queue), "Show its jobs by state"
            verb = "Resume" if counts.paused else "Pause"
            yield f"{verb} queue {name}", partial(app.operator.toggle_pause, counts.queue), f"{verb} it on every host"

    async def search(self, query: str) -> Hits:
        async for hit in super().search(query):
            yield hit
        job_id = query.strip()
        if job_id and len(job_id) <= MAX_JOB_ID and not any(char.isspace() for char in job_id):
            text = f"Open job {safe_str(job_id, MAX_JOB_ID)}"
            app = cast("WellQueueApp", self.app)
            yield Hit(0.5, Content(text), partial(app.open_job, job_id), text=text, help="Find a job by its id")


class ScreenCommands(ListedCommands):
    """Command palette: open the workers, schedules and audit screens (those the source can fill)."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = cast("WellQueueApp", self.app)
        if offers(app.source, "workers"):
            yield "Workers", app.open_workers, "Worker processes on every host: scale, restart"
        if offers(app.source, "schedules"):
            yield "Schedules", app.open_schedules, "Cron schedules: next and last runs, run now, pause"
        if offers(app.source, "audit_entries"):
            yield "Audit log", app.open_audit, "Who did what, newest first"
        if offers(app.source, "alert_rules"):
            yield "Alerts", app.open_alerts, "Alert rules, what fires now, history; mute"
        if offers(app.source, "timeline"):
            yield "Timeline", app.open_timeline, "What happened lately, newest first; copy a summary"
        if offers(app.source, "failure_groups"):
            yield "Failures", app.open_failures, "Failed jobs of every queue grouped by cause; retry a whole group"


class WellQueueApp(App[None]):
    """Overview → queue → job, with actions, over any `ConsoleSource`."""

    TITLE = "WellQueue"
    CSS_PATH = [
        STYLES / name
        for name in (
            "app.tcss",
            "overview.tcss",
            "queue.tcss",
            "job.tcss",
            "fleet.tcss",
            "dialogs.tcss",
            "health.tcss",
            "limits.tcss",
            "search.tcss",
        )
    ]
    COMMANDS = App.COMMANDS | {QueueCommands, ScreenCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        # priority: opens the prompt as the key arrives, so what is typed after `:` lands in it
        Binding("colon", "command_mode", "Command line", key_display=":", priority=True, show=False),
        Binding("exclamation_mark", "open_alerts", "Alerts", key_display="!", show=False),
        Binding("T", "open_timeline", "Timeline", show=False),
        Binding("f", "open_failures", "Failures", show=False),
    ]

    #: None while the source answers; otherwise what went wrong (shown in the banner).
    connection_problem: reactive[str | None] = reactive(None)
    #: `workers 3/4 up`, when the source can tell.
    workers_summary: reactive[str | None] = reactive(None)
    #: `scheduler host-a:4242` or `scheduler: no leader`, when the source can tell.
    scheduler_summary: reactive[str | None] = reactive(None)
    #: The alerts firing now (alert states), for the alert bar on every screen.
    firing_alerts: reactive[tuple] = reactive(())
    #: Queue health and breaker states by queue, for the queue panels (empty when the source has none).
    queue_health: reactive[dict] = reactive(dict, always_update=True)

    def __init__(
        self,
        source: ConsoleSource,
        *,
        supervisor: Any = None,
        refresh_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        local_zone: tzinfo | None = None,
        bell: bool = True,
    ) -> None:
        super().__init__()
        self.source = source
        self.supervisor = supervisor
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.clock_offset = 0.0  # Redis server time minus our clock: job times are server times
        self.local_zone = local_zone  # where "local time" is (schedules); None: this machine's time zone
        self.counts: dict[str, QueueCounts] = {}  # latest counts per queue, for confirmations and the palette
        self.fleet: list[Any] | None = None  # the worker processes the heartbeat read last, when the source has them
        self.operator = OperatorActions(self)
        self.bell_on_alert = bell  # WELLQUEUE_CONSOLE_BELL
        self.breaker_states: dict[str, Any] = {}
        self.health_checked_at: float | None = None
        self._seen_firings: set[tuple] | None = None  # (rule, queue, fired_at) of the last reading

    def now(self) -> float:
        """The current time on the Redis server's clock."""
        return self.clock() + self.clock_offset

    def on_mount(self) -> None:
        self.push_screen(OverviewScreen())
        self.check_server()
        self.check_alerts()
        self.set_interval(self.refresh_interval, self.tick)

    def tick(self) -> None:
        self.check_server()
        self.check_alerts()
        self.refresh_visible()

    def check_alerts(self) -> None:
        if offers(self.source, "firing_alerts"):
            self.check_health(with_queues=self._queue_health_due())

    def _queue_health_due(self) -> bool:
        now = self.clock()
        if self.health_checked_at is not None and now - self.health_checked_at < HEALTH_EVERY_S:
            return False
        self.health_checked_at = now
        return offers(self.source, "queue_health")

    def refresh_visible(self) -> None:
        """Reload the top-most console screen (a dialog on top keeps its screen live underneath)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ConsoleScreen):
                screen.refresh_data()
                return

    # Source access from worker threads

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Wrap source reads in a worker: Redis trouble raises the banner and skips the rest of the block."""
        try:
            yield
        except UNREACHABLE_ERRORS as exc:
            self.post_message(SourceStatus(describe_problem(exc)))
            return
        if self.connection_problem is not None:
            self.post_message(SourceStatus(None))

    def on_source_status(self, message: SourceStatus) -> None:
        self.connection_problem = message.problem

    @work(thread=True, exclusive=True, group="server")
    def check_server(self) -> None:
        """The heartbeat: Redis's clock (ages are measured on it), which also proves Redis answers."""
        with self.reading():
            offset = self.source.server_time() - self.clock()
            source = cast(OperationsSource, self.source)  # each optional call is made only where offered
            workers = source.workers() if offers(source, "workers") else None
            knows_scheduler = offers(source, "scheduler_leader")
            leader = source.scheduler_leader() if knows_scheduler else None
            self.post_message(ServerChecked(offset, workers, knows_scheduler=knows_scheduler, scheduler=leader))

    def on_server_checked(self, message: ServerChecked) -> None:
        self.clock_offset = message.clock_offset
        if message.workers is not None:
            self.fleet = message.workers
            self.workers_summary = f"workers {up_summary(message.workers)}"
        if message.knows_scheduler:
            self.scheduler_summary = scheduler_summary(message.scheduler)

    @work(thread=True, exclusive=True, group="health")
    def check_health(self, with_queues: bool) -> None:
        """The alerts firing now (every tick) and queue health with breaker states (every few seconds)."""
        source = cast(Any, self.source)
        with self.reading():
            firing = source.firing_alerts()
            health = {item.queue: item for item in source.queue_health()} if with_queues else None
            breakers = source.breakers() if with_queues and offers(source, "breakers") else None
            self.post_message(HealthChecked(firing, health, breakers))

    def on_health_checked(self, message: HealthChecked) -> None:
        firings = {(state.rule, state.queue, state.fired_at) for state in message.firing}
        if self._seen_firings is not None and firings - self._seen_firings and self.bell_on_alert:
            self.bell()  # a new alert fired since the last reading
        self._seen_firings = firings
        self.firing_alerts = tuple(message.firing)
        if message.health is not None:
            self.breaker_states = message.breakers or {}
            self.queue_health = message.health

    @work(thread=True, group="actions")
    def perform(self, call: Callable[[], Any], after: Callable[[], object] | None = None) -> None:
        """Run one source action; its message (or the error's) becomes a notification."""
        try:
            result = call()
        except UNREACHABLE_ERRORS as exc:
            self.post_message(SourceStatus(describe_problem(exc)))
            self.notify(f"Not done, Redis is unreachable: {describe_problem(exc)}", severity="error", markup=False)
            return
        except Exception as exc:  # the source's refusal or failure; its text is written for the operator
            self.notify(safe_str(exc, 300), severity="error", markup=False)
            return
        self.notify(safe_str(result.message, 300), markup=False)
        if getattr(result, "warning", None):  # done, but something to tell apart (its audit entry was not written)
            self.notify(safe_str(result.warning, 300), severity="warning", markup=False)
        self.post_message(ActionFinished(after))

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.after is not None:
            message.after()
        self.refresh_visible()

    # Navigation (also the palette's commands)

    def open_queue(self, queue: str) -> None:
        self.push_screen(QueueScreen(queue))

    def open_job(self, job_id: str) -> None:
        self.push_screen(JobScreen(job_id))

    def open_workers(self) -> None:
        self.push_screen(WorkersScreen())

    def open_search(self, query: str = "") -> None:
        if offers(self.source, "search"):
            self.push_screen(SearchScreen(query))

    def open_schedules(self) -> None:
        self.push_screen(SchedulesScreen())

    def open_audit(self) -> None:
        if self.operator.permitted(Action.VIEW_AUDIT):
            self.push_screen(AuditScreen())

    # The `:` command line

    def command_names(self) -> set[str]:
        """The `:` commands that can run here: those the source offers."""
        names = {"q", "job"}
        names.update(
            name
            for name, call in (
                ("search", "search"),
                ("new", "submit_job"),
                ("workers", "workers"),
                ("schedules", "schedules"),
                ("audit", "audit_entries"),
                ("failures", "failure_groups"),
            )
            if offers(self.source, call)
        )
        return names

    def action_command_mode(self) -> None:
        if not isinstance(self.screen, ConsoleScreen) or isinstance(self.focused, Input):
            raise SkipAction()  # a `:` typed into a field (or a dialog) is not a command
        self.push_screen(CommandScreen(sorted(self.counts), self.command_names()), self.run_command)

    def run_command(self, command: Command | None) -> None:
        if command is None:
            return
        if command.name == "q":
            self.open_queue(command.argument)
        elif command.name == "job":
            self.open_job(command.argument)
        elif command.name == "search":
            self.open_search(command.argument)
        elif command.name == "new":
            new_job(self, command.argument)
        else:
            {
                "workers": self.open_workers,
                "schedules": self.open_schedules,
                "audit": self.open_audit,
                "failures": self.open_failures,
            }[command.name]()

    def open_alerts(self) -> None:
        if offers(self.source, "alert_rules"):
            self.push_screen(AlertsScreen())

    def open_timeline(self, queue: str | None = None) -> None:
        if offers(self.source, "timeline"):
            self.push_screen(TimelineScreen(queue))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Alerts and Timeline keys exist only for a source that can fill those screens."""
        needs = {"open_alerts": "alert_rules", "open_timeline": "timeline", "open_failures": "failure_groups"}.get(
            action
        )
        return offers(self.source, needs) if needs else True

    def action_open_alerts(self) -> None:
        self.open_alerts()

    def action_open_timeline(self) -> None:
        self.open_timeline()

    def open_failures(self) -> None:
        if offers(self.source, "failure_groups") and not isinstance(self.screen, FailuresScreen):
            self.push_screen(FailuresScreen())

    def action_open_failures(self) -> None:
        self.open_failures()

    def action_help(self) -> None:
        screen = self.screen
        self.push_screen(HelpScreen(safe_str(screen.sub_title or screen.title or "", 60), screen))

    async def action_quit(self) -> None:
        """q, ctrl+q and the palette's Quit: ask first while this console's workers run jobs."""
        running = self.supervisor.in_flight() if self.supervisor is not None else 0
        if not running:
            self.exit()
            return
        verb = "is" if running == 1 else "are"
        question = Text(
            f"{jobs_phrase(running)} {verb} still running in this console's workers. Quit and stop the workers?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(question, "Quit", title="Jobs in flight"), answered)
