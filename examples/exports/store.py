"""The GNB Transfer store (`{data_dir}/exports/gnb.sqlite3`): users, bookings, tour packages, e-mail
campaigns and AI recommendations, plus the folders exports and the sitemap are written to."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..common import files, sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'customer',
    language TEXT NOT NULL DEFAULT 'en', created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, package_id TEXT, tour TEXT NOT NULL, date TEXT NOT NULL,
    status TEXT NOT NULL, guests INTEGER NOT NULL, amount REAL NOT NULL, currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, price REAL NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY, subject TEXT NOT NULL, html TEXT NOT NULL, audience_role TEXT NOT NULL,
    send_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'scheduled', sent_at TEXT
);
CREATE TABLE IF NOT EXISTS recommendations (
    job_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, language TEXT NOT NULL, items TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

PACK = "exports"
#: What the CSV exports may filter on and write, per table.
COLUMNS = {
    "bookings": ("id", "user_id", "package_id", "tour", "date", "status", "guests", "amount", "currency", "created_at"),
    "users": ("id", "name", "email", "role", "language", "created_at"),
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def area(data_dir: Path, name: str) -> Path:
    return files.pack_dir(data_dir, PACK, name)


@contextmanager
def open_store(data_dir: Path) -> Iterator[sqlite3.Connection]:
    with sqlite.connect(Path(data_dir) / PACK / "gnb.sqlite3", SCHEMA) as connection:
        yield connection
