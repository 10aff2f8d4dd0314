"""One settings class for the service; every field is an ``RT_`` environment variable.

``DATABASE_URL`` is the only unprefixed name, because every hosting platform already sets it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite:///./data/resolution-tracker.db"
DateOrder = Literal["iso", "dmy", "mdy"]
"""How the tracker import reads a date such as 03/04/2026: ISO only, day first, month first."""
# Days from the ship date to file a claim (README "Carrier claims" says which are confirmed).
DEFAULT_CLAIM_WINDOWS: dict[str, dict[str, int]] = {
    "dhl": {"lost": 30, "damaged": 30, "delay": 14},
    "fedex": {"lost": 270, "damaged": 21, "delay": 21},
    "ups": {"lost": 60, "damaged": 60, "delay": 60},
    "ems": {"lost": 180, "damaged": 180, "delay": 180},
    "china_post": {"lost": 180, "damaged": 180, "delay": 180},
    "sandbox": {"lost": 30, "damaged": 30, "delay": 30},
}


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
    scan_future_tolerance_minutes: int = Field(
        10,
        ge=0,
        description="A scan may be dated this far ahead of the server clock: a pushed scan "
        "later than that is a 422, a carrier's is dropped (never stored).",
    )
    poll_interval_seconds: int = Field(60, ge=1, description="How often the poll job ticks.")
    detect_interval_seconds: int = Field(
        300, ge=1, description="How often the detect-stuck job ticks."
    )
    overdue_interval_seconds: int = Field(
        300, ge=1, description="How often the overdue-next-step job ticks."
    )
    poll_claim_size: int = Field(
        500,
        ge=1,
        description="Parcels one poll claim takes, rounded up to whole carrier calls (then "
        "fetched in carrier batches).",
    )
    poll_lease_seconds: int = Field(
        300, ge=10, description="A claimed parcel is left alone by other processes this long."
    )
    carrier_outage_min_numbers: int = Field(
        3,
        ge=1,
        description="A carrier is unavailable only when, in one poll, it answered no number and "
        "the failed calls spanned at least this many distinct numbers.",
    )
    poll_error_limit: int = Field(
        8,
        ge=1,
        description="Failures in a row of one number (its carrier answering others) before it "
        "opens a tracking_error incident.",
    )
    poll_error_backoff_max_hours: int = Field(
        12, ge=1, description="A number failing alone waits at most this long between polls."
    )
    tick_budget_seconds: int = Field(
        50, ge=1, description="A tick stops claiming new work after this long; the next goes on."
    )
    webhook_allow_http: bool = Field(
        False, description="Accept http:// webhook URLs (development); https only otherwise."
    )
    webhook_allow_private_networks: bool = Field(
        False,
        description="Development and tests only: lift the address and port checks, so a "
        "receiver on 127.0.0.1 or a private network is allowed (metadata addresses never are).",
    )
    webhook_allowed_ports: list[int] = Field(
        default=[443, 8443, 80, 8080],
        description="Ports a webhook URL may use (JSON list); 80 and 8080 need http allowed.",
    )
    webhook_timeout_seconds: float = Field(
        15.0, gt=0, description="A webhook attempt that has no 2xx answer by then has failed."
    )
    webhook_retry_schedule: list[float] = Field(
        default=[5, 300, 1800, 7200, 18000, 36000, 36000],
        min_length=1,
        description="Seconds to wait before each retry (JSON list); after the last retry a "
        "delivery still failing is marked failed.",
    )
    webhook_disable_after_days: float = Field(
        5.0, gt=0, description="An endpoint failing without a success this long is disabled."
    )
    webhook_dispatch_interval_seconds: int = Field(
        1,
        ge=1,
        description="How often the deliver-webhooks job ticks (on PostgreSQL a commit also "
        "wakes it, see RT_WEBHOOK_WAKE_ON_COMMIT: the tick is the fallback).",
    )
    webhook_wake_on_commit: bool = Field(
        True,
        description="PostgreSQL: each scheduler LISTENs, and a transaction that makes webhook "
        "deliveries due NOTIFYs it on commit, so they are sent at once rather than at the next "
        "tick. Turn off where LISTEN cannot work (a transaction-pooling PgBouncer).",
    )
    webhook_concurrency: int = Field(
        64, ge=1, description="Webhook requests one dispatcher process has in flight at most."
    )
    webhook_claim_size: int = Field(
        100, ge=1, description="Deliveries one dispatcher claim takes at most."
    )
    webhook_lease_seconds: int = Field(
        60,
        ge=2,
        description="A claimed delivery is left alone by other dispatchers this long; keep it "
        "well above RT_WEBHOOK_TIMEOUT_SECONDS.",
    )
    webhook_secret_overlap_hours: float = Field(
        24.0, ge=0, description="After a secret rotation the old secret also signs this long."
    )
    webhook_api_base_url: str | None = Field(
        None,
        description="Public base URL of this API, for the links in webhook payloads; unset: "
        "http://RT_HOST:RT_PORT.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for e-mail to customers; unset: nothing is sent."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="The SMTP server's port.")
    smtp_username: str | None = Field(None, description="SMTP login; unset: no AUTH.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(
        True, description="Upgrade the connection with STARTTLS before sending (and logging in)."
    )
    smtp_from: str = Field(
        "Customer Care <care@localhost>",
        max_length=320,
        description="From of customer e-mail (`Name <address>` or an address); a tenant can set "
        "its own sender name, From and Reply-To (PUT /v1/settings/sender).",
    )
    smtp_timeout_seconds: float = Field(
        30.0, gt=0, description="An SMTP conversation that takes longer has failed."
    )
    message_retry_schedule: list[float] = Field(
        default=[60, 300, 1800, 7200, 21600],
        min_length=1,
        description="Seconds to wait before each retry of a message the SMTP server did not "
        "take (JSON list); still failing after the last: failed.",
    )
    message_dispatch_interval_seconds: int = Field(
        5, ge=1, description="How often the deliver-messages job ticks."
    )
    message_concurrency: int = Field(
        4, ge=1, description="SMTP connections one scheduler process sends on at once."
    )
    message_claim_size: int = Field(200, ge=1, description="Messages one lease takes at most.")
    message_lease_seconds: int = Field(
        300,
        ge=2,
        description="A leased message is left alone by other senders this long; keep it well "
        "above RT_SMTP_TIMEOUT_SECONDS.",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1,
        description="Largest request body under /v1, in bytes (1 MiB); the tracker import and "
        "evidence uploads have their own caps. Larger: 413, as soon as Content-Length or the "
        "bytes received say so.",
    )
    rate_limit_per_minute: int = Field(
        600,
        ge=0,
        description="Requests one API key may make in any 60 seconds; more: 429 with "
        "Retry-After. 0 = no limit.",
    )
    auth_failures_per_minute: int = Field(
        20,
        ge=0,
        description="Failed authentications in any 60 seconds from one client address, or with "
        "one key prefix, before further attempts get 429 unchecked. 0 = no throttle.",
    )
    request_threads: int = Field(
        8,
        ge=1,
        le=64,
        description="API handlers that run at once per worker process, each in a thread with "
        "a database connection; further requests wait their turn in order. Keep it at or "
        "below the connection pool (10).",
    )
    api_key_cache_seconds: float = Field(
        5,
        ge=0,
        le=300,
        description="An API key found active is remembered by each process this many seconds, "
        "so most requests need no lookup; it is also how long a revoked key may still work. "
        "0 = look every request up.",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where the rate limits count: memory:// (this process only: one replica) "
        "or redis://host:6379 (shared by every replica).",
    )
    rate_limit_key_prefix: str = Field(
        "rt",
        min_length=1,
        description="Prefix of the rate-limit counters' keys in Redis, so deployments (or test "
        "runs) can share one Redis.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="When set, GET /metrics needs 'Authorization: Bearer <this token>' (it "
        "never takes API keys); unset, /metrics is open (keep it off the public network).",
    )
    scheduler_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="python -m app.scheduler serves its own process metrics (job ticks, carrier "
        "calls, breakers) at http://RT_SCHEDULER_METRICS_HOST:<port>/metrics; unset: off.",
    )
    scheduler_metrics_host: str = Field(
        "127.0.0.1", description="Address the scheduler's metrics listener binds to."
    )
    metrics_cache_seconds: float = Field(
        15.0,
        ge=0,
        description="How long one process reuses the database half of /metrics: at most one "
        "aggregate query per replica per period, whatever the number of scrapers.",
    )

    storage_dir: Path | None = Field(
        None,
        description="Where evidence files are stored (RT_STORAGE_DIR); unset: "
        "RT_DATA_DIR/evidence, which is ./data/evidence by default.",
    )
    evidence_max_bytes: int = Field(
        50 * 1024 * 1024, ge=1, description="Largest evidence upload accepted, in bytes (50 MB)."
    )
    approval_threshold: Decimal = Field(
        Decimal(50),
        ge=0,
        description="A compensation worth more than this needs a second key with "
        "incidents:approve; 0 = every compensation does. In RT_APPROVAL_CURRENCY.",
    )
    approval_thresholds: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Per-tenant thresholds by tenant slug (JSON object), e.g. {"acme": 100}.',
    )
    approval_currency: str | None = Field(
        None,
        description="Currency the threshold is in; unset: the order's currency. A compensation "
        "in another currency always needs approval (nothing is converted).",
    )
    claim_windows: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_CLAIM_WINDOWS.items()},
        description="Days after the ship date to file a carrier claim, by carrier and claim "
        "type (JSON); see the README for which values are confirmed.",
    )
    claim_window_default_days: int = Field(
        30, ge=1, description="Claim window for a carrier or claim type claim_windows lacks."
    )
    claim_deadline_warning_days: int = Field(
        7, ge=0, description="A claim not yet filed is flagged this many days before its deadline."
    )
    import_date_order: DateOrder = Field(
        "dmy",
        description="How the tracker import reads a date such as 03/04/2026 when the request "
        "names no date_order: dmy (day first, as most of the world writes it), mdy (the US) or "
        "iso (YYYY-MM-DD only). ISO dates and times, and XLSX date cells, are always read.",
    )
    import_max_rows: int = Field(
        50_000,
        ge=1,
        description="Most data rows one tracker import takes; counted before any row is read, "
        "a larger file is refused (413) whole: split it.",
    )
    import_batch_rows: int = Field(
        500,
        ge=1,
        le=5_000,
        description="Rows a real tracker import writes per transaction: each batch commits on "
        "its own, so a failed batch costs only its rows and the database is never held long.",
    )
    import_max_unpacked_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1,
        description="Largest total an XLSX import may unpack to (its ZIP directory is read "
        "before parsing): a zip bomb is refused (413) before it is opened.",
    )
    import_max_shared_strings_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1,
        description="Largest shared-strings table (xl/sharedStrings.xml, unpacked) an XLSX "
        "import may hold; the workbook parser keeps it all in memory.",
    )
    customer_update_business_days: int = Field(
        2, ge=1, description="'I will update you by <date>' in messages: this many business days."
    )
    notice_max_parcels: int = Field(
        50_000,
        ge=1,
        description="Most parcels one bulk notice (POST /v1/notices) may go to; a filter that "
        "matches more is refused (422): narrow it, or send it in parts.",
    )

    # people: accounts, sign-in and the desk's sessions (app/people)
    password_min_length: int = Field(
        12, ge=8, le=128, description="Shortest password a person may choose, in characters."
    )
    sign_in_failures_per_15_minutes: int = Field(
        10,
        ge=1,
        description="Failed sign-ins one e-mail address may have in 15 minutes; then it is "
        "refused, even with the right password, until the oldest failure is 15 minutes old.",
    )
    sign_in_address_failures_per_15_minutes: int = Field(
        30,
        ge=1,
        description="The same limit per client address (an IPv6 client counts by its /64), "
        "across every e-mail tried from it.",
    )
    session_secret: SecretStr | None = Field(
        None,
        description="Signs desk session cookies and CSRF tokens; changing it ends every "
        "session. Unset: derived from RT_SECRET_KEY (or its generated file).",
    )
    session_idle_minutes: int = Field(
        480, ge=1, description="A desk session unused this long has ended."
    )
    session_max_hours: int = Field(
        168, ge=1, description="A desk session ends this long after sign-in, however active."
    )
    desk_timezone: str = Field(
        "UTC",
        description="The time zone the desk shows times in (an IANA name such as "
        "Europe/Madrid); 'due today' on the queue ends at midnight there.",
    )
    bootstrap_supervisor_email: str | None = Field(
        None,
        description="With RT_BOOTSTRAP_SUPERVISOR_PASSWORD: ensure this supervisor of tenant "
        "'default' exists, is enabled and has that password (python3 dev.py serve sets both).",
    )
    bootstrap_supervisor_password: SecretStr | None = None

    @model_validator(mode="after")
    def _bootstrap_supervisor_needs_both(self) -> Settings:
        if (self.bootstrap_supervisor_email is None) != (
            self.bootstrap_supervisor_password is None
        ):
            raise ValueError(
                "set RT_BOOTSTRAP_SUPERVISOR_EMAIL and RT_BOOTSTRAP_SUPERVISOR_PASSWORD together"
            )
        return self

    @field_validator("desk_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Madrid)") from exc
        return value

    @property
    def max_tracking_age(self) -> timedelta:
        return timedelta(days=self.max_tracking_age_days)

    @property
    def scan_future_tolerance(self) -> timedelta:
        return timedelta(minutes=self.scan_future_tolerance_minutes)

    @property
    def evidence_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "evidence"

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
