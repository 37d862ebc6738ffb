"""Helpers for testing job processors without Redis: a recording sink and a context over a temp data dir."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.settings import Settings


@dataclass(frozen=True)
class EnqueueCall:
    queue: str
    payload: dict
    options: dict


@dataclass
class RecordingSink:
    """A JobSink that keeps every progress value, log line and enqueue call in order."""

    progress_values: list[float] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    enqueued: list[EnqueueCall] = field(default_factory=list)

    def progress(self, job_id: str, percent: float) -> None:
        self.progress_values.append(percent)

    def log(self, job_id: str, line: str) -> None:
        self.logs.append(line)

    def enqueue(self, queue_or_kind: str, payload: dict, **options: Any) -> str:
        self.enqueued.append(EnqueueCall(queue_or_kind, payload, options))
        return options.get("job_id") or f"recorded-{len(self.enqueued)}"

    def enqueued_to(self, queue: str) -> list[EnqueueCall]:
        return [call for call in self.enqueued if call.queue == queue]


def make_context(
    tmp_path: Path,
    *,
    sink: RecordingSink | None = None,
    job_id: str = "job-1",
    queue: str = "test",
    attempt: int = 1,
    **settings: Any,
) -> JobContext:
    """A JobContext whose settings keep all data under `tmp_path`; pass `sink` to inspect side outputs."""
    return JobContext(
        job_id=job_id,
        queue=queue,
        attempt=attempt,
        settings=Settings(data_dir=tmp_path, **settings),
        sink=sink if sink is not None else RecordingSink(),
    )


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def ctx(tmp_path: Path, sink: RecordingSink) -> JobContext:
    return make_context(tmp_path, sink=sink)
