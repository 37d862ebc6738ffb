"""How a worker process is started: its command line, its environment (the settings as WELLQUEUE_*), and the
spawn itself, in its own session with its output piped back to the supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..settings import Settings
from .entry import MODULE as ENTRY_MODULE
from .entry import WORKER_ID_ENV, hold_stop_signals, runs_entry

OUTPUT_LINE_LIMIT = 1 << 20

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class ProcessSpec:
    """What one process slot runs; the command factory turns it into an argv."""

    id: str
    group: str
    queues: tuple[str, ...]
    threads: int
    grace_ms: int


CommandFactory = Callable[[ProcessSpec], Sequence[str]]


def entry_command(spec: ProcessSpec) -> list[str]:
    """The default command: our own worker entry point under this interpreter."""
    return [
        sys.executable,
        "-m",
        ENTRY_MODULE,
        "--queues",
        ",".join(spec.queues),
        "--threads",
        str(spec.threads),
        "--worker-id",
        spec.id,
        "--grace-ms",
        str(spec.grace_ms),
    ]


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as WELLQUEUE_* variables, so worker processes see what this process was configured with."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if name == "redis_url" or value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"WELLQUEUE_{name.upper()}"] = str(value)
    return env


def process_env(settings: Settings, redis_url: str, process_id: str) -> dict[str, str]:
    """The environment of one worker process: ours, the settings, Redis, its id, and this project importable."""
    return {
        **os.environ,
        **settings_env(settings),
        "REDIS_URL": redis_url,
        WORKER_ID_ENV: process_id,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH")) if p),
    }


async def spawn(argv: Sequence[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start `argv` with stdout and stderr piped together; raises OSError when it cannot be started."""
    argv = list(argv)
    # our entry point takes a TERM sent while it boots once its handler is in place: it exits 0
    with hold_stop_signals() if runs_entry(argv) else contextlib.nullcontext():
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal reaches the supervisor only
            limit=OUTPUT_LINE_LIMIT,
        )
