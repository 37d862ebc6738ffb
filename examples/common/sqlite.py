"""An embedded SQLite store in the data dir: one short-lived connection per use, WAL, schema on open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 30


@contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection with `schema` applied (CREATE … IF NOT EXISTS); commits on success, rolls back on error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(schema)
        with connection:
            yield connection
    finally:
        connection.close()
