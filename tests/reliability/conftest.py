"""Shared helpers for the fault-injection scenarios (marker `reliability`): worker subprocesses running the
sample kind, and one summary line per scenario for the CI log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.conftest import broker, registry, settings  # noqa: F401  (fixtures reused as they are)

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "jobs"


def worker_env(redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "WELLQUEUE_DATA_DIR": str(data_dir),
            "WELLQUEUE_KIND_MODULES": json.dumps(["sample_kinds"]),
            "PYTHONPATH": os.pathsep.join([str(SAMPLE_DIR), os.environ.get("PYTHONPATH", "")]), **extra}


def start_worker(redis_url: str, data_dir: Path, *, threads: int = 4, queues: str = "samples",
                 prelude: str = "") -> subprocess.Popen:
    """A worker process through our entry point; `prelude` is Python run first (e.g. to skew its clock)."""
    code = f"{prelude}\nimport sys\nfrom wellqueue_tui.workers.entry import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, "--queues", queues, "--threads", str(threads), "--worker-id", "reliability"],
        env=worker_env(redis_url, data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def report(scenario: str, **figures) -> None:
    """One line per scenario, printed even under -q (CI keeps it)."""
    line = f"[{scenario}] " + " ".join(f"{k}={v}" for k, v in figures.items())
    sys.stdout.write("\n" + line + "\n")
    sys.stdout.flush()


@pytest.fixture(autouse=True)
def _show_report_lines(capsys):
    yield
    out = capsys.readouterr().out
    with capsys.disabled():
        for line in out.splitlines():
            if line.startswith("["):
                print(line)
