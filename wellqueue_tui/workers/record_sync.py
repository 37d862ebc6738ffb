"""The supervisor's side of the worker records in Redis: each refresh publishes its slots' records, drops
retired ones, takes pending control requests, and counts the registry's active jobs per live process."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from ..jobs.keys import KeySchema
from ..jobs.models import JobState
from . import worker_records
from .worker_records import ControlRequest, WorkerRecord, WorkerRecords

MAX_ACTIVE_SCANNED = 1000  # per queue; the active sets hold at most the cluster's concurrency plus stalled jobs


@dataclass(frozen=True)
class SyncResult:
    requests: list[ControlRequest] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why each malformed request was dropped
    active: dict[str, int] = field(default_factory=dict)  # process id -> jobs it holds in the active sets


class RecordSync:
    """Blocking Redis calls (run them in a thread); `machine` is how worker processes name themselves in
    job records (`{machine}:{pid}:…`)."""

    def __init__(self, client: redis.Redis, keys: KeySchema, supervisor_id: str, machine: str) -> None:
        self.client = client
        self.keys = keys
        self.records = WorkerRecords(client, keys)
        self.supervisor_id = supervisor_id
        self.machine = machine

    def sync(
        self,
        records: list[WorkerRecord],
        retired: list[str],
        live: dict[str, int],
        queues: list[str],
        *,
        take_requests: bool,
    ) -> SyncResult:
        """Publish `records`, remove `retired`, take control requests (when asked) and count active jobs of
        the `live` processes (process id -> pid) in `queues`."""
        self.records.publish(records)
        self.records.remove(retired)
        if not take_requests:  # stopping: leave them for whichever supervisor runs next
            return SyncResult(active=self.count_active(live, queues))
        requests, rejected = self.records.take_requests(self.supervisor_id)
        return SyncResult(requests, rejected, self.count_active(live, queues))

    def publish_final(self, records: list[WorkerRecord], retired: list[str]) -> None:
        self.records.publish(records)
        self.records.remove(retired)

    def count_active(self, live: dict[str, int], queues: list[str]) -> dict[str, int]:
        """Members of the queues' active sets whose job `worker` field names one of the `live` processes."""
        if not live:
            return {}
        with self.client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zrange(self.keys.state(queue, JobState.ACTIVE), 0, MAX_ACTIVE_SCANNED - 1)
            id_lists = pipe.execute()
        job_ids = [worker_records.text(job_id) for ids in id_lists for job_id in ids]
        if not job_ids:
            return {}
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "worker")
            labels = pipe.execute()
        owner = {f"{self.machine}:{pid}:": process_id for process_id, pid in live.items()}
        counts: dict[str, int] = {}
        for label in labels:
            prefix = ":".join(worker_records.text(label or "").split(":")[:2]) + ":"
            if prefix in owner:
                counts[owner[prefix]] = counts.get(owner[prefix], 0) + 1
        return counts
