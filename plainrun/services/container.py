"""Everything a process of plainrun needs, built once from the settings and passed around."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plainrun.domain.agents import SignInPolicy
from plainrun.domain.outbound import OutboundPolicy
from plainrun.domain.webhooks import Retry
from plainrun.errors import InvalidInput
from plainrun.language.limits import Limits
from plainrun.services.agents import AgentService
from plainrun.services.execution import ExecutionService
from plainrun.services.files import FileService
from plainrun.services.guidance import GuidanceService
from plainrun.services.installation import InstallationService
from plainrun.services.keys import KeyService
from plainrun.services.mail import MailService
from plainrun.services.overview import OverviewService
from plainrun.services.processes import ProcessService
from plainrun.services.routing import RoutingService
from plainrun.services.runs import RunService
from plainrun.services.schedules import ScheduleService
from plainrun.services.testsuite import TestSuiteService
from plainrun.services.users import UserService
from plainrun.services.webhooks import WebhookService
from plainrun.settings import Settings
from plainrun.store import Store, open_store
from plainrun.store.blobs import BlobPlace, BlobStorage, Kind, S3Place, open_blobs


@dataclass
class Services:
    settings: Settings
    store: Store
    blobs: BlobStorage
    #: The secret that signs page tokens, upload targets and UI sessions.
    secret: bytes
    agents: AgentService
    keys: KeyService
    users: UserService
    processes: ProcessService
    runs: RunService
    files: FileService
    guidance: GuidanceService
    tests: TestSuiteService
    mail: MailService
    schedules: ScheduleService
    execution: ExecutionService
    installation: InstallationService
    routing: RoutingService
    overview: OverviewService
    webhooks: WebhookService

    def healthy(self) -> bool:
        """Whether the database answers."""
        return self.store.ping()

    def close(self) -> None:
        self.store.dispose()


def store_for(settings: Settings) -> Store:
    """The store the settings name."""
    return open_store(
        settings.database_url, fast=settings.fast, sqlite_synchronous=settings.sqlite_synchronous
    )


def blob_place(settings: Settings, kind: Kind | None = None) -> BlobPlace:
    """Where the settings keep file contents (or would, in another storage ``kind``)."""
    kind = kind or settings.file_storage_kind
    s3 = None
    if kind == "s3":
        if settings.s3_bucket is None:
            raise InvalidInput("The s3 file storage needs a bucket (PLAINRUN_S3_BUCKET).")
        secret = settings.s3_secret_access_key
        s3 = S3Place(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    return BlobPlace(kind=kind, root=str(settings.data_dir / "files"), s3=s3)


def build_services(settings: Settings, *, store: Store | None = None, migrate: bool = False) -> Services:
    """Every service over the settings' store. ``migrate``: first bring the schema to the newest
    revision and check that this host's shared settings agree with the installation's (what a
    host that starts to serve does)."""
    store = store or store_for(settings)
    blobs = open_blobs(blob_place(settings), store)
    installation = InstallationService(store, settings, blobs)
    if migrate:
        store.create_schema()
        try:
            installation.check_agreement()
        except BaseException:
            store.dispose()
            raise
    secret = _secret(settings, store)
    agents = AgentService(store)
    processes = ProcessService(
        store,
        agents,
        secret=secret,
        max_source_bytes=settings.max_source_bytes,
        max_timeout_s=settings.max_run_timeout_s,
    )
    runs = RunService(
        store, processes, secret=secret, timeout_s=settings.run_timeout_s, max_attempts=settings.max_attempts
    )
    files = _files(settings, store, agents, blobs, secret)
    return Services(
        settings=settings,
        store=store,
        blobs=blobs,
        secret=secret,
        agents=agents,
        keys=KeyService(store, cache_s=settings.key_cache_s),
        users=_users(settings, store),
        processes=processes,
        runs=runs,
        files=files(settings.max_upload_bytes),
        guidance=GuidanceService(store, processes),
        tests=TestSuiteService(store, runs, secret=secret),
        # E-mail attachments are bounded by the e-mail's size.
        mail=_mail(settings, store, agents, processes, runs, files(settings.max_email_bytes)),
        schedules=ScheduleService(store, processes, runs, min_interval_s=settings.min_schedule_interval_s),
        execution=ExecutionService(store, settings, blob_place(settings)),
        installation=installation,
        routing=RoutingService(store, processes, settings),
        overview=OverviewService(store),
        webhooks=_webhooks(settings, store, processes, secret),
    )


def _mail(
    settings: Settings,
    store: Store,
    agents: AgentService,
    processes: ProcessService,
    runs: RunService,
    files: FileService,
) -> MailService:
    """The e-mail receiver's service, with the installation's bounds on messages."""
    return MailService(
        store,
        agents,
        processes,
        runs,
        files,
        domain=settings.mail_domain,
        max_bytes=settings.max_email_bytes,
        # A body is bounded by the text a run holds (and can never decode past the message's size).
        max_text_chars=min(settings.max_email_bytes, Limits().max_text_chars),
        max_hops=settings.max_mail_hops,
        per_minute=settings.mail_runs_per_minute,
    )


def _users(settings: Settings, store: Store) -> UserService:
    """Users, with the installation's bounds on failed sign-ins and on password hashes at once."""
    policy = SignInPolicy(lock_after=settings.sign_in_lock_after, lock_s=settings.sign_in_lock_s)
    return UserService(store, policy=policy, hash_slots=settings.sign_in_hash_slots)


def _webhooks(settings: Settings, store: Store, processes: ProcessService, secret: bytes) -> WebhookService:
    retry = Retry(
        first_s=settings.webhook_retry_first_s,
        max_s=settings.webhook_retry_max_s,
        for_s=settings.webhook_retry_for_s,
    )
    return WebhookService(
        store,
        processes,
        secret=secret,
        policy=OutboundPolicy.from_settings(settings),
        retry=retry,
        timeout_s=settings.webhook_timeout_s,
    )


def _secret(settings: Settings, store: Store) -> bytes:
    """What signs tokens: the setting, or else the installation's own secret."""
    if settings.secret_key:
        return settings.secret_key.get_secret_value().encode()
    return store.installation.secret()


def _files(
    settings: Settings, store: Store, agents: AgentService, blobs: BlobStorage, secret: bytes
) -> Callable[[int], FileService]:
    """A file service with a bound of its own (uploads, e-mail attachments)."""

    def files(max_bytes: int) -> FileService:
        return FileService(
            store,
            agents,
            blobs,
            secret=secret,
            base_url=settings.base_url,
            max_bytes=max_bytes,
            ttl_s=settings.upload_ttl_s,
            quota_bytes=settings.agent_quota_bytes,
        )

    return files
