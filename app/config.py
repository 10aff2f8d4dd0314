"""One settings class for the service; every field is an ``RT_`` environment variable.

``DATABASE_URL`` is the only unprefixed name, because every hosting platform already sets it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite:///./data/resolution-tracker.db"


class Settings(BaseSettings):
    """Service settings. The README lists each one with its default."""

    model_config = SettingsConfigDict(env_prefix="RT_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=DEFAULT_SQLITE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "RT_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    auto_migrate: bool = Field(True, description="Apply Alembic migrations at start-up.")
    bootstrap_api_key: SecretStr | None = Field(
        None, description="Ensure this key exists with every scope for tenant 'default'."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs page tokens and encrypts stored secrets. Unset: a key is generated "
        "once and kept in RT_DATA_DIR/secret_key (fine for one machine, set it when scaled out).",
    )
    data_dir: Path = Path("./data")
    scheduler: Literal["embedded", "off"] = "embedded"
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"
    page_size_default: int = Field(50, ge=1)
    page_size_max: int = Field(200, ge=1)
    idempotency_ttl_hours: int = Field(24, ge=24, description="How long Idempotency-Keys live.")
    default_next_step_hours: int = Field(
        24, ge=1, description="Deadline of the default next step (acknowledge the customer)."
    )

    max_tracking_age_days: int = Field(
        90, ge=1, description="Stop polling a parcel this many days after it was registered."
    )
    poll_interval_seconds: int = Field(60, ge=1, description="How often the poll job ticks.")
    detect_interval_seconds: int = Field(
        300, ge=1, description="How often the detect-stuck job ticks."
    )
    overdue_interval_seconds: int = Field(
        300, ge=1, description="How often the overdue-next-step job ticks."
    )
    poll_claim_size: int = Field(
        500, ge=1, description="Parcels one poll claim takes (then fetched in carrier batches)."
    )
    poll_lease_seconds: int = Field(
        300, ge=10, description="A claimed parcel is left alone by other processes this long."
    )
    tick_budget_seconds: int = Field(
        50, ge=1, description="A tick stops claiming new work after this long; the next goes on."
    )

    @property
    def max_tracking_age(self) -> timedelta:
        return timedelta(days=self.max_tracking_age_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> bytes:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    return Settings()
