"""The platform's embedded store (`{data_dir}/platform/platform.sqlite3`) and its file areas."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..common import files, sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT, role TEXT NOT NULL DEFAULT 'user',
    status TEXT NOT NULL DEFAULT 'active', created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY, user_id TEXT, title TEXT NOT NULL, body TEXT NOT NULL, type TEXT NOT NULL,
    metadata TEXT NOT NULL, created_at TEXT NOT NULL, read_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, source TEXT NOT NULL, warmed_at TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    job_id TEXT PRIMARY KEY, source TEXT NOT NULL, operation TEXT NOT NULL, output TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

#: The tables `DATA_EXPORT` and `CACHE_WARM` read, with the columns they expose.
DATASETS = {
    "users": ("id", "email", "name", "role", "status", "created_at"),
    "notifications": ("id", "user_id", "title", "body", "type", "created_at", "read_at"),
    "sessions": ("id", "user_id", "expires_at_ms"),
    "files": ("job_id", "source", "operation", "output", "created_at"),
}

PACK = "platform"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def area(data_dir: Path, name: str) -> Path:
    """One of the platform's folders: uploads, attachments, processed, exports, tmp, logs."""
    return files.pack_dir(data_dir, PACK, name)


@contextmanager
def open_store(data_dir: Path) -> Iterator[sqlite3.Connection]:
    with sqlite.connect(Path(data_dir) / PACK / "platform.sqlite3", SCHEMA) as connection:
        yield connection


def select(db: sqlite3.Connection, dataset: str, filters: dict) -> list[dict]:
    """Rows of `dataset` whose columns equal every filter (a list value matches any of its items)."""
    columns = DATASETS[dataset]
    where, values = [], []
    for name, wanted in filters.items():
        if name not in columns:
            raise KeyError(name)
        options = wanted if isinstance(wanted, list) else [wanted]
        if not options:
            return []
        where.append(f"{name} IN ({', '.join('?' * len(options))})")
        values.extend(options)
    sql = f"SELECT {', '.join(columns)} FROM {dataset}" + (f" WHERE {' AND '.join(where)}" if where else "")
    return [dict(row) for row in db.execute(sql + f" ORDER BY {columns[0]}", values).fetchall()]
