"""The workers, schedules and audit screens: snapshots on fixed data, every key against the in-memory source,
permissions for a MANAGER, and the same screens over the real operator session on a private redis-server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

from textual.widgets import Static

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.audit import AuditEntry
from wellqueue_tui.auth.identity import LOCAL_DEV, Identity, Role
from wellqueue_tui.console_data import OperationsSource
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.screens.audit import AuditScreen
from wellqueue_tui.screens.confirm import ConfirmScreen
from wellqueue_tui.screens.job import JobScreen
from wellqueue_tui.screens.overview import OverviewScreen
from wellqueue_tui.screens.schedules import SchedulesScreen
from wellqueue_tui.screens.workers import WorkersScreen, scale_refusal
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings
from wellqueue_tui.widgets.audit_table import AuditTable
from wellqueue_tui.widgets.schedule_table import ScheduleTable
from wellqueue_tui.widgets.status_bars import ConsoleHeader, scheduler_summary
from wellqueue_tui.widgets.worker_table import WorkerTable, group_label, up_summary
from wellqueue_tui.workers.schedules import ScheduleState, ScheduleStore, default_schedules
from wellqueue_tui.workers.worker_records import WorkerInfo, WorkerRecord, WorkerRecords, WorkerState

from .conftest import SIZE, notifications, press, screen_text, settle, type_text
from .sample_data import HOSTILE, NOW, job, sample_source
from .static_source import StaticOperationsSource, StaticSource

MANAGER = Identity(sub="maria", role=Role.MANAGER, org=None)
OPERATOR = Identity(sub="oscar", role=Role.OPERATOR, org=None)
BERLIN = ZoneInfo("Europe/Berlin")
MIB = 1024 * 1024
LEADER = "host-a:4242:" + "0123456789abcdef" * 2
HOSTILE_ERROR = "ImportError: no module " + HOSTILE["markup"] + HOSTILE["csi"]


# Fixed data: two hosts' processes, the default schedules in every condition, five audit entries


def process(worker_id: str, state: str = "running", pid: int | None = None, **fields) -> WorkerInfo:
    host, supervisor_pid, group, _slot = worker_id.split(":")
    running = pid is not None
    values = {
        "id": worker_id,
        "host": host,
        "supervisor": f"{host}:{supervisor_pid}",
        "group": group,
        "queues": (group,),
        "threads": 2,
        "state": state,
        "pid": pid,
        "started": NOW - 7200 if running else None,
        "restarts": 0,
        "last_exit_code": None,
        "rss_bytes": 90 * MIB if running else None,
        "active": 0,
        "last_error": None,
        "heartbeat": NOW - 1,
        "heartbeat_age_s": 0.0,
    }
    return WorkerInfo(**{**values, **fields})


def sample_workers() -> list[WorkerInfo]:
    return [
        process("host-b:5151:webhooks:1", "stopping", 3003, started=NOW - 30, active=1),
        process("host-a:4242:data-validation:0", pid=2001, active=1, rss_bytes=96 * MIB),
        process("host-a:4242:data-validation:1", pid=2002),
        process(
            "host-a:4242:report-generation:0",
            pid=2003,
            started=NOW - 600,
            restarts=1,
            last_exit_code=137,
            rss_bytes=412 * MIB,
            active=2,
            last_error="MemoryError: chart too large",
        ),
        process(
            "host-b:5151:notify:0", pid=3001, queues=("email-notifications", "webhooks"), threads=5, heartbeat=NOW - 3
        ),
        process("host-b:5151:webhooks:0", "crash-loop", restarts=6, last_exit_code=1, last_error=HOSTILE_ERROR),
    ]


def fired(hour_utc: int) -> datetime:
    return datetime(2025, 6, 15, hour_utc, tzinfo=UTC)


def sample_schedule_states() -> dict[str, ScheduleState]:
    """compliance-report's job exists, permit-expiration-check's was cleaned, the validation failed to enqueue,
    production-summary-report (paused) never ran."""
    return {
        "compliance-report": ScheduleState(
            last_fire_utc=fired(11),
            last_job_id="cron:compliance-report:2025-06-15T06:00",
        ),
        "permit-expiration-check": ScheduleState(
            last_fire_utc=fired(14),
            last_job_id="cron:permit-expiration-check:2025-06-15T09:00",
        ),
        "production-data-validation": ScheduleState(
            last_fire_utc=fired(7),
            last_job_id="cron:production-data-validation:2025-06-15T02:00",
            last_error="ConnectionError: Error 111 connecting to redis:6379",
        ),
    }


def audit(
    seconds_ago: int,
    who: str,
    role: str,
    action: str,
    target: str,
    count: int,
    outcome: str,
    detail: str,
    org: str | None = None,
) -> AuditEntry:
    at = NOW - seconds_ago
    return AuditEntry(f"{int(at * 1000)}-0", at, who, role, org, action, target, count, outcome, detail)


def sample_audit() -> list[AuditEntry]:
    return [
        audit(
            900,
            "admin",
            "ADMIN",
            "scale_workers",
            "host-a:4242/data-validation",
            1,
            "ok",
            "asked host-a:4242 to add 1 data-validation process(es)",
        ),
        audit(30, "oscar", "OPERATOR", "retry", "dv-f1", 1, "ok", "job dv-f1 queued again"),
        audit(
            300,
            "admin",
            "ADMIN",
            "run_schedule",
            "production-data-validation",
            0,
            "error",
            "ConnectionError: Error 111 connecting to redis:6379",
        ),
        audit(120, "maria", "MANAGER", "remove", "rg-f00", 0, "denied", "remove needs ADMIN; you are MANAGER"),
        audit(3600, "eve", "OPERATOR", "pause", "webhooks", 1, "ok", HOSTILE["click"] + HOSTILE["osc52"], org="acme"),
    ]


def operations_source(
    identity: Identity = LOCAL_DEV, *, workers: list[WorkerInfo] | None = None
) -> StaticOperationsSource:
    plain = sample_source()
    report = job(
        "cron:compliance-report:2025-06-15T06:00",
        "report-generation",
        "generate_report",
        "completed",
        {"reportType": "compliance_monthly", "format": "pdf"},
        age_s=14800,
        attempts=1,
        progress=100,
        took_ms=5200,
    )
    schedules = [
        schedule.model_copy(update={"enabled": False}) if schedule.name == "production-summary-report" else schedule
        for schedule in default_schedules()
    ]
    return StaticOperationsSource(
        [*plain.jobs.values(), report],
        queues=plain.queues,
        identity=identity,
        now=NOW,
        workers=sample_workers() if workers is None else workers,
        schedules=schedules,
        schedule_states=sample_schedule_states(),
        audit=sample_audit(),
        scheduler_leader=LEADER,
    )


def console(source: StaticSource) -> WellQueueApp:
    return WellQueueApp(source, refresh_interval=3600, clock=lambda: NOW, local_zone=BERLIN)


def enabled(app, key: str) -> bool:
    return app.screen.active_bindings[key].enabled


def title(app) -> str:
    return str(app.screen.query_one(".fleet-title", Static).render())


def detail(app) -> str:
    return str(app.screen.query_one(".fleet-detail", Static).render())


def question(app) -> str:
    assert isinstance(app.screen, ConfirmScreen)
    return str(app.screen.query_one(".confirm-question", Static).render())


async def open_screen(pilot, key: str, screen_type: type) -> None:
    await settle(pilot)
    await press(pilot, key)
    assert isinstance(pilot.app.screen, screen_type)


# Pure parts


def test_scheduler_summary_hides_the_lease_token():
    assert scheduler_summary(LEADER) == "scheduler host-a:4242"
    assert scheduler_summary("odd-holder") == "scheduler odd-holder"
    assert scheduler_summary(None) == "scheduler: no leader"


def test_group_labels_and_up_counts():
    workers = sample_workers()
    assert [group_label(worker) for worker in workers[3:5]] == [
        "report-generation",
        "notify: email-notifications,webhooks",
    ]
    assert up_summary(workers) == "4/6 up"


def test_scale_refusal_keeps_a_group_between_one_and_the_maximum():
    workers = sample_workers()
    by_id = {worker.id: worker for worker in workers}
    assert scale_refusal(by_id["host-a:4242:data-validation:0"], workers, -1) is None
    refusal = scale_refusal(by_id["host-a:4242:report-generation:0"], workers, -1)
    assert refusal is not None and "would have 0 processes" in refusal
    # The stopping process no longer counts: webhooks on host-b is down to its crash-looping one.
    assert "would have 0" in scale_refusal(by_id["host-b:5151:webhooks:0"], workers, -1)
    assert scale_refusal(by_id["host-b:5151:webhooks:0"], workers, 63) is None
    assert "between 1 and 64" in scale_refusal(by_id["host-b:5151:webhooks:0"], workers, 64)


# Snapshots (fixed size, clock, data and local time zone)


def test_workers_screen(snap_compare):
    async def crash_loop_highlighted(pilot):
        await open_screen(pilot, "w", WorkersScreen)
        await press(pilot, "j", "j", "j", "j")

    assert snap_compare(console(operations_source()), terminal_size=SIZE, run_before=crash_loop_highlighted)


def test_schedules_screen(snap_compare):
    async def validation_highlighted(pilot):
        await open_screen(pilot, "S", SchedulesScreen)
        await press(pilot, "j", "j")

    assert snap_compare(console(operations_source()), terminal_size=SIZE, run_before=validation_highlighted)


def test_audit_screen(snap_compare):
    async def hostile_entry_highlighted(pilot):
        await open_screen(pilot, "A", AuditScreen)
        await press(pilot, "G")

    assert snap_compare(console(operations_source()), terminal_size=SIZE, run_before=hostile_entry_highlighted)


# Workers


async def test_workers_screen_lists_every_process_and_the_header_names_the_leader():
    app = console(operations_source())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = str(app.screen.query_one(ConsoleHeader).render())
        assert "workers 4/6 up │ scheduler host-a:4242" in header
        await open_screen(pilot, "w", WorkersScreen)
        table = app.screen.query_one(WorkerTable)
        assert table.keys == sorted(worker.id for worker in sample_workers())
        assert "4/6 up on 2 hosts" in title(app) and "1 crash-looping or failed" in title(app)
        assert "scheduler host-a:4242" in title(app)
        row = [str(cell) for cell in table.get_row("host-a:4242:report-generation:0")]
        assert row == [
            "host-a",
            "2003",
            "report-generation",
            "running",
            "10m",
            "1",
            "137",
            "412",
            "1s",
            "2",
            "MemoryError: chart too large",
        ]
        state = table.get_row("host-b:5151:webhooks:0")[3]
        assert state.style.bgcolor.triplet.hex.upper() == app.theme_variables["error"].upper()
        await press(pilot, "escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_plus_and_minus_scale_the_rows_group_on_its_supervisor():
    source = operations_source()
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "w", WorkersScreen)
        table = app.screen.query_one(WorkerTable)
        await press(pilot, "plus")
        added = source.processes["host-a:4242:data-validation:2"]
        assert (added.state, added.supervisor, added.pid) == ("running", "host-a:4242", 3004)
        assert "asked host-a:4242 to add 1 data-validation process(es)" in notifications(app)
        assert "host-a:4242:data-validation:2" in table.keys
        assert table.highlighted_key == "host-a:4242:data-validation:0"
        await press(pilot, "minus", "minus")
        states = [source.processes[f"host-a:4242:data-validation:{slot}"].state for slot in range(3)]
        assert states == ["running", "stopping", "stopping"]
        await press(pilot, "minus")  # the last one stays: refused before anything is sent
        assert source.processes["host-a:4242:data-validation:0"].state == "running"
        assert any("would have 0 processes" in message for message in notifications(app))


async def test_x_asks_then_restarts_the_process():
    source = operations_source()
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "w", WorkersScreen)
        await press(pilot, "j", "j", "x")
        assert question(app).startswith(
            "Restart worker process host-a:4242:report-generation:0 (pid 2003) on host-a? Its supervisor host-a:4242 "
            "stops it gracefully: it takes no new jobs, its 2 running jobs get the grace time to finish"
        )
        await press(pilot, "n")
        assert source.processes["host-a:4242:report-generation:0"].pid == 2003
        await press(pilot, "j", "j", "x")
        assert question(app) == (
            "Start worker process host-b:5151:webhooks:0 afresh? It is crash-loop with no process running; "
            "its supervisor host-b:5151 starts a new one now and resets its backoff."
        )
        await press(pilot, "y")
        restarted = source.processes["host-b:5151:webhooks:0"]
        assert (restarted.state, restarted.restarts, restarted.started) == ("running", 7, NOW)
        assert "asked host-b:5151 to restart host-b:5151:webhooks:0" in notifications(app)
        assert "crash-looping" not in title(app)


async def test_refresh_keeps_the_cursor_on_the_same_process():
    source = operations_source()
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "w", WorkersScreen)
        await press(pilot, "j", "j", "j")
        table = app.screen.query_one(WorkerTable)
        assert table.highlighted_key == "host-b:5151:notify:0"
        early = process("host-a:1:data-validation:0", pid=1500)
        source.processes[early.id] = early  # sorts first: every row below moves down one
        app.tick()
        await settle(pilot)
        assert table.keys[0] == early.id
        assert (table.highlighted_key, table.cursor_row) == ("host-b:5151:notify:0", 4)
        assert "host-b:5151:notify:0" in detail(app) and "threads 5" in detail(app)


async def test_no_workers_says_how_to_start_them():
    app = console(operations_source(workers=[]))
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "w", WorkersScreen)
        empty = app.screen.query_one(".fleet-empty", Static)
        assert empty.display and "wellqueue --workers-only" in str(empty.render())
        assert "0/0 up" in title(app)
        await press(pilot, "x", "plus")
        assert isinstance(app.screen, WorkersScreen)
        assert notifications(app) == ["No worker process here: pick a row first."] * 2


# Schedules


async def test_schedules_show_next_runs_in_both_zones_and_n_runs_one_now():
    source = operations_source()
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "S", SchedulesScreen)
        table = app.screen.query_one(ScheduleTable)
        assert table.keys == sorted(schedule.name for schedule in default_schedules())
        cells = [str(cell) for cell in table.get_row("permit-expiration-check")]
        assert cells[:6] == [
            "permit-expiration-check",
            "on",
            "0 9 * * *",
            "06-16 09:00 CDT",
            "06-16 16:00 CEST",
            "1h ago",
        ]
        paused = [str(cell) for cell in table.get_row("production-summary-report")[1:5]]
        assert paused == ["paused", "0 8 1 * *", "paused", "paused"]
        assert "4 (1 paused)" in title(app) and "local time is Europe/Berlin" in title(app)
        await press(pilot, "j", "n")
        job_id = f"manual:permit-expiration-check:{int(NOW * 1000)}"
        created = source.get_job(job_id)
        assert created is not None and created.summary.queue == "email-notifications"
        assert created.summary.data["subject"] == "Permit expiration check 2025-06-15"
        assert "schedule permit-expiration-check enqueued job " + job_id in notifications(app)
        assert str(table.get_row("permit-expiration-check")[6]) == job_id
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen) and app.screen.job_id == job_id


async def test_p_pauses_and_resumes_the_highlighted_schedule():
    source = operations_source()
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "S", SchedulesScreen)
        await press(pilot, "p")
        assert source.schedule_definitions["compliance-report"].enabled is False
        table = app.screen.query_one(ScheduleTable)
        assert str(table.get_row("compliance-report")[3]) == "paused"
        assert "2 paused" in title(app)
        assert "none while paused" in detail(app)
        await press(pilot, "p")
        assert source.schedule_definitions["compliance-report"].enabled is True
        assert "schedule compliance-report resumed" in notifications(app)


async def test_enter_opens_the_last_job_only_when_it_exists():
    app = console(operations_source())
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "S", SchedulesScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen) and app.screen.job_id == "cron:compliance-report:2025-06-15T06:00"
        await press(pilot, "escape", "j", "enter")
        assert isinstance(app.screen, SchedulesScreen)
        assert notifications(app)[-1] == (
            "Job cron:permit-expiration-check:2025-06-15T09:00 of schedule permit-expiration-check no longer exists "
            "(removed, or cleaned after it finished)."
        )
        await press(pilot, "j", "enter")
        assert notifications(app)[-1].endswith("was not enqueued: ConnectionError: Error 111 connecting to redis:6379")
        await press(pilot, "j", "enter")
        assert notifications(app)[-1] == "Schedule production-summary-report has not run yet: no job to open."


# Audit


async def test_audit_lists_entries_newest_first_coloured_by_outcome():
    app = console(operations_source())
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "A", AuditScreen)
        table = app.screen.query_one(AuditTable)
        actions = [table.entries[key].action for key in table.keys]
        assert actions == ["retry", "remove", "run_schedule", "scale_workers", "pause"]
        assert [str(cell) for cell in table.get_row(table.keys[0])[:7]] == [
            "06-15 15:06:10Z",
            "oscar",
            "OPERATOR",
            "-",
            "retry",
            "ok",
            "1",
        ]
        outcome_cells = [table.get_row(key)[5] for key in table.keys]
        outcome_colours = {str(cell): cell.style.color.triplet.hex.upper() for cell in outcome_cells}
        assert outcome_colours == {
            "ok": app.theme_variables["text-success"].upper(),
            "denied": app.theme_variables["text-warning"].upper(),
            "error": app.theme_variables["text-error"].upper(),
        }
        assert "1 denied" in title(app) and "1 error" in title(app)
        await press(pilot, "G")
        shown = detail(app)
        assert "eve (OPERATOR, org acme)" in shown
        assert "[@click=app.quit]boom[/]\\x1b]52;c;ZXZpbA==\\x07" in shown  # literal, escaped, never markup


# Permissions, palette, sources without these calls


async def test_manager_sees_the_action_keys_greyed_and_is_told_which_role_is_needed():
    source = operations_source(MANAGER)
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "w", WorkersScreen)
        assert not any(enabled(app, key) for key in ("plus", "minus", "x"))
        await press(pilot, "x", "plus")
        assert "restart_worker needs ADMIN; you are MANAGER" in notifications(app)
        assert "scale_workers needs ADMIN; you are MANAGER" in notifications(app)
        assert source.processes == {worker.id: worker for worker in sample_workers()}
        await press(pilot, "escape")
        await open_screen(pilot, "S", SchedulesScreen)
        assert not enabled(app, "n") and not enabled(app, "p") and enabled(app, "enter")
        await press(pilot, "n", "p")
        assert "run_schedule needs OPERATOR or ADMIN; you are MANAGER" in notifications(app)
        assert "schedule_pause needs ADMIN; you are MANAGER" in notifications(app)
        assert source.schedule_definitions["compliance-report"].enabled
        await press(pilot, "escape")
        await open_screen(pilot, "A", AuditScreen)  # view_audit: every role
        assert len(app.screen.query_one(AuditTable).keys) == 5


async def test_operator_may_run_a_schedule_but_not_pause_it():
    source = operations_source(OPERATOR)
    app = console(source)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "S", SchedulesScreen)
        assert enabled(app, "n") and not enabled(app, "p")
        await press(pilot, "j", "j", "j")  # the paused one: p would resume it, which needs ADMIN too
        await press(pilot, "p")
        assert "schedule_resume needs ADMIN; you are OPERATOR" in notifications(app)
        await press(pilot, "n")
        assert source.schedule_states["production-summary-report"].last_job_id.startswith("manual:")


async def test_palette_opens_the_screens():
    app = console(operations_source())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for text, screen_type in (("workers", WorkersScreen), ("audit log", AuditScreen)):
            await press(pilot, "ctrl+p")
            await type_text(pilot, text)
            await settle(pilot)  # the palette searches in a worker
            await press(pilot, "enter")
            assert isinstance(app.screen, screen_type)
            await press(pilot, "escape")


async def test_a_source_without_these_calls_hides_their_keys(source, make_app):
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not {"w", "S", "A"} & set(app.screen.active_bindings)
        await press(pilot, "w", "S", "A")
        assert isinstance(app.screen, OverviewScreen)
        assert "scheduler" not in str(app.screen.query_one(ConsoleHeader).render())


# The real operator session on the private redis-server


async def test_the_screens_over_the_real_session(redis_client, redis_url, tmp_path):
    broker = build_broker(redis_url, settings=Settings(data_dir=tmp_path))
    client = broker.client
    store = ScheduleStore(client, KEYS)
    defaults = store.install_defaults()

    def live_records() -> list[WorkerRecord]:
        """The processes of a supervisor that is alive now (started 90 s ago, one crash-looping)."""
        now = float(client.time()[0])
        return [
            WorkerRecord(
                "h1:10:data-validation:0",
                "h1:10",
                "h1",
                "data-validation",
                ("data-validation",),
                3,
                WorkerState.RUNNING,
                4321,
                now - 90,
                0,
                None,
                64 * MIB,
                0,
            ),
            WorkerRecord(
                "h1:10:webhooks:0",
                "h1:10",
                "h1",
                "webhooks",
                ("webhooks",),
                5,
                WorkerState.CRASH_LOOP,
                None,
                None,
                6,
                1,
                None,
                0,
                "OSError: " + HOSTILE["osc52"],
            ),
        ]

    WorkerRecords(client, KEYS).publish(live_records())
    client.set(KEYS.leader, "h1:10:" + "ab" * 16)
    session = OperatorSession(Registry(client, broker.keys), LOCAL_DEV, enqueue_fn=partial(enqueue, broker=broker))
    assert isinstance(session, OperationsSource)
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "workers 1/2 up │ scheduler h1:10" in str(app.screen.query_one(ConsoleHeader).render())

        await open_screen(pilot, "S", SchedulesScreen)
        assert app.screen.query_one(ScheduleTable).keys == sorted(defaults)
        await press(pilot, "p")
        assert store.get("compliance-report").enabled is False
        await press(pilot, "j", "n")
        job_id = store.state("permit-expiration-check").last_job_id
        assert job_id.startswith("manual:permit-expiration-check:")
        assert session.get_job(job_id).summary.state == "prioritized"  # the payload asks for priority high
        await press(pilot, "enter")
        assert isinstance(app.screen, JobScreen) and app.screen.job_id == job_id
        await press(pilot, "escape", "escape")

        await open_screen(pilot, "A", AuditScreen)
        table = app.screen.query_one(AuditTable)
        shown = [
            (table.entries[key].action, table.entries[key].target, table.entries[key].outcome) for key in table.keys
        ]
        assert shown == [
            ("run_schedule", "permit-expiration-check", "ok"),
            ("schedule_pause", "compliance-report", "ok"),
        ]
        await press(pilot, "escape")

        # a live supervisor refreshes its records every ~2 s (requests go only to one seen within 15 s), and a
        # slow run must not age the "1m" uptime either
        WorkerRecords(client, KEYS).publish(live_records())
        await open_screen(pilot, "w", WorkersScreen)
        table = app.screen.query_one(WorkerTable)
        assert table.keys == ["h1:10:data-validation:0", "h1:10:webhooks:0"]
        text = screen_text(app.export_screenshot())
        assert "crash-loop" in text and "1m" in text and "64" in text
        await press(pilot, "plus", "j", "x", "y")
        requests = [json.loads(raw) for raw in client.lrange(KEYS.worker_control("h1:10"), 0, -1)]
        assert requests == [
            {"action": "scale", "group": "data-validation", "delta": 1},
            {"action": "restart", "worker_id": "h1:10:webhooks:0"},
        ]
    client.close()
