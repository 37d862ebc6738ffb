"""The worker entry point: exit codes, JSON logs, signals (drain, second signal, SIGINT) and parent death."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from wellqueue_tui import jobs
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.redis_server import free_port
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers.entry import hold_stop_signals

ROOT = Path(__file__).resolve().parents[2]
TEST_QUEUE = "wq-test"
TEST_BROKER = "tests.workers.test_entry:build_test_broker"
#: How long a worker may take to boot, run or stop before a test gives up, however slow the machine.
PATIENCE_S = 60


# -- a plain Dramatiq broker with one test actor, loaded by worker processes through `--broker` -------------


def build_test_broker(url: str) -> RedisBroker:
    """A bare RedisBroker with `nap(seconds, marker)`, which records its start and end in the list `marker`."""
    broker = RedisBroker(url=url, namespace="wqtest", maintenance_chance=0)

    @dramatiq.actor(broker=broker, queue_name=TEST_QUEUE, max_retries=0)
    def nap(seconds: float, marker: str) -> None:
        broker.client.rpush(marker, f"start:{os.getpid()}")
        time.sleep(seconds)
        broker.client.rpush(marker, f"done:{os.getpid()}")

    return broker


def send_nap(redis_url: str, seconds: float, marker: str) -> None:
    broker = build_test_broker(redis_url)
    broker.get_actor("nap").send(seconds, marker)
    broker.close()


# -- a real job: a `webhooks` delivery to a local endpoint that answers slowly ---------------------------------


class SlowReceiver:
    """A local webhook endpoint that answers 200 after `delay_s`, or as soon as `release` is set; `hit` is set
    when a delivery arrives."""

    def __init__(self, delay_s: float) -> None:
        self.hit = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hit.set()
                receiver.release.wait(delay_s)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


#: Settings under which a real webhook job may target the local receiver.
WEBHOOK_SETTINGS = {"webhook_secret": "test-secret-0123456789-0123456789", "webhook_allowed_networks": ["127.0.0.1/32"]}


def enqueue_webhook(redis_url: str, settings: Settings, url: str) -> str:
    """Submit a real `webhooks` job through `jobs.enqueue`; returns its id."""
    broker = build_broker(redis_url, settings=settings)
    try:
        return jobs.enqueue(
            "webhooks", {"url": url, "event": "well.validated", "data": {"well": "42-329-00001"}}, broker=broker
        )
    finally:
        broker.close()


def job_state(client, job_id: str) -> str | None:
    state = client.hget(f"wq:job:{job_id}", "state")
    return state.decode() if state else None


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it holds (returning its value); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def entry_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "wellqueue_tui.workers.entry", *args]


def child_env(redis_url: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def start_worker(redis_url: str, *extra: str, worker_id: str = "test:1:g:0") -> subprocess.Popen[str]:
    argv = entry_argv(
        "--queues", TEST_QUEUE, "--threads", "1", "--worker-id", worker_id, "--broker", TEST_BROKER, *extra
    )
    return subprocess.Popen(argv, env=child_env(redis_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def log_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def markers(client: redis.Redis, key: str) -> list[str]:
    return [item.decode().split(":")[0] for item in client.lrange(key, 0, -1)]


# -- exit codes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--queues", TEST_QUEUE, "--worker-id", "w"),  # --threads missing
        ("--queues", TEST_QUEUE, "--threads", "0", "--worker-id", "w"),
        ("--queues", " , ", "--threads", "1", "--worker-id", "w"),
        ("--queues", TEST_QUEUE, "--threads", "1", "--worker-id", "w", "--grace-ms", "soon"),
    ],
)
def test_bad_arguments_exit_2(args):
    result = subprocess.run(entry_argv(*args), env=child_env(None), capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 2
    assert "usage:" in result.stdout


def test_unreachable_redis_exits_3_with_a_json_log_line():
    url = f"redis://127.0.0.1:{free_port()}/0"
    argv = entry_argv("--queues", TEST_QUEUE, "--threads", "1", "--worker-id", "host:1:g:0", "--broker", TEST_BROKER)
    result = subprocess.run(argv, env=child_env(url), capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 3
    [entry] = [e for e in log_lines(result.stdout) if e["level"] == "ERROR"]
    assert "unreachable" in entry["msg"]
    assert entry["worker_id"] == "host:1:g:0"
    assert isinstance(entry["pid"], int)
    assert set(entry) >= {"ts", "level", "logger", "msg"}


def test_missing_redis_url_exits_2():
    argv = entry_argv("--queues", TEST_QUEUE, "--threads", "1", "--worker-id", "w", "--broker", TEST_BROKER)
    result = subprocess.run(argv, env=child_env(None), capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 2
    assert "REDIS_URL" in result.stdout


def test_unimportable_broker_exits_2(redis_url):
    argv = entry_argv("--queues", TEST_QUEUE, "--threads", "1", "--worker-id", "w", "--broker", "no_such_module:build")
    result = subprocess.run(argv, env=child_env(redis_url), capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 2
    assert "no_such_module" in result.stdout


def test_unknown_queue_exits_2(redis_url):
    argv = entry_argv("--queues", "no-such-queue", "--threads", "1", "--worker-id", "w", "--broker", TEST_BROKER)
    result = subprocess.run(argv, env=child_env(redis_url), capture_output=True, text=True, timeout=PATIENCE_S)
    assert result.returncode == 2
    assert "no-such-queue" in result.stdout and TEST_QUEUE in result.stdout


# -- signals -------------------------------------------------------------------------------------------------


def test_sigterm_lets_the_running_job_finish_then_exits_0(redis_url, redis_client):
    worker = start_worker(redis_url, "--grace-ms", "10000")
    try:
        send_nap(redis_url, 1.0, "marks")
        wait_for(lambda: markers(redis_client, "marks"), PATIENCE_S, "the job to start")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=PATIENCE_S)
    finally:
        worker.kill()
    assert worker.returncode == 0, output
    assert markers(redis_client, "marks") == ["start", "done"]
    messages = [e["msg"] for e in log_lines(output)]
    assert "Worker ready" in messages and "Worker stopped" in messages


def test_sigterm_drains_a_real_job_of_the_wellqueue_broker(redis_url, redis_client):
    """The default broker (jobs.broker.build_broker): the job finishes and the registry records it completed."""
    receiver = SlowReceiver(1.0)
    env = {
        **child_env(redis_url),
        "WELLQUEUE_WEBHOOK_SECRET": WEBHOOK_SETTINGS["webhook_secret"],
        "WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
    }
    argv = entry_argv(
        "--queues", "webhooks", "--threads", "2", "--worker-id", "host:1:webhooks:0", "--grace-ms", "10000"
    )
    worker = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        job_id = enqueue_webhook(redis_url, Settings(**WEBHOOK_SETTINGS), receiver.url)
        wait_for(receiver.hit.is_set, PATIENCE_S, "the delivery to start")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=PATIENCE_S)
    finally:
        worker.kill()
        receiver.close()
    assert worker.returncode == 0, output
    assert job_state(redis_client, job_id) == "completed"


def test_second_signal_exits_1_at_once(redis_url, redis_client):
    """The job takes 10 minutes and the grace is longer: an exit before then did not wait for either."""
    worker = start_worker(redis_url, "--grace-ms", "1200000")
    try:
        send_nap(redis_url, 600.0, "long")
        wait_for(lambda: markers(redis_client, "long"), PATIENCE_S, "the job to start")
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        worker.send_signal(signal.SIGHUP)
        worker.wait(timeout=PATIENCE_S)
    finally:
        worker.kill()
        worker.communicate()
    assert worker.returncode == 1
    assert markers(redis_client, "long") == ["start"]


def test_grace_time_running_out_exits_1(redis_url, redis_client):
    worker = start_worker(redis_url, "--grace-ms", "300")
    try:
        send_nap(redis_url, 600.0, "overdue")
        wait_for(lambda: markers(redis_client, "overdue"), PATIENCE_S, "the job to start")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=PATIENCE_S)
    finally:
        worker.kill()
    assert worker.returncode == 1
    assert any("will be redelivered" in e["msg"] for e in log_lines(output))


def test_sigint_is_ignored(redis_url):
    worker = start_worker(redis_url)
    try:
        wait_for(
            lambda: worker.stdout.readline().find("Worker ready") >= 0, PATIENCE_S, "the worker to boot", interval=0
        )
        worker.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=PATIENCE_S)
    finally:
        worker.kill()
    assert worker.returncode == 0


def test_a_stop_signal_held_while_it_boots_is_taken_once_it_can_drain(redis_url):
    """The supervisor spawns workers with TERM held (blocked): a TERM sent at once waits for the handler,
    and the worker exits 0 without starting to consume, instead of dying of the signal."""
    argv = entry_argv("--queues", TEST_QUEUE, "--threads", "1", "--worker-id", "w", "--broker", TEST_BROKER)
    with hold_stop_signals():
        worker = subprocess.Popen(
            argv, env=child_env(redis_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    try:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=PATIENCE_S)
    finally:
        worker.kill()
    assert worker.returncode == 0, output
    messages = [e["msg"] for e in log_lines(output)]
    assert "Worker stopped before it started" in messages and "Worker ready" not in messages


def test_holding_stop_signals_restores_the_mask_after_overlapping_holds():
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    first, second = hold_stop_signals(), hold_stop_signals()
    first.__enter__()
    second.__enter__()
    assert signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    first.__exit__(None, None, None)  # spawns awaited side by side end in any order
    assert signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []), "the second spawn still holds it"
    second.__exit__(None, None, None)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before


def test_worker_exits_when_its_parent_dies(redis_url, redis_client):
    """The parent is SIGKILLed, so nobody sends TERM: PDEATHSIG (or the getppid poll) must stop the worker."""
    spawn_child = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    argv = entry_argv("--queues", TEST_QUEUE, "--threads", "1", "--worker-id", "orphan", "--broker", TEST_BROKER)
    parent = subprocess.Popen(
        [sys.executable, "-c", spawn_child, *argv], env=child_env(redis_url), stdout=subprocess.PIPE, text=True
    )
    child_pid = int(parent.stdout.readline())
    try:
        wait_for(lambda: redis_client.zcard("wqtest:__heartbeats__"), PATIENCE_S, "the worker to boot")
        assert _alive(child_pid)
        parent.kill()
        parent.wait()
        wait_for(lambda: not _alive(child_pid), PATIENCE_S, "the orphaned worker to exit")
    finally:
        if _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # an exited orphan may linger as a zombie until init reaps it
