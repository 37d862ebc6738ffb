"""Schedules: crontab translation, DST behaviour, payload templates, the Redis store and the `schedules` CLI."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from wellqueue_tui.workers.schedule_commands import add_schedule_parser, run_schedules_command
from wellqueue_tui.workers.schedules import (
    CHANGED_CHANNEL,
    INSTALLED_KEY,
    SCHEDULES_KEY,
    STATE_KEY,
    Schedule,
    ScheduleError,
    ScheduleNotFound,
    ScheduleStore,
    check_payload,
    cron_trigger,
    default_schedules,
    fire_job_id,
    next_fire_times,
    parse_crontab,
    render_payload,
)

CHICAGO = ZoneInfo("America/Chicago")
UTC = timezone.utc


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def chicago(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CHICAGO)


def schedule(**fields) -> Schedule:
    defaults = {"name": "nightly", "cron": "0 2 * * *", "timezone": "America/Chicago", "queue": "webhooks"}
    return Schedule.build(**{**defaults, **fields})


def fires(sched: Schedule, start: datetime, n: int) -> list[datetime]:
    return next_fire_times(sched, start, n)


# --- crontab translation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "field", "expected"),
    [
        ("0 6 * * 1-5", "day_of_week", "mon-fri"),
        ("0 6 * * 0", "day_of_week", "sun"),
        ("0 6 * * 7", "day_of_week", "sun"),
        ("0 6 * * 6-7", "day_of_week", "sat-sun"),
        ("0 6 * * 5-0", "day_of_week", "fri-sun"),  # wraps through Sunday
        ("0 6 * * fri-mon", "day_of_week", "mon,fri-sun"),
        ("0 6 * * MON,wed", "day_of_week", "mon,wed"),
        ("0 6 * * 1,3,5", "day_of_week", "mon,wed,fri"),
        ("0 6 * * 1-5/2", "day_of_week", "mon,wed,fri"),
        ("0 6 * * */2", "day_of_week", "tue,thu,sat-sun"),  # crontab counts from Sunday: sun,tue,thu,sat
        ("0 6 * * 0-7", "day_of_week", "*"),
        ("*/15 * * * *", "minute", "*/15"),
        ("5/10 * * * *", "minute", "5-59/10"),
        ("0 8-18/2 * * *", "hour", "8-18/2"),
        ("0 0 1 jan-mar *", "month", "1-3"),
        ("0 0 1,15 * *", "day", "1,15"),
        ("@daily", "hour", "0"),
        ("@weekly", "day_of_week", "sun"),
    ],
)
def test_crontab_translation(expression: str, field: str, expected: str) -> None:
    assert getattr(parse_crontab(expression), field) == expected


def test_weekdays_fire_monday_to_friday_not_tuesday_to_saturday() -> None:
    # APScheduler's own from_crontab() would read 1-5 as Tue-Sat (it counts 0 as Monday).
    runs = fires(schedule(cron="0 6 * * 1-5"), chicago(2026, 6, 7, 0, 0), 5)  # from a Sunday
    assert [run.strftime("%a %H:%M") for run in runs] == [f"{day} 06:00" for day in ("Mon", "Tue", "Wed", "Thu", "Fri")]


def test_sunday_as_0_and_7_fire_on_sundays() -> None:
    for cron in ("0 6 * * 0", "0 6 * * 7", "0 6 * * sun"):
        runs = fires(schedule(cron=cron), chicago(2026, 6, 1, 0, 0), 2)
        assert [run.date().isoformat() for run in runs] == ["2026-06-07", "2026-06-14"]


def test_day_of_month_and_weekday_together_fire_on_either_as_crontab_does() -> None:
    runs = fires(schedule(cron="0 0 13 * 5"), chicago(2026, 2, 1, 0, 0), 5)  # the 13th, or any Friday
    assert [run.strftime("%m-%d") for run in runs] == ["02-06", "02-13", "02-20", "02-27", "03-06"]
    runs = fires(schedule(cron="0 0 13 3 5"), chicago(2026, 2, 1, 0, 0), 3)  # month still restricts both
    assert [run.date().isoformat() for run in runs] == ["2026-03-06", "2026-03-13", "2026-03-20"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 25 * * *", "cron field 'hour' = '25': value out of range 0-23"),
        ("60 * * * *", "cron field 'minute' = '60': value out of range 0-59"),
        ("0 0 0 * *", "cron field 'day-of-month' = '0': value out of range 1-31"),
        ("0 0 * 13 *", "cron field 'month' = '13': value out of range 1-12"),
        ("0 0 * * 8", "cron field 'day-of-week' = '8': value out of range 0-7"),
        ("0 0 * * funday", "cron field 'day-of-week' = 'funday': 'funday' is not a number"),
        ("*/0 * * * *", "cron field 'minute' = '*/0': step '0' must be a whole number"),
        ("*/90 * * * *", "step 90 is larger than the field's range 0-59"),
        ("30-10 * * * *", "range 30-10 runs backwards"),
        ("1,,2 * * * *", "cron field 'minute' = '1,,2': empty value"),
        ("² * * * *", "cron field 'minute' = '²'"),
        ("0 0 * *", "expected 5 fields"),
        ("0 0 0 * * *", "expected 5 fields"),
        ("@reboot", "unknown macro"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_cron_expressions_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        cron_trigger(expression, "America/Chicago")
    assert message in str(caught.value)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd", "America"])
def test_bad_timezone_is_named(zone: str) -> None:
    with pytest.raises(ScheduleError, match="timezone .*unknown time zone; use an IANA name"):
        schedule(timezone=zone)


def test_build_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.build(name="Nightly Run", cron="0 25 * * *", timezone="Nowhere/City", queue="fax", colour="red")
    message = str(caught.value)
    parts = ("schedule name 'Nightly Run'", "cron field 'hour'", "timezone 'Nowhere/City'", "queue 'fax'", "colour")
    for part in parts:
        assert part in message


def test_schedule_timezone_defaults_to_settings() -> None:
    assert Schedule.build(name="x", cron="0 2 * * *", queue="webhooks").timezone == "America/Chicago"


# --- DST around 2026-03-08 (spring forward) and 2026-11-01 (fall back), America/Chicago ---------------------

DEFAULTS = {sched.name: sched for sched in default_schedules()}


@pytest.mark.parametrize(
    ("name", "start", "expected_utc"),
    [
        # daily 02:00: 02:00 does not exist on 2026-03-08, so it fires once at 03:00 CDT = 08:00 UTC
        ("production-data-validation", chicago(2026, 3, 7, 12, 0),
         [utc(2026, 3, 8, 8, 0), utc(2026, 3, 9, 7, 0)]),
        # ... and on fall-back day 02:00 CST happens once (after the repeated 01:00 hour): 08:00 UTC
        ("production-data-validation", chicago(2026, 10, 31, 12, 0),
         [utc(2026, 11, 1, 8, 0), utc(2026, 11, 2, 8, 0)]),
        ("permit-expiration-check", chicago(2026, 3, 7, 0, 0),
         [utc(2026, 3, 7, 15, 0), utc(2026, 3, 8, 14, 0)]),
        ("permit-expiration-check", chicago(2026, 10, 31, 0, 0),
         [utc(2026, 10, 31, 14, 0), utc(2026, 11, 1, 15, 0)]),
        # Sunday 06:00: both switch days are Sundays
        ("compliance-report", chicago(2026, 3, 1, 0, 0),
         [utc(2026, 3, 1, 12, 0), utc(2026, 3, 8, 11, 0)]),
        ("compliance-report", chicago(2026, 10, 25, 0, 0),
         [utc(2026, 10, 25, 11, 0), utc(2026, 11, 1, 12, 0)]),
        # monthly, the 1st at 08:00
        ("production-summary-report", chicago(2026, 2, 15, 0, 0),
         [utc(2026, 3, 1, 14, 0), utc(2026, 4, 1, 13, 0)]),
        ("production-summary-report", chicago(2026, 9, 15, 0, 0),
         [utc(2026, 10, 1, 13, 0), utc(2026, 11, 1, 14, 0)]),
    ],
)
def test_default_schedules_across_dst(name: str, start: datetime, expected_utc: list[datetime]) -> None:
    runs = fires(DEFAULTS[name], start, len(expected_utc))
    assert [run.astimezone(UTC) for run in runs] == expected_utc
    assert all(run.tzinfo == CHICAGO for run in runs)


def test_spring_forward_fire_is_reported_as_the_real_local_time() -> None:
    (run,) = fires(DEFAULTS["production-data-validation"], chicago(2026, 3, 7, 12, 0), 1)
    assert run.strftime("%Y-%m-%d %H:%M %Z") == "2026-03-08 03:00 CDT"
    job_id = fire_job_id(DEFAULTS["production-data-validation"], run)
    assert job_id == "cron:production-data-validation:2026-03-08T03:00"


def test_fall_back_double_fire_of_a_0130_job_maps_to_one_job_id() -> None:
    nightly = schedule(cron="30 1 * * *")
    first, second, next_day = fires(nightly, chicago(2026, 10, 31, 12, 0), 3)
    # APScheduler really does fire twice, an hour apart ...
    assert (first.astimezone(UTC), second.astimezone(UTC)) == (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 7, 30))
    # ... but both fires share the local wall-clock id, so the idempotent enqueue refuses the second.
    assert fire_job_id(nightly, first) == fire_job_id(nightly, second) == "cron:nightly:2026-11-01T01:30"
    assert fire_job_id(nightly, next_day) == "cron:nightly:2026-11-02T01:30"


def test_hourly_schedules_run_in_both_copies_of_the_repeated_hour() -> None:
    hourly = schedule(name="hourly", cron="30 * * * *")
    runs = fires(hourly, chicago(2026, 11, 1, 0, 45), 3)
    assert [fire_job_id(hourly, run) for run in runs] == [
        "cron:hourly:2026-11-01T01:30",
        "cron:hourly:2026-11-01T01:30-06:00",
        "cron:hourly:2026-11-01T02:30",
    ]


def test_fire_job_id_includes_seconds_only_for_second_level_schedules() -> None:
    assert fire_job_id(schedule(second="*/5"), utc(2026, 6, 1, 7, 0, 5)) == "cron:nightly:2026-06-01T02:00:05"


def test_fire_and_manual_ids_are_valid_job_ids() -> None:
    try:
        from wellqueue_tui.jobs.options import JOB_ID_PATTERN
    except ImportError as exc:
        pytest.skip(f"job options not importable yet: {exc}")
    longest = schedule(name="n" * 64, cron="30 * * * *", second="*/5")
    folded = next_fire_times(longest, chicago(2026, 11, 1, 1, 59), 1)[0]  # 01:00:00 CST, the repeated hour
    assert fire_job_id(longest, folded) == f"cron:{'n' * 64}:2026-11-01T01:30:00-06:00"
    for job_id in (fire_job_id(longest, folded), f"manual:{'n' * 64}:1780315200123"):
        assert JOB_ID_PATTERN.match(job_id), job_id


# --- payload templates -----------------------------------------------------------------------------------


def test_render_payload_fills_every_placeholder_recursively() -> None:
    template = {
        "when": "{{fire_time}}",
        "dates": ["{{today}}", "{{yesterday}}", "{{days_ago:7}}", "{{ days_ago:0 }}"],
        "month": {"start": "{{month_start}}", "prev": ["{{prev_month_start}}", "{{prev_month_end}}"]},
        "subject": "Report for {{yesterday}} (sent {{today}})",
        "count": 3,
        "flag": True,
        "none": None,
    }
    rendered = render_payload(template, "America/Chicago", utc(2026, 3, 1, 14, 0))  # 08:00 CST
    assert rendered == {
        "when": "2026-03-01T08:00:00-06:00",
        "dates": ["2026-03-01", "2026-02-28", "2026-02-22", "2026-03-01"],
        "month": {"start": "2026-03-01", "prev": ["2026-02-01", "2026-02-28"]},
        "subject": "Report for 2026-02-28 (sent 2026-03-01)",
        "count": 3,
        "flag": True,
        "none": None,
    }


def test_render_payload_uses_the_schedule_time_zone_for_dates() -> None:
    at = utc(2026, 3, 1, 3, 0)  # still 2026-02-28 21:00 in Chicago
    assert render_payload({"d": "{{today}}"}, "America/Chicago", at) == {"d": "2026-02-28"}
    assert render_payload({"d": "{{today}}"}, "UTC", at) == {"d": "2026-03-01"}


def test_default_payloads_render_at_their_fire_times() -> None:
    summary = DEFAULTS["production-summary-report"]
    assert render_payload(summary.payload, summary.timezone, utc(2026, 1, 1, 14, 0))["dateRange"] == {
        "start": "2025-12-01",
        "end": "2025-12-31",
    }
    weekly = DEFAULTS["compliance-report"]
    assert render_payload(weekly.payload, weekly.timezone, utc(2026, 11, 1, 12, 0))["dateRange"] == {
        "start": "2026-10-25",
        "end": "2026-10-31",
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{tomorrow}}", "payload placeholder {{tomorrow}}: unknown"),
        ("{{days_ago:x}}", "days_ago needs a whole number"),
        ("{{days_ago}}", "days_ago needs a whole number"),
        ("{{today:3}}", "payload placeholder {{today:3}}: unknown"),
    ],
)
def test_bad_placeholders_are_refused_when_the_schedule_is_built(template: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule(payload={"nested": [{"value": template}]})
    assert message in str(caught.value)


def test_default_payloads_match_their_queue_models() -> None:
    try:
        from wellqueue_tui.jobs.kinds import all_kinds

        all_kinds()
    except ImportError as exc:
        pytest.skip(f"job kinds not importable yet: {exc}")
    for sched in default_schedules():
        assert check_payload(sched, utc(2026, 3, 1, 14, 0)) is True


# --- the store -------------------------------------------------------------------------------------------


@pytest.fixture
def store(fake_redis) -> ScheduleStore:
    return ScheduleStore(fake_redis)


def test_crud_round_trip(store: ScheduleStore, fake_redis) -> None:
    nightly = schedule(payload={"url": "https://example.com/hook", "day": "{{yesterday}}"}, description="nightly ping")
    store.add(nightly)
    assert store.get("nightly") == nightly
    stored = json.loads(fake_redis.hget(SCHEDULES_KEY, "nightly"))  # JSON, never pickle
    assert stored["cron"] == "0 2 * * *" and stored["payload"]["day"] == "{{yesterday}}" and "second" not in stored

    store.add(schedule(name="another", cron="0 6 * * 1-5"))
    assert [sched.name for sched in store.list()] == ["another", "nightly"]

    with pytest.raises(ScheduleError, match="already exists"):
        store.add(schedule())

    updated = store.update("nightly", cron="15 3 * * *", timezone="UTC")
    assert (updated.cron, updated.timezone, updated.payload) == ("15 3 * * *", "UTC", nightly.payload)
    assert store.get("nightly") == updated

    assert store.set_enabled("nightly", False).enabled is False
    assert store.get("nightly").enabled is False

    store.remove("nightly")
    assert store.get("nightly") is None
    assert [sched.name for sched in store.list()] == ["another"]


def test_update_validates_the_whole_schedule_and_keeps_the_old_one_on_error(store: ScheduleStore) -> None:
    store.add(schedule())
    with pytest.raises(ScheduleError, match="cron field 'hour' = '24'"):
        store.update("nightly", cron="0 24 * * *")
    with pytest.raises(ScheduleError, match="cannot change name"):
        store.update("nightly", name="renamed")
    assert store.get("nightly") == schedule()


def test_missing_schedules_are_named(store: ScheduleStore) -> None:
    for call in (
        lambda: store.update("ghost", enabled=False),
        lambda: store.remove("ghost"),
        lambda: store.require("ghost"),
    ):
        with pytest.raises(ScheduleNotFound, match="no schedule named 'ghost'"):
            call()


def test_an_unreadable_entry_is_skipped_by_list(store: ScheduleStore, fake_redis) -> None:
    store.add(schedule())
    fake_redis.hset(SCHEDULES_KEY, "broken", '{"name": "broken"}')
    assert [sched.name for sched in store.list()] == ["nightly"]
    with pytest.raises(ScheduleError, match="'broken' is stored in an unreadable form"):
        store.get("broken")


def test_every_change_is_published(store: ScheduleStore, fake_redis) -> None:
    pubsub = fake_redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANGED_CHANNEL)
    pubsub.get_message(timeout=0.1)
    store.add(schedule())
    store.update("nightly", cron="0 3 * * *")
    store.set_enabled("nightly", False)
    store.remove("nightly")
    notices = []
    while (message := pubsub.get_message(timeout=0.1)) is not None:
        notices.append(message["data"])
    assert notices == [b"nightly"] * 4


def test_fire_state_is_kept_apart_and_removed_with_the_schedule(store: ScheduleStore, fake_redis) -> None:
    store.add(schedule())
    assert store.state("nightly").last_fire_utc is None
    store.record_fire("nightly", chicago(2026, 3, 8, 3, 0), "cron:nightly:2026-03-08T03:00")
    state = store.state("nightly")
    assert state.last_fire_utc == utc(2026, 3, 8, 8, 0)
    assert (state.last_job_id, state.last_error) == ("cron:nightly:2026-03-08T03:00", None)
    store.update("nightly", cron="0 4 * * *")
    assert store.state("nightly") == state
    store.record_fire("nightly", utc(2026, 3, 9, 9, 0), "cron:nightly:2026-03-09T04:00", error="EnqueueError: boom")
    assert store.states()["nightly"].last_error == "EnqueueError: boom"
    store.remove("nightly")
    assert fake_redis.hget(STATE_KEY, "nightly") is None


def test_overview_shows_next_run_in_both_zones(store: ScheduleStore) -> None:
    store.add(schedule())
    store.add(schedule(name="paused", enabled=False))
    store.record_fire("nightly", utc(2026, 3, 7, 8, 0), "cron:nightly:2026-03-07T02:00")
    rows = {row.name: row for row in store.overview(chicago(2026, 3, 7, 12, 0))}
    assert rows["nightly"].next_run == chicago(2026, 3, 8, 3, 0)
    assert rows["nightly"].next_run.utcoffset().total_seconds() == -5 * 3600
    assert rows["nightly"].next_run_utc == utc(2026, 3, 8, 8, 0)
    assert rows["nightly"].last_job_id == "cron:nightly:2026-03-07T02:00"
    assert (rows["paused"].next_run, rows["paused"].enabled) == (None, False)


def test_defaults_are_installed_once_and_not_brought_back(store: ScheduleStore, fake_redis) -> None:
    assert store.install_defaults() == [sched.name for sched in default_schedules()]
    assert {sched.name for sched in store.list()} == set(DEFAULTS)
    assert all(sched.timezone == "America/Chicago" for sched in store.list())
    store.remove("compliance-report")
    assert store.install_defaults() == []
    assert "compliance-report" not in {sched.name for sched in store.list()}
    fake_redis.delete(SCHEDULES_KEY)
    assert store.install_defaults() == []  # the marker remembers, even with an empty store


def test_defaults_are_not_installed_over_existing_schedules(store: ScheduleStore, fake_redis) -> None:
    store.add(schedule())
    assert store.install_defaults() == []
    assert [sched.name for sched in store.list()] == ["nightly"]
    assert fake_redis.exists(INSTALLED_KEY)


# --- the `schedules` command -----------------------------------------------------------------------------


class RecordingEnqueue:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, str]] = []

    def __call__(self, queue: str, payload: dict, *, job_id: str) -> str:
        self.calls.append((queue, payload, job_id))
        return job_id


def run_cli(argv: list[str], client, enqueue=None) -> int:
    parser = argparse.ArgumentParser(prog="wellqueue")
    add_schedule_parser(parser.add_subparsers(dest="command"))
    return run_schedules_command(parser.parse_args(argv), client, enqueue or RecordingEnqueue())


def test_cli_add_list_pause_resume_remove(fake_redis, capsys, tmp_path) -> None:
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps({"url": "https://example.com/hook", "event": "tick", "data": {}}))
    assert run_cli(["schedules", "add", "ping", "--cron", "*/15 * * * *", "--queue", "webhooks",
                    "--data", f"@{payload_file}", "--tz", "UTC", "--description", "ping"], fake_redis) == 0
    assert "added schedule ping; next run" in capsys.readouterr().out

    assert run_cli(["schedules"], fake_redis) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["NAME", "CRON", "TZ", "QUEUE"]
    assert table[1].startswith("ping") and "*/15 * * * *" in table[1] and "UTC" in table[1] and "yes" in table[1]

    assert run_cli(["schedules", "pause", "ping"], fake_redis) == 0
    assert run_cli(["schedules", "list", "--json"], fake_redis) == 0
    output = capsys.readouterr().out
    (row,) = json.loads(output[output.index("["):])
    assert (row["name"], row["enabled"], row["next_run"]) == ("ping", False, None)

    assert run_cli(["schedules", "resume", "ping"], fake_redis) == 0
    assert ScheduleStore(fake_redis).get("ping").enabled is True
    assert run_cli(["schedules", "remove", "ping"], fake_redis) == 0
    assert ScheduleStore(fake_redis).list() == []


def test_cli_update_changes_only_what_is_given(fake_redis, capsys) -> None:
    ScheduleStore(fake_redis).add(schedule(payload={"url": "https://example.com/a", "event": "x", "data": {}}))
    assert run_cli(["schedules", "update", "nightly", "--cron", "0 6 * * 1-5", "--tz", "UTC"], fake_redis) == 0
    updated = ScheduleStore(fake_redis).get("nightly")
    assert (updated.cron, updated.timezone, updated.queue) == ("0 6 * * 1-5", "UTC", "webhooks")
    assert updated.payload == {"url": "https://example.com/a", "event": "x", "data": {}}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "x", "--cron", "0 25 * * *", "--queue", "webhooks", "--data", "{}"], "cron field 'hour' = '25'"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "{nope"], "--data: not valid JSON"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "[1]"], "must be a JSON object"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "@/nonexistent.json"], "cannot read"),
        (["add", "x", "--cron", "0 2 * * *", "--queue", "webhooks", "--data", "{}", "--tz", "Moon/Base"], "timezone"),
        (["update", "x"], "nothing to change"),
        (["update", "ghost", "--cron", "0 3 * * *"], "no schedule named 'ghost'"),
        (["remove", "ghost"], "no schedule named 'ghost'"),
        (["pause", "ghost"], "no schedule named 'ghost'"),
        (["run-now", "ghost"], "no schedule named 'ghost'"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(fake_redis, capsys, argv: list[str], message: str) -> None:
    assert run_cli(["schedules", *argv], fake_redis) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_cli_add_refuses_a_payload_the_queue_model_rejects(fake_redis, capsys) -> None:
    try:
        from wellqueue_tui.jobs.kinds import all_kinds

        all_kinds()
    except ImportError as exc:
        pytest.skip(f"job kinds not importable yet: {exc}")
    assert run_cli(["schedules", "add", "x", "--cron", "0 2 * * *", "--queue", "report-generation",
                    "--data", '{"reportType": 5}'], fake_redis) == 2
    assert "payload for queue 'report-generation' is not valid" in capsys.readouterr().err
    assert ScheduleStore(fake_redis).get("x") is None


def test_cli_run_now_enqueues_with_a_manual_id(fake_redis, capsys) -> None:
    ScheduleStore(fake_redis).add(schedule(payload={"day": "{{today}}"}, enabled=False))
    enqueue = RecordingEnqueue()
    assert run_cli(["schedules", "run-now", "nightly"], fake_redis, enqueue) == 0
    ((queue, payload, job_id),) = enqueue.calls
    assert queue == "webhooks" and job_id.startswith("manual:nightly:") and job_id.split(":")[2].isdigit()
    assert payload["day"] == datetime.now(CHICAGO).date().isoformat()
    assert f"enqueued {job_id}" in capsys.readouterr().out
    assert ScheduleStore(fake_redis).state("nightly").last_job_id == job_id
