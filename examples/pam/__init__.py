"""Seed 001, the PAM job queue: index-data ingestion into SQLite, price calculations with progress, signed
webhooks and price-math reports, on the queues `pam.ingestion`, `pam.calculation`, `pam.webhooks` and
`pam.reports`. Load with `WELLQUEUE_KIND_MODULES='["examples.pam"]'`."""

from __future__ import annotations

from . import calculation, ingestion, reports, webhooks

KINDS = [ingestion.KIND, calculation.KIND, webhooks.KIND, reports.KIND]
