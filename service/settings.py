"""Typed settings read from SUPPORTGATE_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORTGATE_", extra="ignore")

    database_url: str = "sqlite:///supportgate.db"
    default_region: str = "US"
    bootstrap_admin_key: SecretStr | None = None
    new_client_grace_days: int = Field(14, ge=0)
    dunning_grace_days: int = Field(7, ge=0)
    default_priority: str = "normal"
    default_queue: str = "standard"
    default_first_response_minutes: int = 240
    default_onsite_response_hours: int = 72
    max_body_bytes: int = 1024 * 1024
    # Per-key rate limit (token bucket per key name): sustained requests a second and burst; 0 = off.
    rate_limit_per_second: float = Field(100.0, ge=0)
    rate_limit_burst: int = Field(1000, ge=1)
    # Browser origins allowed to call the API (comma-separated); unset = no CORS headers at all.
    cors_origins: str | None = None
    max_import_bytes: int = 20 * 1024 * 1024
    db_pool_size: int = 10
    # In-process cache of client decision inputs (see service/cache.py).
    cache_max_clients: int = Field(100_000, ge=0)
    cache_staleness_seconds: float = Field(0.5, gt=0)
    degraded_policy: Literal["last_known", "triage_only"] = "last_known"
    log_level: str = "INFO"
    # E-signature webhooks: an endpoint whose secret is unset answers 404.
    docusign_hmac_keys: SecretStr | None = None
    dropbox_sign_api_key: SecretStr | None = None
    dropbox_sign_api_url: str = "https://api.hellosign.com"
    pandadoc_webhook_key: SecretStr | None = None
    standard_webhook_secret: SecretStr | None = None
    adobe_sign_client_ids: str | None = None
    adobe_sign_api_url: str | None = None
    adobe_sign_api_token: SecretStr | None = None
    # Confirmation fetches (Dropbox Sign, Adobe Sign) and the retry loop for events that could not be confirmed.
    webhook_confirm_timeout_seconds: float = Field(5.0, gt=0)
    webhook_retry_poll_seconds: float = Field(5.0, gt=0)
    webhook_retry_base_seconds: float = Field(30.0, gt=0)
    webhook_retry_max_seconds: float = Field(3600.0, gt=0)
    webhook_retry_max_attempts: int = Field(20, ge=1)
    # Zendesk write-back.
    zendesk_webhook_secret: SecretStr | None = None
    zendesk_api_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_external_system: str = "zendesk"
    outbox_max_backoff_seconds: float = 300.0
    # How often the outbox is polled for due retries (a new message is sent at once).
    outbox_poll_seconds: float = Field(1.0, gt=0)
    # Web page (/ui): signs the session cookie; unset = a random secret per process (sessions end on restart).
    ui_secret: SecretStr | None = None
    ui_session_hours: float = Field(8.0, gt=0)
    # The working calendar (code) of the default SLA of non-members; unset = 24/7 calendar time.
    default_calendar: str | None = None
    # Campaigns: how often the scheduler job looks for due first messages and reminders.
    scheduler_interval_seconds: float = Field(30.0, gt=0)
    # Signing links and mail (second release): the base of every link put in a mail.
    public_url: str = "http://127.0.0.1:8000"
    # smtp://user:pass@host:587?starttls=true or smtps://user:pass@host:465; unset = .eml files in mail_dir.
    smtp_url: SecretStr | None = None
    mail_from: str = "supportgate <supportgate@localhost>"
    mail_dir: str = "./mail"
    # First retry after a temporary SMTP failure; doubles up to an hour, given up after 3 days.
    mail_retry_base_seconds: float = Field(60.0, gt=0)
    # How often the job runner looks for due mail (the periodic job mail.deliver).
    mail_poll_seconds: float = Field(15.0, gt=0)
    # Stripe billing: the webhook endpoint answers 404 while its secret is unset; the sync needs the API key.
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_key: SecretStr | None = None
    stripe_api_url: str = "https://api.stripe.com"
    # The scheduled reconciliation that catches lost webhooks; 0 = off.
    billing_sync_interval_seconds: float = Field(86400.0, ge=0)
    # Background jobs (service/usecases/jobs.py): the runner inside `supportgate serve` unless turned off
    # (then run `supportgate worker`); how often an idle runner looks for due jobs; how long a claimed job
    # is leased (renewed while it runs; a killed worker's job is claimable again after it); retry backoff.
    jobs_embedded: bool = True
    job_poll_seconds: float = Field(1.0, gt=0)
    job_lease_seconds: float = Field(30.0, gt=0)
    job_retry_base_seconds: float = Field(2.0, gt=0)
    job_retry_max_seconds: float = Field(3600.0, gt=0)
    # POST /v1/clients/import answers at once up to this many rows; a bigger file becomes a job (202).
    import_sync_max_rows: int = Field(1000, ge=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
