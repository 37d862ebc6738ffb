"""A failed webhook job whose payload its kind refuses (no `data`), for the fix-and-re-run tests."""

from __future__ import annotations

from .sample_data import NOW, job
from .static_source import StaticSource

BROKEN = {"url": "https://hooks.example.com/wells", "event": "well.validated", "dta": {"wellId": "W-4004"}}
FIXED = {"url": "https://hooks.example.com/wells", "event": "well.validated", "data": {"wellId": "W-4004"}}


def fix_source() -> StaticSource:
    failed = job(
        "wh-broken",
        "webhooks",
        "deliver_webhook",
        "failed",
        BROKEN,
        age_s=600,
        attempts=1,
        max_attempts=1,
        took_ms=3,
        error="PermanentJobError: invalid payload for webhooks: data: Field required",
    )
    done = job("wh-done", "webhooks", "deliver_webhook", "completed", FIXED, age_s=900, attempts=1, took_ms=40)
    return StaticSource([failed, done], queues=["webhooks"], now=NOW)
