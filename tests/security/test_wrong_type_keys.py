"""Hostile or broken Redis content (issue 15): a fixed key of the wrong kind is reported by name, never as
"unreachable", keeps worker processes running, and a failed audit write never turns a done action into a failure."""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.workers.test_entry import (
    PATIENCE_S,
    WEBHOOK_SETTINGS,
    SlowReceiver,
    child_env,
    enqueue_webhook,
    entry_argv,
    job_state,
    log_lines,
    wait_for,
)
from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.jobs.key_types import WrongKeyType
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings

NAMED = "wq:queues holds a string, expected a set: fix or delete it"


def test_a_worker_started_with_a_wrong_type_queue_set_keeps_running_its_queues(redis_url, redis_client):
    """wq:queues of the wrong kind: the worker logs the key by name, runs the job waiting for it, stops cleanly."""
    receiver = SlowReceiver(0.0)
    try:
        job_id = enqueue_webhook(redis_url, Settings(**WEBHOOK_SETTINGS), receiver.url)
        redis_client.delete("wq:queues")
        redis_client.set("wq:queues", "oops")
        env = {
            **child_env(redis_url),
            "WELLQUEUE_WEBHOOK_SECRET": WEBHOOK_SETTINGS["webhook_secret"],
            "WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
        }
        worker = subprocess.Popen(
            entry_argv("--queues", "webhooks", "--threads", "1", "--worker-id", "host:1:w:0"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for(lambda: job_state(redis_client, job_id) == "completed", PATIENCE_S, "the job to complete")
            assert worker.poll() is None  # still running: no crash loop for the supervisor to count
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=PATIENCE_S)
        finally:
            worker.kill()
    finally:
        receiver.close()
    assert worker.returncode == 0, output
    errors = [line["msg"] for line in log_lines(output) if line["level"] == "ERROR"]
    assert errors == [f"Cannot register the queue names: {NAMED}"], output
    assert "unreachable" not in output


def test_the_console_source_names_the_key(redis_client):
    """The console's banner shows what its source raises: the key by name, not a bare WRONGTYPE."""
    redis_client.set("wq:queues", "oops")
    session = OperatorSession(Registry(redis_client), Identity("ada", Role.ADMIN))
    with pytest.raises(WrongKeyType, match=NAMED):
        session.all_counts()
    with pytest.raises(WrongKeyType, match=NAMED):
        session.known_queues()


def test_a_pause_whose_audit_write_fails_is_done_and_its_entry_written_later(redis_client):
    redis_client.sadd("wq:queues", "webhooks")
    redis_client.set("wq:audit", "not a stream")
    session = OperatorSession(Registry(redis_client), Identity("ada", Role.ADMIN))
    result = session.pause_queue("webhooks")
    assert result.count == 1 and "paused" in result.message
    assert "wq:audit holds a string, expected a stream: fix or delete it" in result.warning
    assert redis_client.sismember("wq:paused", "webhooks")
    redis_client.delete("wq:audit")
    assert session.resume_queue("webhooks").warning is None
    entries = AuditLog(redis_client, KEYS.audit).recent()
    assert [(e.action, e.outcome) for e in entries] == [("resume", "ok"), ("pause", "ok")]
