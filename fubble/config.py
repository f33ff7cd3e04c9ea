"""Settings, read from the environment with the ``FUBBLE_`` prefix (and from a ``.env`` file if present)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./fubble.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUBBLE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path (embedded default) or postgresql://user@host/db (production).",
    )
    host: str = Field("127.0.0.1", description="Address `fubble serve` binds to.")
    port: int = Field(8000, description="Port `fubble serve` listens on.")
    workers: int = Field(
        0, ge=0, le=1024, description="Worker processes of `fubble serve` (--workers overrides). 0: one per CPU core."
    )
    payment_term_days: int = Field(30, ge=0, le=3650, description="Default due date = issue date + this many days.")
    default_currency: str = Field("USD", description="Currency of customers created without one (ISO 4217).")
    max_batch_events: int = Field(10_000, ge=1, description="Most events accepted by one POST /events/batch.")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes.")
    auth_enabled: bool = Field(
        True,
        description="Require an API key on every route but /health. `fubble serve --no-auth` turns it off, "
        "for loopback addresses only.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (JSON list). Empty: no CORS."
    )
    sqlite_busy_timeout_ms: int = Field(30_000, ge=0, description="How long SQLite writers wait for the write lock.")
    group_commit_linger_us: int = Field(
        2_000,
        ge=0,
        le=1_000_000,
        description="Under load, how long (microseconds) a group commit of single events waits for the senders of "
        "the last group to send again, so that they share one transaction. 0: never wait. Only after a group of at "
        "least 8 events: a lone request or light traffic never waits.",
    )
    request_queue_timeout_s: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="How long (seconds) a request waits for one of its worker's transaction slots when every slot is "
        "taken; then it is refused with 503 and Retry-After, before anything was done.",
    )
    request_queue_max: int = Field(
        1000,
        ge=0,
        description="How many requests may wait for a transaction slot in one worker; one more is refused at once "
        "with 503 and Retry-After.",
    )
    batch_writes_per_worker: int = Field(
        0,
        ge=0,
        le=64,
        description="How many POST /events/batch transactions a server worker process runs at the same time (more "
        "wait their turn; a request with an Idempotency-Key header, or a body only the full validation accepts, "
        "does not wait). 0: 1 on SQLite (its work runs inside the worker, under one write lock), 2 on PostgreSQL "
        "(the second overlaps the first's work in the database server).",
    )
    billing_interval_seconds: float = Field(
        60,
        ge=0,
        le=86_400,
        description="How often (seconds) `fubble serve` starts a billing run as of now (one server process at a "
        "time, claimed in the database). 0: never (bill with POST /billing/runs or `fubble bill`).",
    )
    grace_period_hours: int = Field(
        0,
        ge=0,
        le=8760,
        description="Hours after a period's end during which its invoice stays a draft that runs refresh with late "
        "usage; then a run finalizes it (pending). 0: finalized by the run that creates it. A customer's "
        "invoice_grace_period_hours overrides it.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
