"""WellFlow, the oil-and-gas job kinds WellQueue ships: production data validation, reports, e-mail
notifications and webhooks. The engine loads this pack by name, like any `settings.kind_modules` entry."""

from __future__ import annotations

from .kinds import data_validation, email_notifications, report_generation, webhooks

KINDS = [data_validation.KIND, report_generation.KIND, email_notifications.KIND, webhooks.KIND]
