"""What a worker process writes: each JSON log line re-logged here with its level, logger and fields, tagged
with the process id; the last lines and the last error are kept for crash reports and the console."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque

from ..logging_setup import safe_extra

#: Lines the worker processes log are re-logged here, tagged with `process_id`.
process_logger = logging.getLogger("wellqueue_tui.workers.process")

RECENT_LINES = 20
LINE_KEPT_CHARS = 500


class ProcessOutput:
    """The output of one process slot's processes (a slot keeps it across restarts)."""

    def __init__(self, process_id: str) -> None:
        self.process_id = process_id
        self.recent: deque[str] = deque(maxlen=RECENT_LINES)
        self.last_error: str | None = None

    async def forward(self, stream: asyncio.StreamReader) -> None:
        """Relay every line of `stream` until it closes."""
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # longer than the stream's limit: asyncio drops it
                process_logger.warning("Dropped an over-long output line", extra={"process_id": self.process_id})
                continue
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                self.relay(line)

    def relay(self, line: str) -> None:
        """Re-log one output line of a worker process, keeping its level, logger and fields."""
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or "msg" not in entry:
            self.recent.append(line[:LINE_KEPT_CHARS])
            process_logger.warning("%s", line, extra={"process_id": self.process_id})
            return
        level = logging.getLevelName(str(entry.get("level", "INFO")))
        level = level if isinstance(level, int) else logging.INFO
        message = str(entry["msg"])
        fields = {k: v for k, v in entry.items() if k not in ("ts", "level", "msg", "logger", "worker_id")}
        fields["source"] = entry.get("logger", "")
        fields["process_id"] = self.process_id
        if "exc" in fields:
            message = f"{message}\n{fields.pop('exc')}"
        first_line = message.splitlines()[0][:LINE_KEPT_CHARS] if message else ""
        self.recent.append(first_line)
        if level >= logging.ERROR:
            self.last_error = first_line if message else None
        process_logger.log(level, "%s", message, extra=safe_extra(fields))

    def tail(self) -> str:
        """The last few lines, for crash reports."""
        return " | ".join(list(self.recent)[-5:]) or "(none)"
