"""Settings: read once from environment variables prefixed ``PLAINRUN_`` and passed in.

Nothing here is a module-level instance; ``Settings()`` is built by the CLI (or a test) and handed to
``create_app``, the worker and the stores. Secrets are masked in ``repr``.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAINRUN_", extra="ignore", frozen=True)

    #: SQLAlchemy URL: ``sqlite:///path/plainrun.db`` (default, embedded) or
    #: ``postgresql+psycopg://user@host:5432/db`` (scale-out).
    database_url: str = "sqlite:///var/plainrun.db"
    #: SQLite's durability: NORMAL (a killed process loses nothing; a power loss may roll back the
    #: last commits) or FULL (every commit waits for fsync, so it also survives a power loss, at
    #: about 1.5 ms per commit on an ordinary disk).
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "NORMAL"
    #: The speed devices (docs/architecture.md, "Speed devices"): statements on the driver's
    #: cursor, calls on the event loop, the API's fast routes. ``false`` runs the general paths.
    fast: bool = True
    #: Where uploaded and produced files live (the local file storage).
    data_dir: Path = Path("var")
    #: Where file contents live: ``database`` (every host reads them; the default on PostgreSQL),
    #: ``s3`` (an S3-compatible object store, the ``s3_*`` settings), or ``local`` (``data_dir``; the
    #: default on SQLite, one machine). ``auto`` picks the default.
    file_storage: Literal["auto", "local", "database", "s3"] = "auto"
    s3_bucket: str | None = None
    #: Put before each file id to make its object's key.
    s3_prefix: str = "plainrun/files/"
    #: Another S3-compatible service (MinIO, Ceph, …); unset: AWS.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    #: The URL clients use to reach this service (upload targets are built from it).
    public_url: str | None = None
    #: A secret for signing continuation and upload tokens. When unset, the installation's own
    #: secret (made by ``plainrun migrate`` and kept in the database) is used, which every server of
    #: one installation shares.
    secret_key: SecretStr | None = None

    #: Largest JSON request body, in bytes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Largest uploaded file, in bytes.
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    #: Largest process source, in bytes.
    max_source_bytes: int = Field(default=256 * 1024, ge=1024)
    #: How long an upload target stays valid, in seconds.
    upload_ttl_s: int = Field(default=3600, ge=1)
    #: How long a validated API key is remembered before it is looked up again (revocation delay
    #: across servers; revoking through this server takes effect at once).
    key_cache_s: float = Field(default=2.0, ge=0)

    #: Default maximum execution time of a run, in seconds.
    run_timeout_s: float = Field(default=300.0, gt=0)
    #: The longest maximum execution time a process may set (``timeout_s``), in seconds.
    max_run_timeout_s: float = Field(default=24 * 3600.0, gt=0, le=30 * 24 * 3600.0)
    #: How many times a run is attempted when its worker is lost before it fails.
    max_attempts: int = Field(default=3, ge=1, le=100)
    #: The bytes of files one attempt of a run may write, together.
    max_run_file_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    #: The bytes of files (uploaded, received by e-mail, written by runs) one agent may keep.
    agent_quota_bytes: int = Field(default=10 * 1024**3, ge=1024)

    #: Networks the HTTP book may reach although they are loopback, private, link-local or
    #: otherwise not public: comma-separated addresses or CIDR networks (``10.1.0.0/16,::1``).
    outbound_allow: str = ""
    #: A request of the HTTP book: its time in all (a process may ask for less or more, up to
    #: ``outbound_max_timeout_s``), the time to connect, the largest response, the redirects followed.
    outbound_timeout_s: float = Field(default=30.0, gt=0)
    outbound_max_timeout_s: float = Field(default=300.0, gt=0, le=3600.0)
    outbound_connect_timeout_s: float = Field(default=10.0, gt=0)
    outbound_max_response_bytes: int = Field(default=10_000_000, ge=1024)
    outbound_max_redirects: int = Field(default=5, ge=0, le=20)

    #: A schedule fires at most once every this many seconds; under 60 a cron may have a seconds field.
    min_schedule_interval_s: int = Field(default=60, ge=1, le=24 * 3600)

    #: Webhooks (docs/webhooks.md): whether this host's workers deliver them; how long one try may
    #: take; the pause after a first failed try (doubling after each next one, up to
    #: ``webhook_retry_max_s``); for how long after its event a delivery is tried before it is
    #: Failed; how often an idle deliverer looks for due deliveries. Their targets obey
    #: ``outbound_allow`` like the HTTP book's, and no redirect is followed.
    webhook_delivery: bool = True
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=300.0)
    webhook_retry_first_s: float = Field(default=5.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    webhook_retry_for_s: float = Field(default=24 * 3600.0, gt=0)
    webhook_poll_s: float = Field(default=1.0, gt=0, le=60.0)

    #: Where the e-mail book sends mail.
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "plainrun@localhost"
    #: The domain of the processes' own addresses (``p-<token>@<mail_domain>``).
    mail_domain: str = "plainrun.localhost"
    #: Where the SMTP receiver (``plainrun serve``, ``plainrun smtp``) listens.
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = Field(default=2525, ge=0, le=65535)
    #: Largest e-mail accepted, in bytes (larger ones are refused with 552).
    max_email_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    #: A message that has passed through this many processes' mail already is a loop (554 5.4.6).
    max_mail_hops: int = Field(default=5, ge=1, le=100)
    #: At most this many runs started by e-mail per process and minute (more wait: 451 4.7.0).
    mail_runs_per_minute: int = Field(default=60, ge=1)

    #: The longest request head (request line and headers), in bytes, and the most header lines.
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=16 * 1024 * 1024)
    max_headers: int = Field(default=100, ge=16, le=10_000)
    #: Whether /metrics is open to anyone; unset: open only when ``host`` is a loopback address,
    #: else it needs an installation-wide API key.
    metrics_open: bool | None = None

    #: Sign-in: after this many failures in a row a user (or, at five times as many, an address)
    #: is locked for ``sign_in_lock_s`` seconds; before that each failure past the third doubles
    #: the wait before the next try. ``sign_in_hash_slots`` password hashes run at once.
    sign_in_lock_after: int = Field(default=10, ge=3, le=1000)
    sign_in_lock_s: float = Field(default=900.0, ge=1, le=7 * 24 * 3600.0)
    sign_in_hash_slots: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _bounds_agree(self) -> Settings:
        """Defaults within their maxima: a setting that could never take effect fails at start-up."""
        pairs = [
            ("run_timeout_s", "max_run_timeout_s"),
            ("outbound_timeout_s", "outbound_max_timeout_s"),
            ("outbound_connect_timeout_s", "outbound_max_timeout_s"),
        ]
        for low, high in pairs:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} may not be more than {high}")
        return self

    @field_validator("outbound_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        allowed_networks(value)  # raises ValueError for an entry that is not an address or network
        return value

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql")):
            raise ValueError("database_url must be a sqlite:///path or postgresql:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def file_storage_kind(self) -> Literal["local", "database", "s3"]:
        """The file storage in use (``auto`` resolved)."""
        if self.file_storage != "auto":
            return self.file_storage
        return "local" if self.is_sqlite else "database"

    @model_validator(mode="after")
    def _s3_named(self) -> Settings:
        if self.file_storage == "s3" and not self.s3_bucket:
            raise ValueError("file_storage s3 needs s3_bucket (PLAINRUN_S3_BUCKET)")
        return self

    @property
    def outbound_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return allowed_networks(self.outbound_allow)

    @property
    def metrics_need_key(self) -> bool:
        if self.metrics_open is not None:
            return not self.metrics_open
        return not _is_loopback(self.host)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class RemoteSettings(BaseSettings):
    """Where the command line's everyday commands go when not to the database: ``PLAINRUN_URL``
    (a service's base URL) and ``PLAINRUN_KEY`` (its API key); ``PLAINRUN_PROFILE`` names the file
    ``plainrun login`` writes (default: ``profile.json`` in the user's configuration directory)."""

    model_config = SettingsConfigDict(env_prefix="PLAINRUN_", extra="ignore", frozen=True)

    url: str | None = None
    key: SecretStr | None = None
    profile: Path | None = None


def allowed_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``outbound_allow`` as networks: comma-separated addresses or CIDR networks."""
    return tuple(ip_network(entry.strip(), strict=False) for entry in value.split(",") if entry.strip())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
