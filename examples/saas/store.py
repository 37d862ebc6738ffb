"""The SaaS store (`{data_dir}/saas/saas.sqlite3`): organizations, their users and settings, and the HSE
records (stations, audits, incidents, work permits, contractors) reports and exports read."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..common import files, sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, tier TEXT NOT NULL, created_at TEXT NOT NULL,
    stripe_customer_id TEXT, stripe_subscription_id TEXT, subscription_status TEXT
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (organization_id, email)
);
CREATE TABLE IF NOT EXISTS organization_settings (
    organization_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (organization_id, key)
);
CREATE TABLE IF NOT EXISTS records (
    organization_id TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,
    status TEXT NOT NULL, created_at TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (organization_id, entity, id)
);
"""

PACK = "saas"
RECORD_ENTITIES = ("stations", "audits", "incidents", "work-permits", "contractors")
ENTITIES = (*RECORD_ENTITIES, "users")
RECORD_COLUMNS = ("id", "title", "status", "created_at")
USER_COLUMNS = ("id", "email", "name", "role", "created_at")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def area(data_dir: Path, *parts: str) -> Path:
    return files.pack_dir(data_dir, PACK, *parts)


@contextmanager
def open_store(data_dir: Path) -> Iterator[sqlite3.Connection]:
    with sqlite.connect(Path(data_dir) / PACK / "saas.sqlite3", SCHEMA) as connection:
        yield connection


def entity_rows(db: sqlite3.Connection, organization_id: str, entity: str, filters: dict | None = None) -> list[dict]:
    """One organization's rows of `entity`; `filters` match the columns or fields of a record's data."""
    if entity == "users":
        rows = [
            dict(r)
            for r in db.execute(
                f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE organization_id = ? ORDER BY created_at, id",
                (organization_id,),
            )
        ]
    else:
        rows = [
            {**json.loads(r["data"]), **{c: r[c] for c in RECORD_COLUMNS}}
            for r in db.execute(
                "SELECT * FROM records WHERE organization_id = ? AND entity = ? ORDER BY created_at, id",
                (organization_id, entity),
            )
        ]
    return [row for row in rows if all(row.get(k) == v for k, v in (filters or {}).items())]


def add_record(
    data_dir: Path,
    organization_id: str,
    entity: str,
    record_id: str,
    title: str,
    status: str,
    created_at: str,
    **data: object,
) -> None:
    """What the SaaS application writes when a user records an audit, incident, permit, …"""
    with open_store(data_dir) as db:
        db.execute(
            "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
            (organization_id, entity, record_id, title, status, created_at, json.dumps(data)),
        )
