"""PAM's embedded store (`{data_dir}/pam/pam.sqlite3`): index values, calculation batches and their
results, and the webhook messages waiting to be delivered."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from ..common import sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS index_values (
    tenant_id TEXT NOT NULL, series_code TEXT NOT NULL, value_date TEXT NOT NULL, version_tag TEXT NOT NULL,
    value REAL NOT NULL, as_of_date TEXT NOT NULL, source TEXT NOT NULL, job_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, series_code, value_date, version_tag)
);
CREATE TABLE IF NOT EXISTS batch_items (
    tenant_id TEXT NOT NULL, batch_id TEXT NOT NULL, item_id TEXT NOT NULL, base_price REAL NOT NULL,
    series_code TEXT NOT NULL, base_date TEXT NOT NULL, price_date TEXT NOT NULL, indexed_share REAL NOT NULL,
    PRIMARY KEY (tenant_id, batch_id, item_id)
);
CREATE TABLE IF NOT EXISTS calc_results (
    tenant_id TEXT NOT NULL, batch_id TEXT NOT NULL, item_id TEXT NOT NULL, base_index REAL NOT NULL,
    current_index REAL NOT NULL, adjusted_price REAL NOT NULL, calculated_at TEXT NOT NULL, job_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, batch_id, item_id)
);
CREATE TABLE IF NOT EXISTS webhook_messages (
    tenant_id TEXT NOT NULL, message_id TEXT NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL,
    created_at TEXT NOT NULL, delivered_at TEXT,
    PRIMARY KEY (tenant_id, message_id)
);
"""

#: Which published version of an index value a calculation prefers.
VERSION_PREFERENCE = ("final", "revised", "preliminary")


@dataclass(frozen=True)
class BatchItem:
    """One priced line of a batch: `base_price` moves with `series_code` between `base_date` and `price_date`
    for its `indexed_share` (0..1); the rest of the price is fixed."""

    item_id: str
    base_price: float
    series_code: str
    base_date: date
    price_date: date
    indexed_share: float = 1.0


@dataclass(frozen=True)
class Message:
    tenant_id: str
    message_id: str
    event_type: str
    data: dict
    created_at: str
    delivered_at: str | None


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / "pam" / "pam.sqlite3"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextmanager
def open_store(data_dir: Path) -> Iterator[sqlite3.Connection]:
    with sqlite.connect(db_path(data_dir), SCHEMA) as connection:
        yield connection


def define_batch(data_dir: Path, tenant_id: str, batch_id: str, items: Sequence[BatchItem]) -> None:
    """Create or replace a batch: what the PAM application does before it enqueues a calculation."""
    with open_store(data_dir) as db:
        db.execute("DELETE FROM batch_items WHERE tenant_id = ? AND batch_id = ?", (tenant_id, batch_id))
        db.executemany(
            "INSERT INTO batch_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    tenant_id,
                    batch_id,
                    i.item_id,
                    i.base_price,
                    i.series_code,
                    i.base_date.isoformat(),
                    i.price_date.isoformat(),
                    i.indexed_share,
                )
                for i in items
            ],
        )


def batch_items(db: sqlite3.Connection, tenant_id: str, batch_id: str) -> list[BatchItem]:
    rows = db.execute(
        "SELECT * FROM batch_items WHERE tenant_id = ? AND batch_id = ? ORDER BY item_id", (tenant_id, batch_id)
    ).fetchall()
    return [
        BatchItem(
            r["item_id"],
            r["base_price"],
            r["series_code"],
            date.fromisoformat(r["base_date"]),
            date.fromisoformat(r["price_date"]),
            r["indexed_share"],
        )
        for r in rows
    ]


def index_value(db: sqlite3.Connection, tenant_id: str, series_code: str, day: date) -> float | None:
    """The value of a series on `day`, preferring final over revised over preliminary figures."""
    rows = db.execute(
        "SELECT version_tag, value FROM index_values WHERE tenant_id = ? AND series_code = ? AND value_date = ?",
        (tenant_id, series_code, day.isoformat()),
    ).fetchall()
    by_version = {row["version_tag"]: row["value"] for row in rows}
    for version in (*VERSION_PREFERENCE, *sorted(by_version)):
        if version in by_version:
            return by_version[version]
    return None


def record_message(data_dir: Path, tenant_id: str, message_id: str, event_type: str, data: dict) -> None:
    """Queue an event for webhook delivery (kept when it already exists, so re-recording is harmless)."""
    with open_store(data_dir) as db:
        db.execute(
            "INSERT OR IGNORE INTO webhook_messages VALUES (?, ?, ?, ?, ?, NULL)",
            (tenant_id, message_id, event_type, json.dumps(data), now_iso()),
        )


def find_message(db: sqlite3.Connection, tenant_id: str, message_id: str) -> Message | None:
    row = db.execute(
        "SELECT * FROM webhook_messages WHERE tenant_id = ? AND message_id = ?", (tenant_id, message_id)
    ).fetchone()
    if row is None:
        return None
    return Message(
        row["tenant_id"],
        row["message_id"],
        row["event_type"],
        json.loads(row["data"]),
        row["created_at"],
        row["delivered_at"],
    )
