"""Settings, read from the environment with the ``FUBBLE_`` prefix (and from a ``.env`` file if present)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./fubble.db"
# Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (27.6 hours in all).
DEFAULT_WEBHOOK_RETRIES = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
# Dunning: a failed payment is tried again 3, 5 and 7 days later.
DEFAULT_PAYMENT_RETRIES = (3 * 86_400.0, 5 * 86_400.0, 7 * 86_400.0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUBBLE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path (embedded default) or postgresql://user@host/db (production).",
    )
    host: str = Field("127.0.0.1", description="Address `fubble serve` binds to.")
    port: int = Field(8000, description="Port `fubble serve` listens on.")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="How `fubble serve` writes its logs to stderr: json (one object per line), text (for people), or "
        "auto (text on a terminal, json otherwise).",
    )
    workers: int = Field(
        0, ge=0, le=1024, description="Worker processes of `fubble serve` (--workers overrides). 0: one per CPU core."
    )
    payment_term_days: int = Field(30, ge=0, le=3650, description="Default due date = issue date + this many days.")
    default_currency: str = Field("USD", description="Currency of customers created without one (ISO 4217).")
    max_batch_events: int = Field(10_000, ge=1, description="Most events accepted by one POST /events/batch.")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes.")
    auth_enabled: bool = Field(
        True,
        description="Require an API key on every route but /health, /ready and /-/metrics. `fubble serve --no-auth` "
        "turns it off, for loopback addresses only.",
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
    webhook_allow_private_urls: bool = Field(
        False,
        description="Accept webhook endpoint URLs on private, loopback, link-local, multicast or reserved addresses "
        "(checked when an endpoint is saved and again when each attempt connects). Off: such URLs are refused (an "
        "SSRF guard); turn it on only for tests and trusted networks.",
    )
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_WEBHOOK_RETRIES),
        description="Seconds between a failed webhook attempt and the next, comma-separated; after the last, the "
        "delivery has failed. The default (5s, 5m, 30m, 2h, 5h, 10h, 10h) retries for more than 27 hours.",
    )
    webhook_timeout_seconds: float = Field(10, gt=0, le=300, description="How long a webhook attempt may take.")
    webhook_poll_interval_seconds: float = Field(
        1,
        ge=0,
        le=3600,
        description="How often (seconds) the webhook worker of `fubble serve` and `fubble worker` looks for attempts "
        "that are due. 0: `fubble serve` runs no webhook worker (run `fubble worker` instead).",
    )
    usage_alert_interval_seconds: float = Field(
        60, gt=0, le=86_400, description="How often (seconds) the webhook worker checks the usage alerts."
    )

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _seconds_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and any(not 0 < float(v) <= 30 * 86_400 for v in value):
            raise ValueError("each delay must be more than 0 and at most 2592000 seconds (30 days)")
        return value

    stripe_secret_key: str | None = Field(
        None,
        description="Stripe's secret API key (sk_...). Set: finalized invoices of customers with a payment_method_id "
        "are charged through Stripe by the payment worker (in `fubble serve` and `fubble worker`). Unset: invoices "
        "are marked paid by hand.",
    )
    stripe_api_base: str | None = Field(
        None, description="Base URL of the Stripe API (default Stripe's); e.g. a Stripe-compatible test server."
    )
    stripe_webhook_secret: str | None = Field(
        None,
        description="The signing secret (whsec_...) of the Stripe webhook endpoint POST /payments/stripe/webhook. "
        "Unset: that route answers 404.",
    )
    payment_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PAYMENT_RETRIES),
        description="Seconds between a failed payment attempt and the next, comma-separated (default 3, 5 and 7 "
        "days); after the last, the invoice stays failed until it is paid or voided by hand.",
    )
    payment_poll_interval_seconds: float = Field(
        5,
        ge=0,
        le=3600,
        description="How often (seconds) the payment worker of `fubble serve` and `fubble worker` looks for payment "
        "attempts and refunds that are due (only with FUBBLE_STRIPE_SECRET_KEY). 0: `fubble serve` runs none.",
    )

    @field_validator("payment_retry_schedule", mode="before")
    @classmethod
    def _payment_seconds_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and any(not 0 < float(v) <= 90 * 86_400 for v in value):
            raise ValueError("each delay must be more than 0 and at most 7776000 seconds (90 days)")
        return value

    seller_name: str | None = Field(None, description="The seller on invoice documents (HTML, PDF): your name.")
    seller_address: str | None = Field(
        None, description="The seller's address on invoice documents; lines apart by newlines (or a literal \\n)."
    )
    seller_email: str | None = Field(None, description="The seller's email address on invoice documents.")
    seller_tax_id: str | None = Field(None, description="The seller's tax id (VAT number) on invoice documents.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
