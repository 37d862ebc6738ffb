"""`wellqueue --workers-only` (run_workers_only) in a real subprocess: refusals at start, drain on SIGTERM,
immediate stop on a second signal, JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.workers.test_entry import PATIENCE_S, WEBHOOK_SETTINGS, SlowReceiver, enqueue_webhook, job_state, wait_for
from wellqueue_tui.redis_server import free_port, start_redis
from wellqueue_tui.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RUN_HEADLESS = (
    "import sys\n"
    "from wellqueue_tui.settings import load_settings\n"
    "from wellqueue_tui.workers.headless import run_workers_only\n"
    "sys.exit(run_workers_only(load_settings(), log_format='json', with_scheduler=sys.argv[1] == 'scheduler'))\n"
)


def headless(redis_url: str, tmp_path: Path, *, scheduler: bool = False, grace_s: float = 10) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "WELLQUEUE_DATA_DIR": str(tmp_path),
        "WELLQUEUE_GRACE_SECONDS": str(grace_s),
        "WELLQUEUE_WEBHOOK_SECRET": WEBHOOK_SETTINGS["webhook_secret"],
        "WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
    }
    argv = [sys.executable, "-c", RUN_HEADLESS, "scheduler" if scheduler else "no-scheduler"]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_unreachable_redis_exits_3(tmp_path):
    process = headless(f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    _out, err = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 3
    [entry] = [e for e in json_lines(err) if e["level"] == "ERROR"]
    assert "unreachable" in entry["msg"] and entry["logger"] == "wellqueue_tui.workers.headless"


def test_an_evicting_redis_is_refused_with_exit_3(tmp_path):
    server = start_redis(tmp_path / "redis", port=0, extra_config={"maxmemory-policy": "allkeys-lru"})
    try:
        process = headless(server.url, tmp_path)
        _out, err = process.communicate(timeout=PATIENCE_S)
    finally:
        server.stop()
    assert process.returncode == 3
    assert any("noeviction" in e["msg"] for e in json_lines(err) if e["level"] == "ERROR")


def test_a_stop_asked_for_while_redis_is_checked_starts_nothing_and_exits_0(redis_url, tmp_path):
    """SIGTERM before the event loop runs (here: while the Redis URL is resolved) is not fatal: exit 0."""
    code = (
        "import os, signal, sys\n"
        "from wellqueue_tui.settings import load_settings\n"
        "from wellqueue_tui.workers import headless\n"
        "resolve = headless.resolve_redis_url\n"
        "def resolve_then_stop(settings):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return resolve(settings)\n"
        "headless.resolve_redis_url = resolve_then_stop\n"
        "sys.exit(headless.run_workers_only(load_settings(), log_format='json', with_scheduler=False))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "WELLQUEUE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 0, result.stderr[-3000:]
    messages = [line["msg"] for line in json_lines(result.stderr)]
    assert any("SIGTERM received" in m for m in messages)
    assert not any(m.startswith("Started worker process") for m in messages)


def test_sigterm_drains_the_running_job_and_exits_0(redis_url, redis_client, tmp_path):
    receiver = SlowReceiver(1.0)
    process = headless(redis_url, tmp_path, scheduler=True)
    try:
        job_id = enqueue_webhook(redis_url, Settings(**WEBHOOK_SETTINGS), receiver.url)
        wait_for(receiver.hit.is_set, PATIENCE_S, "the delivery to start")
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=PATIENCE_S)
    finally:
        process.kill()
        receiver.close()
    assert process.returncode == 0, err[-3000:]
    assert job_state(redis_client, job_id) == "completed"
    lines = json_lines(err)  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    assert any(line.get("process_id", "").endswith(":webhooks:0") for line in lines)  # relayed worker logs
    assert any("draining" in line["msg"] for line in lines)


def test_a_second_signal_stops_at_once_with_exit_1(redis_url, tmp_path):
    """The delivery takes 10 minutes and the grace is an hour: an exit before then waited for neither."""
    receiver = SlowReceiver(600.0)
    process = headless(redis_url, tmp_path, grace_s=3600)
    try:
        enqueue_webhook(redis_url, Settings(**WEBHOOK_SETTINGS), receiver.url)
        wait_for(receiver.hit.is_set, PATIENCE_S, "the delivery to start")
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=PATIENCE_S)
    finally:
        process.kill()
        receiver.close()
    assert process.returncode == 1


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_format_is_applied(tmp_path, log_format):
    """The refusal path is the quickest way to see a log line; the format must match the option."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    code = (
        "import sys\n"
        "from wellqueue_tui.settings import Settings\n"
        "from wellqueue_tui.workers.headless import run_workers_only\n"
        f"sys.exit(run_workers_only(Settings(redis_url={url!r}), log_format={log_format!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 3
    line = result.stderr.strip().splitlines()[-1]
    if log_format == "json":
        assert json.loads(line)["level"] == "ERROR"
    else:
        assert " ERROR " in line and "wellqueue_tui.workers.headless" in line


def test_the_wellqueue_command_processes_demo_jobs_and_exits_0_on_sigterm(redis_url, redis_client, tmp_path):
    """The console script as a server runs it: `wellqueue demo`, then `wellqueue --workers-only`."""
    wellqueue = Path(sys.executable).with_name("wellqueue")
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WELLQUEUE_DATA_DIR": str(tmp_path),
        "WELLQUEUE_JWT_SECRET": "d" * 40,
        "WELLQUEUE_GRACE_SECONDS": "10",
    }
    from wellqueue_tui.auth.identity import Role
    from wellqueue_tui.auth.secrets import load_signing_key
    from wellqueue_tui.auth.tokens import issue_token

    env["WELLQUEUE_TOKEN"] = issue_token(
        load_signing_key(Settings(data_dir=tmp_path, jwt_secret="d" * 40)), sub="ci", role=Role.ADMIN
    )
    demo = subprocess.run(
        [str(wellqueue), "demo", "--count", "40"], env=env, capture_output=True, text=True, timeout=PATIENCE_S
    )
    assert demo.returncode == 0 and "enqueued 40 demo jobs" in demo.stdout, demo.stderr

    def ready_jobs() -> int:
        return sum(
            redis_client.zcard(f"wq:q:{queue}:{state}")
            for queue in ("data-validation", "report-generation", "email-notifications", "webhooks")
            for state in ("waiting", "prioritized", "active")
        )

    assert ready_jobs() > 0
    process = subprocess.Popen(
        [str(wellqueue), "--workers-only", "--log-format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: ready_jobs() == 0, 5 * PATIENCE_S, "every ready demo job to be taken and finished")
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=PATIENCE_S)
    finally:
        process.kill()
    assert process.returncode == 0, err[-3000:]
    completed = sum(
        redis_client.zcard(f"wq:q:{queue}:completed")
        for queue in ("data-validation", "report-generation", "email-notifications")
    )
    assert completed > 0
    assert any((tmp_path / "outbox").glob("*.eml"))  # e-mail without SMTP lands in the outbox
