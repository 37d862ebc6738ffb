"""Process-wide logging: readable text, or one JSON object per line ({ts, level, logger, msg, ...extra})."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = ("text", "json")

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

#: Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonLineFormatter(logging.Formatter):
    """One compact JSON object per record: ts (UTC ISO 8601), level, logger, msg, then static and extra fields."""

    def __init__(self, static_fields: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.static_fields = dict(static_fields or {})

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(self.static_fields)
        entry.update(extra_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)  # ASCII: C1 and bidi controls stay escaped


class TextFormatter(logging.Formatter):
    """The classic one-line text format, with static and extra fields appended as key=value."""

    def __init__(self, static_fields: dict[str, Any] | None = None) -> None:
        super().__init__(TEXT_FORMAT)
        self.static_fields = dict(static_fields or {})

    def format(self, record: logging.LogRecord) -> str:
        line = printable_log(super().format(record))
        fields = {**self.static_fields, **extra_fields(record)}
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # keep key=value on the message line, before any traceback
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        return f"{head} [{pairs}]{newline}{rest}"


def printable_log(text: str) -> str:
    """Job errors and tracebacks reach the logs: control, C1 and bidi characters become visible escapes
    (newlines and tabs stay, for tracebacks), so a log viewer's terminal cannot be driven by job data."""
    from .sanitize import safe_str

    return safe_str(text, 200_000, multiline=True)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached with `extra=` (everything that is not a standard LogRecord attribute)."""
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRS and not key.startswith("_")}


def safe_extra(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` made usable as `extra=`: names that would clash with LogRecord attributes get an `x_` prefix."""
    return {(f"x_{key}" if key in _RECORD_ATTRS else key): value for key, value in fields.items()}


def configure_logging(
    log_format: LogFormat = "text",
    *,
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    static_fields: dict[str, Any] | None = None,
) -> logging.Handler:
    """Send every log record to `stream` (stderr by default) in `log_format`; replaces earlier handlers."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonLineFormatter(static_fields) if log_format == "json" else TextFormatter(static_fields)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
