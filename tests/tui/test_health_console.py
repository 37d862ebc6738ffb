"""The console's health features on fixed data: the alert bar on every screen, the bell on a new alert,
health lines on the queue panels, the Alerts screen (mute, enable/disable, remove, each with its permission)
and the Timeline screen (queue filter, redacted summary to the clipboard)."""

from __future__ import annotations

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.screens.alerts import AlertsScreen
from wellqueue_tui.screens.timeline import TimelineScreen

from .conftest import SIZE, notifications, press, screen_text, settle, type_text
from .health_data import firing_state, health_source
from .sample_data import NOW, sample_source

OPERATOR = Identity("olga", Role.OPERATOR)


def app(source=None, **options) -> WellQueueApp:
    return WellQueueApp(source or health_source(), refresh_interval=3600, clock=lambda: NOW, **options)


# Snapshots


def test_overview_with_alert_bar_and_health_lines(snap_compare):
    assert snap_compare(app(), terminal_size=(100, 34), run_before=settle)


def test_alerts_screen(snap_compare):
    async def alerts(pilot):
        await settle(pilot)
        await press(pilot, "exclamation_mark")

    assert snap_compare(app(), terminal_size=SIZE, run_before=alerts)


def test_timeline_screen(snap_compare):
    async def timeline(pilot):
        await settle(pilot)
        await press(pilot, "T", "j", "j", "j")

    assert snap_compare(app(), terminal_size=SIZE, run_before=timeline)


# Behaviour


async def test_the_alert_bar_shows_on_every_screen_and_hides_when_none_fires():
    source = health_source()
    console = app(source)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "1 alert firing: failure-rate on webhooks (83.3%)" in screen_text(console.export_screenshot())
        await press(pilot, "enter")  # a queue screen
        assert "failure-rate on webhooks" in screen_text(console.export_screenshot())
        source.states = []
        console.tick()
        await settle(pilot)
        assert "alert firing" not in screen_text(console.export_screenshot())


async def test_a_new_alert_rings_the_bell_once(monkeypatch):
    source = health_source()
    console = app(source)
    rings = []
    monkeypatch.setattr(console, "bell", lambda: rings.append(1))
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert rings == []  # firing when the console opened: shown, not rung
        source.states = [*source.states, firing_state("stalled-jobs", "report-generation", NOW - 5, 3)]
        console.tick()
        await settle(pilot)
        console.tick()
        await settle(pilot)
        assert rings == [1]
        assert "2 alerts firing" in screen_text(console.export_screenshot())


async def test_the_bell_can_be_turned_off(monkeypatch):
    source = health_source(firing=[])
    console = app(source, bell=False)
    rings = []
    monkeypatch.setattr(console, "bell", lambda: rings.append(1))
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        source.states = [firing_state()]
        console.tick()
        await settle(pilot)
        assert rings == [] and "1 alert firing" in screen_text(console.export_screenshot())


async def test_queue_panels_warn_at_a_glance():
    console = app()
    async with console.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        text = screen_text(console.export_screenshot())
        assert "no consumer" in text  # report-generation and email-notifications have no worker
        assert "stuck 3" in text and "breaker OPEN" in text and "2 consumers" in text


async def test_an_operator_mutes_for_a_while_and_may_not_disable():
    source = health_source(OPERATOR)
    console = app(source)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "exclamation_mark")
        assert isinstance(console.screen, AlertsScreen)
        assert console.screen.table.highlighted.rule.name == "failure-rate"  # firing first
        await press(pilot, "m")
        await press(pilot, *["backspace"] * 2)
        await type_text(pilot, "30m")
        await press(pilot, "enter")
        assert source.rules["failure-rate"].muted_until == NOW + 1800
        assert "alert failure-rate muted for 30 min" in notifications(console)
        await press(pilot, "e")
        assert source.rules["failure-rate"].enabled
        assert any("alert_update needs ADMIN" in message for message in notifications(console))
        await press(pilot, "u")
        assert source.rules["failure-rate"].muted_until is None


async def test_a_bad_mute_duration_is_named_and_nothing_changes():
    source = health_source(OPERATOR)
    console = app(source)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "exclamation_mark", "m", "backspace", "backspace")
        await type_text(pilot, "soon")
        await press(pilot, "enter")
        assert "soon" in screen_text(console.export_screenshot()) and source.rules["failure-rate"].muted_until is None
        await press(pilot, "escape")
        assert isinstance(console.screen, AlertsScreen)


async def test_an_admin_disables_and_removes_a_rule():
    source = health_source()
    console = app(source)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "exclamation_mark", "j", "e")  # queue-depth
        assert not source.rules["queue-depth"].enabled
        await press(pilot, "x")
        await press(pilot, "n")
        assert "queue-depth" in source.rules
        await press(pilot, "x", "y")
        assert "queue-depth" not in source.rules and "alert queue-depth removed" in notifications(console)


async def test_the_timeline_filters_by_queue_and_copies_a_redacted_summary(monkeypatch):
    console = app()
    copied = []
    monkeypatch.setattr(console, "copy_to_clipboard", copied.append)
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "T")
        screen = console.screen
        assert isinstance(screen, TimelineScreen) and len(screen.records) == 5
        assert [event.kind for event in screen.records][:2] == ["worker", "audit"]  # newest first
        await press(pilot, "f")  # the first queue
        assert screen.queue == "data-validation" and [e.queue for e in screen.records] == [None]
        await press(pilot, "f", "f", "f")
        assert screen.queue == "webhooks" and {e.queue for e in screen.records} == {"webhooks", None}
        await press(pilot, "Y")
        [summary] = copied
        assert "queue webhooks" in summary and "breaker" in summary
        assert "ops@example.com" not in summary and "secret" not in summary and "token=abc" not in summary


async def test_without_health_calls_the_keys_are_absent():
    console = app(sample_source())
    async with console.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "exclamation_mark", "T")
        assert not isinstance(console.screen, AlertsScreen | TimelineScreen)
        assert "alert" not in screen_text(console.export_screenshot())


async def test_a_queue_panel_names_the_destinations_its_breakers_hold_back():
    from wellqueue_tui.health.breaker_state import BreakerState

    source = health_source()
    source.breaker_states["webhooks@hooks.example.com"] = BreakerState(
        queue="webhooks@hooks.example.com", status="open", since=NOW - 60, cooldown_s=30
    )
    source.breaker_states["webhooks@ok.example.com"] = BreakerState(queue="webhooks@ok.example.com", since=NOW)
    console = app(source)
    async with console.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        text = screen_text(console.export_screenshot())
        assert "holding hooks.example.com" in text and "ok.example.com" not in text
