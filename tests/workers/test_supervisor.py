"""The supervisor: restarts, backoff and crash loops, exit code 2, drain and kill, scale, control requests,
and the worker records every console reads from Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time

import pytest

from tests.workers.test_entry import (
    PATIENCE_S,
    TEST_BROKER,
    TEST_QUEUE,
    WEBHOOK_SETTINGS,
    SlowReceiver,
    enqueue_webhook,
    job_state,
    markers,
    send_nap,
)
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers import worker_records
from wellqueue_tui.workers.supervisor import (
    ProcessSpec,
    RestartPolicy,
    Supervisor,
    SupervisorError,
    WorkerGroupSpec,
    default_groups,
    entry_command,
    settings_env,
)
from wellqueue_tui.workers.worker_records import ControlError, WorkerState

FAST = RestartPolicy(
    initial_backoff_s=0.05, max_backoff_s=0.2, healthy_after_s=60, crash_loop_restarts=3, crash_loop_window_s=60
)
GROUPS = {"test": WorkerGroupSpec(queues=(TEST_QUEUE,), processes=1, threads=1)}


def worker_command_with_test_broker(spec: ProcessSpec) -> list[str]:
    return [*entry_command(spec), "--broker", TEST_BROKER]


def python_command(code: str):
    return lambda spec: [sys.executable, "-c", code]


def make_supervisor(redis_url: str, command=worker_command_with_test_broker, groups=GROUPS, **kwargs) -> Supervisor:
    settings = Settings(grace_seconds=10)
    return Supervisor(
        settings,
        redis_url,
        groups=dict(groups),
        command_factory=command,
        policy=FAST,
        heartbeat_interval_s=0.1,
        **kwargs,
    )


async def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def only(supervisor: Supervisor):
    [process] = supervisor.processes()
    return process


def worker_store(client) -> worker_records.WorkerRecords:
    return worker_records.WorkerRecords(client, KEYS)


def record(client, worker_id: str) -> worker_records.WorkerInfo | None:
    return next((w for w in worker_store(client).list_workers() if w.id == worker_id), None)


# -- defaults ------------------------------------------------------------------------------------------------


def test_default_groups_follow_the_concurrency_settings():
    groups = default_groups(Settings(worker_processes=2))
    assert groups["data-validation"] == WorkerGroupSpec(("data-validation",), 2, 3)
    assert groups["report-generation"].threads == 2
    assert groups["email-notifications"].threads == 5
    assert groups["webhooks"].threads == 5


def test_settings_reach_the_worker_processes_through_the_environment():
    env = settings_env(Settings(namespace="elsewhere", concurrency={"webhooks": 7}, webhook_secret="s3cret"))
    assert env["WELLQUEUE_NAMESPACE"] == "elsewhere"
    assert json.loads(env["WELLQUEUE_CONCURRENCY"])["webhooks"] == 7
    assert env["WELLQUEUE_WEBHOOK_SECRET"] == "s3cret"
    assert "WELLQUEUE_REDIS_URL" not in env


# -- restarts --------------------------------------------------------------------------------------------------


def test_a_killed_process_is_restarted_and_recorded(redis_url, redis_client):
    async def scenario():
        supervisor = make_supervisor(redis_url)
        await supervisor.start()
        try:
            first = only(supervisor)
            assert first.state == WorkerState.RUNNING and first.pid
            await until(lambda: record(redis_client, first.id), PATIENCE_S, "the worker record")
            os.kill(first.pid, signal.SIGKILL)
            await until(lambda: only(supervisor).pid not in (None, first.pid), PATIENCE_S, "a new process")
            second = only(supervisor)
            assert second.restarts == 1 and second.last_exit_code == -signal.SIGKILL
            # the RSS of a process just exec'd is tiny: wait until its interpreter is loaded
            stored = await until(
                lambda: (
                    (r := record(redis_client, first.id))
                    and r.pid == second.pid
                    and (r.rss_bytes or 0) > 1_000_000
                    and r
                ),
                PATIENCE_S,
                "the record of the new process",
            )
            assert stored.restarts == 1 and stored.state == "running" and stored.last_exit_code == -9
            assert stored.host == socket.gethostname() and stored.queues == (TEST_QUEUE,) and stored.threads == 1
            assert stored.supervisor == supervisor.id and stored.problem is None
            assert 0 <= stored.heartbeat_age_s < 10
        finally:
            assert await supervisor.stop(15)
        stopped = record(redis_client, first.id)
        # 0 even when the stop landed while the new process was still booting: it took the TERM once it could
        assert stopped.state == "stopped" and stopped.pid is None and stopped.last_exit_code == 0

    asyncio.run(scenario())


def test_crash_loop_stops_restarting_and_is_visible(redis_url, redis_client):
    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command("import sys; sys.exit(1)"))
        await supervisor.start()
        try:
            process = await until(
                lambda: (p := only(supervisor)).state == WorkerState.CRASH_LOOP and p,
                PATIENCE_S,
                "the crash loop to be detected",
            )
            assert process.restarts == FAST.crash_loop_restarts and process.last_exit_code == 1
            await asyncio.sleep(0.5)
            assert only(supervisor).restarts == FAST.crash_loop_restarts  # no further restarts
            stored = await until(
                lambda: (r := record(redis_client, process.id)) and r.state == "crash-loop" and r,
                PATIENCE_S,
                "the crash-loop record",
            )
            assert stored.restarts == FAST.crash_loop_restarts
            assert supervisor.startup_failure() is None  # code 1 is not a start-up failure

            supervisor.restart(process.id)  # an operator's restart gives it a fresh start (and it loops again)
            await until(lambda: only(supervisor).restarts > FAST.crash_loop_restarts, PATIENCE_S, "the manual restart")
        finally:
            await supervisor.stop(2)

    asyncio.run(scenario())


def test_backoff_doubles_between_restarts():
    async def scenario():
        policy = RestartPolicy(initial_backoff_s=0.2, max_backoff_s=0.4, crash_loop_restarts=10)
        supervisor = Supervisor(
            Settings(),
            "redis://unused",
            groups=dict(GROUPS),
            policy=policy,
            command_factory=python_command("import sys; sys.exit(1)"),
            client=_UnreachableRedis(),
            heartbeat_interval_s=10,
        )
        await supervisor.start()
        started = time.monotonic()
        try:
            await until(lambda: only(supervisor).restarts >= 3, PATIENCE_S, "three restarts")
        finally:
            await supervisor.stop(1)
        # at least 0.2 + 0.4 + 0.4 (capped); how much longer depends on the machine
        assert time.monotonic() - started >= 1.0

    asyncio.run(scenario())


def test_exit_code_2_is_never_restarted(redis_url, redis_client):
    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command("print('bad config'); import sys; sys.exit(2)"))
        await supervisor.start()
        try:
            process = await until(
                lambda: (p := only(supervisor)).state == WorkerState.FAILED and p, PATIENCE_S, "the failure"
            )
            await asyncio.sleep(0.5)
            assert only(supervisor).restarts == 0 and process.last_exit_code == 2
            assert supervisor.startup_failure() == 2
            stored = await until(
                lambda: (r := record(redis_client, process.id)) and r.state == "failed" and r,
                PATIENCE_S,
                "the failed record",
            )
            assert stored.last_exit_code == 2
        finally:
            await supervisor.stop(1)

    asyncio.run(scenario())


def test_unreachable_redis_on_every_first_start_is_a_startup_failure(redis_url):
    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command("import sys; sys.exit(3)"))
        await supervisor.start()
        try:
            assert await until(lambda: supervisor.startup_failure(), PATIENCE_S, "the start-up failure") == 3
        finally:
            await supervisor.stop(1)

    asyncio.run(scenario())


# -- stopping --------------------------------------------------------------------------------------------------


def test_stop_lets_the_running_job_finish(redis_url, redis_client):
    async def scenario():
        supervisor = make_supervisor(redis_url)
        await supervisor.start()
        try:
            send_nap(redis_url, 1.0, "drain")
            await until(lambda: markers(redis_client, "drain"), PATIENCE_S, "the job to start")
        finally:
            clean = await supervisor.stop(10)
        assert clean
        assert markers(redis_client, "drain") == ["start", "done"]
        assert only(supervisor).state == WorkerState.STOPPED and only(supervisor).last_exit_code == 0

    asyncio.run(scenario())


def stubborn_command(ready_file):
    """A process that ignores SIGTERM, and touches `ready_file` once it does."""
    return python_command(
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(ready_file)!r}).touch(); time.sleep(60)"
    )


def test_stop_drains_a_real_job_and_counts_it_in_flight(redis_url, redis_client):
    settings = Settings(grace_seconds=PATIENCE_S, **WEBHOOK_SETTINGS)
    receiver = SlowReceiver(PATIENCE_S)

    async def scenario():
        supervisor = Supervisor(
            settings, redis_url, groups={"webhooks": WorkerGroupSpec(("webhooks",), 1, 2)}, heartbeat_interval_s=0.1
        )
        await supervisor.start()
        try:
            job_id = await asyncio.to_thread(enqueue_webhook, redis_url, settings, receiver.url)
            await until(receiver.hit.is_set, PATIENCE_S, "the delivery to start")
            await until(lambda: supervisor.in_flight() == 1, PATIENCE_S, "the job to count as in flight")
        finally:
            receiver.release.set()  # the delivery answers now: the drain lets it finish
            clean = await supervisor.stop()
        assert clean
        assert only(supervisor).last_exit_code == 0
        return job_id

    try:
        job_id = asyncio.run(scenario())
    finally:
        receiver.close()
    assert job_state(redis_client, job_id) == "completed"


def test_stop_kills_what_outlives_the_grace_time(redis_url, tmp_path):
    async def scenario():
        supervisor = make_supervisor(redis_url, command=stubborn_command(tmp_path / "up"))
        await supervisor.start()
        await until(lambda: (tmp_path / "up").exists(), PATIENCE_S, "the process to ignore SIGTERM")
        pid = only(supervisor).pid
        clean = await supervisor.stop(0.5)
        assert not clean
        assert only(supervisor).last_exit_code == -signal.SIGKILL
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    asyncio.run(scenario())


def test_a_second_stop_kills_at_once(redis_url, tmp_path):
    async def scenario():
        supervisor = make_supervisor(redis_url, command=stubborn_command(tmp_path / "up"))
        await supervisor.start()
        await until(lambda: (tmp_path / "up").exists(), PATIENCE_S, "the process to ignore SIGTERM")
        first = asyncio.create_task(supervisor.stop(3600))
        await asyncio.sleep(0.3)
        # far sooner than the hour of grace: the second stop killed the process
        assert await asyncio.wait_for(supervisor.stop(3600), PATIENCE_S) is False
        assert await first is False

    asyncio.run(scenario())


def test_a_stop_while_the_processes_boot_lets_each_exit_0(redis_url, redis_client):
    """Workers spawned by the supervisor take a TERM sent while they boot once their handler is in place."""

    async def scenario():
        supervisor = make_supervisor(redis_url, groups={"test": WorkerGroupSpec((TEST_QUEUE,), 3, 1)})
        await supervisor.start()
        clean = await supervisor.stop(PATIENCE_S)
        return clean, [p.last_exit_code for p in supervisor.processes()]

    clean, exit_codes = asyncio.run(scenario())
    assert clean and exit_codes == [0, 0, 0]


# -- scale, restart, control requests ---------------------------------------------------------------------------


def test_scale_and_restart(redis_url, redis_client):
    sleeper = "import time; time.sleep(60)"

    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command(sleeper))
        await supervisor.start()
        try:
            assert supervisor.scale("test", +2) == 3
            await until(
                lambda: all(p.pid for p in supervisor.processes()) and len(supervisor.processes()) == 3,
                PATIENCE_S,
                "three processes",
            )
            ids = [p.id for p in supervisor.processes()]
            assert [p.slot for p in supervisor.processes()] == [0, 1, 2]
            await until(lambda: len(worker_store(redis_client).list_workers()) == 3, PATIENCE_S, "three records")

            assert supervisor.scale("test", -1) == 2
            await until(lambda: len(supervisor.processes()) == 2, PATIENCE_S, "the retired process to go")
            await until(
                lambda: {w.id for w in worker_store(redis_client).list_workers()} == set(ids[:2]),
                PATIENCE_S,
                "its record to go",
            )

            old_pid = supervisor.processes()[0].pid
            supervisor.restart(ids[0])
            await until(
                lambda: supervisor.processes()[0].pid not in (None, old_pid), PATIENCE_S, "the restarted process"
            )
            assert supervisor.processes()[0].restarts == 1

            with pytest.raises(SupervisorError, match="between 1 and"):
                supervisor.scale("test", -2)
            with pytest.raises(SupervisorError, match="no worker group"):
                supervisor.scale("nope", 1)
            with pytest.raises(SupervisorError, match="no worker process"):
                supervisor.restart("elsewhere:1:test:0")
        finally:
            await supervisor.stop(2)

    asyncio.run(scenario())


def test_control_requests_from_another_console(redis_url, redis_client):
    sleeper = "import time; time.sleep(60)"

    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command(sleeper), host="rig-7")
        await supervisor.start()
        try:
            await until(lambda: worker_store(redis_client).list_workers(), PATIENCE_S, "the records")
            target = await asyncio.to_thread(worker_store(redis_client).request_scale, "rig-7", "test", 1)
            assert target == supervisor.id
            await until(lambda: len(supervisor.processes()) == 2, PATIENCE_S, "the scale-up")

            first = supervisor.processes()[0]
            await asyncio.to_thread(worker_store(redis_client).request_restart, first.id)
            await until(
                lambda: supervisor.processes()[0].pid not in (None, first.pid), PATIENCE_S, "the remote restart"
            )

            # a request naming an unknown group is refused by the supervisor, which keeps running
            await asyncio.to_thread(worker_store(redis_client).request_scale, supervisor.id, "nope", 1)
            await asyncio.sleep(0.4)
            assert len(supervisor.processes()) == 2
        finally:
            await supervisor.stop(2)

    asyncio.run(scenario())
    stopped = worker_store(redis_client).list_workers()
    assert stopped and {w.state for w in stopped} == {"stopped"}  # still listed until they expire
    with pytest.raises(ControlError, match="no running supervisor"):
        worker_store(redis_client).request_scale("rig-7", "test", 1)
    with pytest.raises(ControlError, match="no worker process"):
        worker_store(redis_client).request_restart(stopped[0].id)
    with pytest.raises(ControlError, match="no running supervisor"):
        worker_store(redis_client).request_scale("no-such-host", "test", 1)
    with pytest.raises(ControlError, match="no worker process"):
        worker_store(redis_client).request_restart("no-such-host:1:test:0")


def test_in_flight_counts_registry_active_jobs_of_own_processes(redis_url, redis_client):
    sleeper = "import time; time.sleep(60)"

    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command(sleeper))
        await supervisor.start()
        try:
            pid = only(supervisor).pid
            host = socket.gethostname()
            redis_client.zadd(f"wq:q:{TEST_QUEUE}:active", {"j1": 1, "j2": 2, "j3": 3})
            redis_client.hset("wq:job:j1", "worker", f"{host}:{pid}:abcdef12")
            redis_client.hset("wq:job:j2", "worker", f"{host}:{pid}:abcdef12")
            redis_client.hset("wq:job:j3", "worker", f"{host}:999999:abcdef12")  # another process
            await until(lambda: supervisor.in_flight() == 2, PATIENCE_S, "the in-flight count")
            assert only(supervisor).active == 2
            stored = await until(
                lambda: (r := record(redis_client, only(supervisor).id)) and r.active == 2 and r,
                PATIENCE_S,
                "the active count in the record",
            )
            assert stored.active == 2
        finally:
            await supervisor.stop(2)

    asyncio.run(scenario())


def test_child_log_lines_are_relayed_with_the_process_id(redis_url, caplog):
    chatty = (
        "import json, sys\n"
        "print(json.dumps({'ts': 'x', 'level': 'ERROR', 'logger': 'jobs', 'msg': 'disk full', 'args': 1}))\n"
        "print('plain text line')\n"
        "sys.exit(2)\n"
    )

    async def scenario():
        supervisor = make_supervisor(redis_url, command=python_command(chatty))
        await supervisor.start()
        try:
            await until(lambda: only(supervisor).state == WorkerState.FAILED, PATIENCE_S, "the exit")
        finally:
            await supervisor.stop(1)
        return only(supervisor)

    with caplog.at_level("INFO"):
        process = asyncio.run(scenario())
    relayed = [r for r in caplog.records if r.name == "wellqueue_tui.workers.process"]
    error = next(r for r in relayed if r.getMessage() == "disk full")
    assert error.levelname == "ERROR" and error.process_id == process.id and error.source == "jobs"
    assert error.x_args == 1  # a field named like a LogRecord attribute is kept, renamed
    assert any(r.getMessage() == "plain text line" and r.levelname == "WARNING" for r in relayed)
    assert process.last_error == "disk full"


# -- records as other consoles read them ---------------------------------------------------------------------


def test_list_workers_reports_malformed_records_and_drops_stale_ones(redis_client):
    now_ms = worker_records.server_ms(redis_client)
    redis_client.zadd(KEYS.workers, {"h:1:g:0": now_ms, "h:1:g:1": now_ms - 120_000, "h:1:g:2": now_ms})
    redis_client.hset(
        "wq:worker:h:1:g:0",
        mapping={"host": "h", "queues": "not json", "threads": "two", "state": "dancing", "restarts": "1"},
    )
    redis_client.hset("wq:worker:h:1:g:1", mapping={"host": "h", "state": "running"})  # stale heartbeat
    # h:1:g:2 has no hash any more (expired): dropped as well
    [worker] = worker_store(redis_client).list_workers()
    assert worker.id == "h:1:g:0" and worker.restarts == 1 and worker.threads is None and worker.queues == ()
    assert "queues" in worker.problem and "threads" in worker.problem and "dancing" in worker.problem
    assert redis_client.zrange(KEYS.workers, 0, -1) == [b"h:1:g:0"]


def test_malformed_control_requests_are_reported_not_applied(redis_client):
    key = KEYS.worker_control("h:1")
    redis_client.rpush(
        key, "{not json", json.dumps({"action": "explode"}), json.dumps({"action": "scale", "group": "g", "delta": 1})
    )
    requests, rejected = worker_store(redis_client).take_requests("h:1")
    assert [r.action for r in requests] == ["scale"] and len(rejected) == 2
    assert redis_client.llen(key) == 0


def test_rss_is_read_from_proc():
    assert worker_records.read_rss_bytes(os.getpid()) > 1_000_000
    assert worker_records.read_rss_bytes(2**22 + 12345) is None


class _UnreachableRedis:
    """Stands in for a Redis that is down: every call fails like a refused connection."""

    def __getattr__(self, name):
        import redis

        def fail(*args, **kwargs):
            raise redis.ConnectionError("connection refused")

        return fail


def test_a_host_with_two_supervisors_must_be_named_precisely(redis_client):
    records = [
        worker_records.WorkerRecord(
            id=f"h:{pid}:g:0",
            supervisor=f"h:{pid}",
            host="h",
            group="g",
            queues=("q",),
            threads=1,
            state=WorkerState.RUNNING,
            pid=pid,
            started=1.0,
            restarts=0,
            last_exit_code=None,
            rss_bytes=None,
            active=0,
        )
        for pid in (1, 2)
    ]
    worker_store(redis_client).publish(records)
    with pytest.raises(ControlError, match=r"runs 2 supervisors \(h:1, h:2\)"):
        worker_store(redis_client).request_scale("h", "g", 1)
    assert worker_store(redis_client).request_scale("h:2", "g", -1) == "h:2"
    [request], rejected = worker_store(redis_client).take_requests("h:2")
    assert (request.action, request.group, request.delta, rejected) == ("scale", "g", -1, [])


def test_restart_kills_a_process_that_ignores_sigterm_after_the_grace_time(redis_url, tmp_path):
    async def scenario():
        supervisor = Supervisor(
            Settings(grace_seconds=0.5),
            redis_url,
            groups=dict(GROUPS),
            policy=FAST,
            command_factory=stubborn_command(tmp_path / "up"),
            heartbeat_interval_s=0.1,
        )
        await supervisor.start()
        try:
            await until(lambda: (tmp_path / "up").exists(), PATIENCE_S, "the process to ignore SIGTERM")
            old = only(supervisor)
            supervisor.restart(old.id)
            assert only(supervisor).state == WorkerState.STOPPING
            new = await until(
                lambda: (p := only(supervisor)).pid not in (None, old.pid) and p, PATIENCE_S, "the new process"
            )
            assert new.restarts == 1 and new.last_exit_code == -signal.SIGKILL and new.state == WorkerState.RUNNING
        finally:
            await supervisor.stop(0.5)

    asyncio.run(scenario())
