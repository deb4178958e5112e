"""All settings, from ``SLIMLINE_*`` environment variables. Bad values fail at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "slimline"


class SettingsError(RuntimeError):
    """Raised at start-up when a setting is invalid; the message names the variable."""


class Settings(BaseSettings):
    """Slimline's settings. Empty means the embedded default: SQLite, SQLite broker, local blobs."""

    model_config = SettingsConfigDict(env_prefix="SLIMLINE_", extra="ignore", validate_default=True)

    data_dir: Path = Field(default_factory=_default_data_dir, description="Home of the embedded default.")
    database_url: str = Field("", description="sqlite:///… or postgresql+psycopg://…; empty = SQLite in data_dir.")
    broker_url: str = Field("", description="redis://…, amqp://…, sqla+sqlite:///…; empty = SQLite in data_dir.")
    storage_url: str = Field("", description="file:///dir or s3://bucket/prefix; empty = data_dir/blobs.")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, Ceph…); unset = AWS.")
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_presign_expiry_s: int = Field(900, ge=60, le=7 * 24 * 3600)
    s3_multipart_chunk_bytes: int = Field(16 * 1024**2, ge=5 * 1024**2)
    encryption_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes: seal every blob at rest with a per-tenant data key wrapped by it.",
    )
    encryption_key_previous: SecretStr | None = Field(
        None,
        description="While rotating SLIMLINE_ENCRYPTION_KEY: the old key, still accepted to unwrap tenant keys "
        "until `slimline keys rewrap` has re-wrapped them all with the new one.",
    )
    tmp_dir: Path | None = Field(None, description="Where uploads are staged; default data_dir/tmp.")

    max_upload_bytes: int = Field(512 * 1024**2, gt=0)
    max_dataset_uncompressed_bytes: int = Field(2 * 1024**3, gt=0)
    max_model_bytes: int = Field(
        20 * 1024**3,
        gt=0,
        description="A model with its external data (the archive's members together, or a chunked upload's "
        "total); one request body is still capped by max_upload_bytes.",
    )
    chunked_upload_expiry_s: float = Field(
        24 * 3600.0, gt=0, description="An incomplete chunked upload expires this long after its last part."
    )
    chunked_upload_max_part_bytes: int = Field(256 * 1024**2, ge=5 * 1024**2, description="Largest part.")
    external_data_threshold_bytes: int = Field(
        1900 * 1024**2,
        gt=0,
        description="The engine saves a model above this size with external data (protobuf caps one file at 2 GB); "
        "the engine reads it from the environment (worker/engine/modelio.py), so set it as a variable.",
    )
    max_json_body_bytes: int = Field(1024**2, gt=0)

    job_heartbeat_s: float = Field(5.0, gt=0)
    job_stale_after_s: float = Field(60.0, gt=0)
    job_max_attempts: int = Field(3, ge=1, le=100)
    job_soft_time_limit_s: int = Field(3600, gt=0)
    job_hard_time_limit_s: int = Field(3900, gt=0)
    reaper_interval_s: float = Field(5.0, gt=0)
    worker_heartbeat_s: float = Field(10.0, gt=0, description="How often a worker process beats in the registry.")
    worker_lost_after_s: float = Field(
        60.0, gt=0, description="A worker silent this long is `lost`; its running jobs are redelivered."
    )
    enqueue_grace_s: float = Field(
        10.0, gt=0, description="A queued job never handed to the broker is re-sent after this."
    )

    webhook_allow_private: bool = Field(False, description="Allow webhook URLs on private/loopback networks.")
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_backoff_s: float = Field(2.0, gt=0, description="First retry delay; doubles per attempt.")
    webhook_timeout_s: float = Field(10.0, gt=0)

    tenant_jobs_per_minute: int = Field(120, ge=1, description="Job creations per tenant per minute (429 above).")
    tenant_uploads_per_minute: int = Field(60, ge=1, description="Uploads per tenant per minute (429 above).")
    tenant_max_active_jobs: int = Field(50, ge=1, description="Queued + running jobs per tenant.")
    tenant_max_stored_bytes: int = Field(100 * 1024**3, ge=1, description="Models + datasets + artifacts per tenant.")
    tenant_max_concurrent_uploads: int = Field(
        4, ge=1, description="Uploads one tenant may stream at once (429 above): stalled sockets cost only their own."
    )
    body_read_timeout_s: float = Field(
        30.0, gt=0, description="An upload whose client sends nothing for this long is dropped (408)."
    )
    db_pool_timeout_s: float = Field(
        5.0, gt=0, description="Wait for a database connection at most this long, then answer 503 with Retry-After."
    )
    api_key_cache_s: float = Field(
        5.0,
        ge=0,
        le=300,
        description="How long a verified API key is trusted without a database read; a revoked "
        "or expired key stops working within this time.",
    )
    job_poll_fast_path: bool = Field(
        True,
        description="Answer GET /v1/jobs/{id} ahead of the routing when its key and job snapshot are cached "
        "(the same response, cheaper); off: every poll takes the route.",
    )
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token for GET /metrics. Unset: /metrics is off unless SLIMLINE_METRICS_PUBLIC=true."
    )
    metrics_public: bool = Field(False, description="Serve /metrics without a token (only on a private listener).")

    job_memory_limit_bytes: int | None = Field(
        None,
        ge=64 * 1024**2,
        description="Memory one job may use (its own child process); unset = the worker's memory divided by its "
        "concurrency, less a reserve for the worker itself.",
    )

    engine_threads: int | None = Field(None, ge=1, le=256, description="onnxruntime intra-op threads.")
    engine_latency_budget_s: float = Field(
        1.5,
        gt=0.0,
        le=60.0,
        description="Seconds of interleaved timing per comparison (the final one takes twice as long): more "
        "gives tighter speedup intervals on a noisy machine, less gives faster jobs.",
    )
    bootstrap_api_key: SecretStr | None = None
    default_tenant: str = Field("default", min_length=1, max_length=64)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    auto_upgrade: bool | None = Field(None, description="Run migrations at start; default: only for SQLite.")

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: str) -> str:
        allowed = ("redis://", "rediss://", "amqp://", "pyamqp://", "sqla+sqlite://", "filesystem://", "memory://")
        if value and not value.startswith(allowed):
            raise ValueError(f"must start with one of {', '.join(allowed)}")
        return value

    @field_validator("storage_url")
    @classmethod
    def _storage_scheme(cls, value: str) -> str:
        if value and not value.startswith(("file://", "s3://")):
            raise ValueError("must be file:///absolute/dir or s3://bucket[/prefix]")
        if value.startswith("s3://") and not value.removeprefix("s3://").split("/", 1)[0]:
            raise ValueError("s3:// URL needs a bucket name")
        return value

    @field_validator("encryption_key", "encryption_key_previous")
    @classmethod
    def _encryption_key_valid(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # set but empty (compose's ${VAR:-}): encryption off
        if value is not None:
            from app.core.crypto import parse_master_key

            parse_master_key(value.get_secret_value())
        return value

    @field_validator("bootstrap_api_key")
    @classmethod
    def _bootstrap_key_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError(
                "must be at least 24 characters (use `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.job_hard_time_limit_s <= self.job_soft_time_limit_s:
            raise ValueError("SLIMLINE_JOB_HARD_TIME_LIMIT_S must be greater than SLIMLINE_JOB_SOFT_TIME_LIMIT_S")
        if self.encryption_key_previous is not None and self.encryption_key is None:
            raise ValueError("SLIMLINE_ENCRYPTION_KEY_PREVIOUS needs SLIMLINE_ENCRYPTION_KEY (the new key)")
        if self.job_stale_after_s < 2 * self.job_heartbeat_s:
            raise ValueError("SLIMLINE_JOB_STALE_AFTER_S must be at least twice SLIMLINE_JOB_HEARTBEAT_S")
        if self.worker_lost_after_s < 2 * self.worker_heartbeat_s:
            raise ValueError("SLIMLINE_WORKER_LOST_AFTER_S must be at least twice SLIMLINE_WORKER_HEARTBEAT_S")
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'slimline.db'}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{self.data_dir / 'broker.db'}"
        if not self.storage_url:
            self.storage_url = (self.data_dir / "blobs").as_uri()
        if self.tmp_dir is None:
            self.tmp_dir = self.data_dir / "tmp"
        return self

    @property
    def master_keys(self) -> tuple[bytes | None, bytes | None]:
        """The blob-encryption master keys, decoded: (current, previous); None where unset."""
        from app.core.crypto import parse_master_key

        current, previous = self.encryption_key, self.encryption_key_previous
        return (
            None if current is None else parse_master_key(current.get_secret_value()),
            None if previous is None else parse_master_key(previous.get_secret_value()),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_upgrade(self) -> bool:
        return self.is_sqlite if self.auto_upgrade is None else self.auto_upgrade

    @property
    def storage_dir(self) -> Path:
        return Path(self.storage_url.removeprefix("file://"))

    @property
    def staging_dir(self) -> Path:
        assert self.tmp_dir is not None
        return self.tmp_dir


def load_settings() -> Settings:
    """Read settings from the environment; raise SettingsError with every bad variable named."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = "SLIMLINE_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else "settings"
            lines.append(f"  {where}: {err['msg']}")
        raise SettingsError("invalid Slimline settings:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
