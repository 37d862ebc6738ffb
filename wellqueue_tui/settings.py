"""One settings model for the whole product, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .address_policy import parse_entry

#: Worker processes and threads per queue group: the reference system's concurrency.
DEFAULT_CONCURRENCY = {
    "data-validation": 3,
    "report-generation": 2,
    "email-notifications": 5,
    "webhooks": 5,
}

#: Largest JSON-encoded payload `enqueue` accepts unless WELLQUEUE_MAX_PAYLOAD_BYTES says otherwise (1 MiB).
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024

REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")


class SettingsError(ValueError):
    """The environment holds a value WellQueue cannot use; the message says which and why."""


class Settings(BaseSettings):
    """Everything configurable, from `WELLQUEUE_*` variables (and plain `REDIS_URL`)."""

    model_config = SettingsConfigDict(env_prefix="WELLQUEUE_", extra="ignore", hide_input_in_errors=True)

    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "WELLQUEUE_REDIS_URL"))
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("wellqueue")))
    namespace: str = "wellqueue"
    timezone: str = "America/Chicago"

    jwt_secret: SecretStr | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "wellqueue"
    jwt_audience: str = "wellqueue"

    kind_modules: list[str] = Field(default_factory=list)  # extra job kinds: modules exporting KIND
    concurrency: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    worker_processes: int = Field(default=1, ge=1, le=64)
    grace_seconds: float = Field(default=30.0, gt=0)
    heartbeat_timeout_ms: int = Field(default=15_000, ge=1000)
    reaper_interval_s: float = Field(default=5.0, gt=0)

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "wellqueue@localhost"
    smtp_starttls: bool = True

    webhook_secret: SecretStr | None = None
    webhook_allowed_networks: list[str] = Field(default_factory=list)  # hosts, addresses, CIDRs webhooks may reach
    webhook_allow_private: bool = False  # retired: refused when true, see _retired_allow_private

    max_payload_bytes: int = Field(default=DEFAULT_MAX_PAYLOAD_BYTES, ge=1024)

    @field_validator("redis_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(REDIS_URL_SCHEMES):
            raise ValueError(f"REDIS_URL must start with one of {', '.join(REDIS_URL_SCHEMES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/Chicago") from None
        return value

    @field_validator("concurrency")
    @classmethod
    def _positive_concurrency(cls, value: dict[str, int]) -> dict[str, int]:
        merged = dict(DEFAULT_CONCURRENCY)
        for queue, threads in value.items():
            if threads < 1:
                raise ValueError(f"concurrency for {queue!r} must be at least 1, got {threads}")
            merged[queue] = threads
        return merged

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _valid_allow_list(cls, value: list[str]) -> list[str]:
        return [str(parse_entry(entry)) for entry in value]

    @field_validator("webhook_allow_private")
    @classmethod
    def _retired_allow_private(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "is no longer supported: it opened every address to webhooks, cloud metadata included. Remove it "
                'and name what webhooks may reach in WELLQUEUE_WEBHOOK_ALLOWED_NETWORKS, e.g. ["127.0.0.1/32", '
                '"hooks.internal"]'
            )
        return value

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def production_db(self) -> Path:
        return self.data_dir / "production.sqlite3"


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one readable error."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"WELLQUEUE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"bad configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
