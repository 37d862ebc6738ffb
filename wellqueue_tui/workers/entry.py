"""One Dramatiq worker process, as the supervisor runs it per slot (mirrors dramatiq's `cli.worker_process`):
`python -m wellqueue_tui.workers.entry --queues q1,q2 --threads T --worker-id ID [--grace-ms MS]` (REDIS_URL)."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn, cast

import dramatiq
import redis
from dramatiq.errors import BrokerConnectionError

from ..logging_setup import configure_logging

EXIT_OK = 0  # stopped cleanly
EXIT_KILLED = 1  # second signal, unexpected error, or jobs abandoned when the grace time ran out
EXIT_USAGE = 2  # bad arguments, import or configuration error: the supervisor never restarts it
EXIT_UNREACHABLE = 3  # Redis did not answer at start

#: The worker id is also exported to the environment, for code in the process that wants to name itself.
WORKER_ID_ENV = "WELLQUEUE_WORKER_ID"
DEFAULT_BROKER = "wellqueue_tui.jobs.broker:build_broker"
DEFAULT_GRACE_MS = 30_000
PARENT_POLL_S = 0.2
_PR_SET_PDEATHSIG = 1
MODULE = "wellqueue_tui.workers.entry"
#: The signals that ask for a graceful stop.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGHUP})

logger = logging.getLogger("wellqueue_tui.workers.entry")


@dataclass(frozen=True)
class EntryOptions:
    queues: tuple[str, ...]
    threads: int
    worker_id: str
    grace_ms: int
    broker: str  # `module:callable` taking the Redis URL and returning a broker with its actors declared


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; say which option and how to call
        self.print_usage(sys.stdout)
        print(f"wellqueue worker: {message}", file=sys.stdout, flush=True)
        raise SystemExit(EXIT_USAGE)


def _queue_list(value: str) -> tuple[str, ...]:
    queues = tuple(q.strip() for q in value.split(",") if q.strip())
    if not queues:
        raise argparse.ArgumentTypeError("give at least one queue name, e.g. --queues webhooks")
    return queues


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of milliseconds, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {number}")
    return number


def parse_options(argv: Sequence[str] | None = None) -> EntryOptions:
    """Parse the command line; a usage error exits with code 2."""
    parser = _Parser(prog="python -m wellqueue_tui.workers.entry", description="Run one WellQueue worker process.")
    parser.add_argument("--queues", type=_queue_list, required=True, help="comma-separated queue names")
    parser.add_argument("--threads", type=_positive, required=True, help="worker threads (jobs run at once)")
    parser.add_argument("--worker-id", required=True, help="the supervisor's id for this process slot")
    parser.add_argument(
        "--grace-ms",
        type=_non_negative,
        default=DEFAULT_GRACE_MS,
        help="how long running jobs may take to finish after SIGTERM",
    )
    parser.add_argument("--broker", default=DEFAULT_BROKER, help="broker factory as module:callable (tests)")
    args = parser.parse_args(argv)
    return EntryOptions(args.queues, args.threads, args.worker_id, args.grace_ms, args.broker)


class StopSignals:
    """TERM/HUP: first one asks for a graceful stop, the second exits 1 at once. SIGINT is ignored:
    the supervisor owns Ctrl-C."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def install(self) -> None:
        """Handle the stop signals, then take delivery of any the spawner held back (see `hold_stop_signals`)."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            logger.info("Stopping worker process (%s)", reason)

    def _handle(self, signum: int, _frame) -> None:
        if self.reason is not None:
            logger.warning("Second stop signal: killing the worker process; unfinished jobs will be redelivered")
            _exit_now(EXIT_KILLED)
        self.request(signal.Signals(signum).name)


class _HeldSignals(threading.local):
    depth = 0
    previous: set = set()


_held = _HeldSignals()


def runs_entry(argv: Sequence[str]) -> bool:
    """Whether `argv` runs this entry point (`python -m wellqueue_tui.workers.entry …`), which takes held signals."""
    return list(argv[1:3]) == ["-m", MODULE]


@contextmanager
def hold_stop_signals() -> Iterator[None]:
    """Spawn worker processes inside this block: they start with TERM/HUP blocked (the mask survives fork and
    exec) and take a stop signal sent while they boot once their handler is in place, so a process stopped at
    any moment drains and exits 0 instead of dying of the signal.

    Blocks them in the calling thread only. Blocks may overlap (spawns awaited side by side on one event
    loop): the last one to end restores the mask the first one found."""
    if _held.depth == 0:
        _held.previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    _held.depth += 1
    try:
        yield
    finally:
        _held.depth -= 1
        if _held.depth == 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, _held.previous)


def die_with_parent() -> int:
    """Ask Linux to send SIGTERM when the parent exits; returns the parent pid to poll as a fallback.

    The kernel ties PDEATHSIG to the parent *thread* that spawned us: the supervisor spawns from its event
    loop thread, which lives as long as the supervisor does."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # polling getppid() below still notices
    return parent


def redis_reachable(url: str) -> str | None:
    """None when Redis answers PING at `url`, else the reason it does not."""
    from ..connection import redis_client

    try:
        client = redis_client(url)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def explain_refusal(url: str, exc: BaseException) -> str:
    """Redis's refusal for the log: a wrong-type key by name (WRONGTYPE itself names none), else the error."""
    from ..connection import redis_client
    from ..jobs.key_types import explain_redis_error
    from ..jobs.keys import KeySchema
    from ..settings import get_settings

    client = redis_client(url)
    try:
        return explain_redis_error(client, KeySchema.from_settings(get_settings()), exc)
    finally:
        client.close()


def load_broker(path: str, url: str) -> dramatiq.Broker:
    """Build the broker with `path` (`module:callable`) and make it the process-wide one."""
    module_name, _, attr = path.partition(":")
    factory: Callable[..., dramatiq.Broker] = getattr(importlib.import_module(module_name), attr or "build_broker")
    broker = factory(url)
    if path == DEFAULT_BROKER:
        from ..jobs.broker import WellQueueBroker, use_broker

        use_broker(cast(WellQueueBroker, broker))  # jobs.enqueue() inside processors uses this broker
    else:
        dramatiq.set_broker(broker)
    return broker


def install_queue_limits(broker: dramatiq.Broker, queues: Sequence[str]) -> None:
    """Write this process's queues' configured rate limits and cluster caps (WELLQUEUE_QUEUE_OPTIONS) where the
    fetch script reads them; a limit an operator set live stays in force."""
    from ..jobs.limits import LimitStore, configured_limits
    from ..settings import get_settings

    keys, client = getattr(broker, "keys", None), getattr(broker, "client", None)
    if keys is None or client is None:  # a test broker without the registry
        return
    try:
        LimitStore(client, keys).install_configured(configured_limits(get_settings()), list(queues))
    except redis.RedisError as exc:
        logger.error("Cannot write the configured queue limits (the last ones written stay in force): %s", exc)


def run(options: EntryOptions) -> int:
    """Boot the worker, run until asked to stop (signal or parent exit), drain, and return the exit code."""
    stop = StopSignals()
    stop.install()
    parent = die_with_parent()
    random.seed()  # each process its own sequence (backoff jitter, sampling)
    os.environ[WORKER_ID_ENV] = options.worker_id

    url = os.environ.get("REDIS_URL", "")
    if not url:
        logger.error("REDIS_URL is not set; the supervisor passes it, or set it when starting a worker by hand")
        return EXIT_USAGE
    problem = redis_reachable(url)
    if problem:
        logger.error("Redis is unreachable at start: %s", problem)
        return EXIT_UNREACHABLE

    try:
        broker = load_broker(options.broker, url)
    except (ImportError, AttributeError, ValueError):  # ValueError covers SettingsError: bad environment
        logger.exception("Cannot load the broker %r", options.broker)
        return EXIT_USAGE
    except (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError):
        logger.exception("Redis connection failed while loading the broker")
        return EXIT_UNREACHABLE
    except redis.ResponseError as exc:  # Redis answers but refuses (a key of the wrong kind): restarting cannot help
        logger.error("Redis refused a command while loading the broker: %s", explain_refusal(url, exc))
        return EXIT_USAGE

    unknown = sorted(set(options.queues) - set(broker.get_declared_queues()))
    if unknown:
        logger.error(
            "Unknown queue(s) %s; declared queues: %s",
            ", ".join(unknown),
            ", ".join(sorted(q for q in broker.get_declared_queues() if not q.endswith(".DQ"))),
        )
        return EXIT_USAGE
    install_queue_limits(broker, options.queues)
    if stop.reason is not None:  # asked to stop while booting: nothing fetched, nothing to drain
        broker.close()
        logger.info("Worker stopped before it started")
        return EXIT_OK

    broker.emit_after("process_boot")  # starts TimeLimit's thread, as dramatiq's CLI does
    worker = dramatiq.Worker(broker, queues=set(options.queues), worker_threads=options.threads)
    worker.queue_prefetch = options.threads  # a small prefetch keeps few jobs stranded in memory
    try:
        worker.start()
    except (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError):
        logger.exception("Redis connection failed while starting the worker")
        return EXIT_UNREACHABLE
    logger.info("Worker ready", extra={"queues": list(options.queues), "threads": options.threads})

    while stop.reason is None:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            stop.request("parent process exited")

    drain(worker, options.grace_ms)
    abandoned = sum(1 for thread in worker.workers if thread.is_alive())
    broker.close()
    if abandoned:
        logger.warning(
            "%d worker thread(s) still running a job after %d ms; those jobs will be redelivered",
            abandoned,
            options.grace_ms,
        )
        return EXIT_KILLED
    logger.info("Worker stopped")
    return EXIT_OK


def drain(worker: dramatiq.Worker, grace_ms: int) -> None:
    """Let running jobs finish within one deadline, then stop the rest of the worker.

    Dramatiq's `Worker.stop(timeout)` joins thread after thread from a shrinking budget (its `join_all`
    subtracts the running total again on every thread), so it gives up on jobs long before the grace time."""
    deadline = time.monotonic() + grace_ms / 1000
    for thread in worker.workers:
        thread.stop()
    for thread in worker.workers:
        thread.join(max(0.0, deadline - time.monotonic()))
    remaining_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
    worker.stop(timeout=max(5000, remaining_ms))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    configure_logging("json", stream=sys.stdout, static_fields={"worker_id": options.worker_id, "pid": os.getpid()})
    try:
        return run(options)
    except Exception:
        logger.exception("Worker process failed")
        return EXIT_KILLED


def _exit_now(code: int) -> None:
    """Exit without waiting for threads still running jobs (their work is redelivered by the reaper)."""
    with contextlib.suppress(OSError, RuntimeError, ValueError):  # a signal can land in the middle of a write
        sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    try:
        exit_code = main()
    except SystemExit as exc:  # argparse
        exit_code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
    _exit_now(exit_code)
