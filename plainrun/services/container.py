"""Everything a process of plainrun needs, built once from the settings and passed around."""

from __future__ import annotations

from dataclasses import dataclass

from plainrun.blobs import BlobStorage, LocalBlobStorage
from plainrun.services.files import FileService
from plainrun.services.guidance import GuidanceService
from plainrun.services.keys import KeyService
from plainrun.services.mail import MailService
from plainrun.services.processes import ProcessService
from plainrun.services.runs import RunService
from plainrun.services.schedules import ScheduleService
from plainrun.services.testsuite import TestSuiteService
from plainrun.settings import Settings
from plainrun.store import open_store
from plainrun.store.sql import SqlStore


@dataclass
class Services:
    settings: Settings
    store: SqlStore
    blobs: BlobStorage
    keys: KeyService
    processes: ProcessService
    runs: RunService
    files: FileService
    guidance: GuidanceService
    tests: TestSuiteService
    mail: MailService
    schedules: ScheduleService

    def close(self) -> None:
        self.store.dispose()


def build_services(settings: Settings, *, store: SqlStore | None = None, migrate: bool = False) -> Services:
    store = store or open_store(settings.database_url)
    if migrate:
        store.create_schema()
    secret = (
        settings.secret_key.get_secret_value().encode()
        if settings.secret_key
        else store.installation_secret()
    )
    blobs = LocalBlobStorage(settings.data_dir / "files")
    processes = ProcessService(store, max_source_bytes=settings.max_source_bytes)
    runs = RunService(
        store, processes, secret=secret, timeout_s=settings.run_timeout_s, max_attempts=settings.max_attempts
    )
    return Services(
        settings=settings,
        store=store,
        blobs=blobs,
        keys=KeyService(store, cache_s=settings.key_cache_s),
        processes=processes,
        runs=runs,
        files=FileService(
            store,
            blobs,
            secret=secret,
            base_url=settings.base_url,
            max_bytes=settings.max_upload_bytes,
            ttl_s=settings.upload_ttl_s,
        ),
        guidance=GuidanceService(store, processes),
        tests=TestSuiteService(store, runs),
        mail=MailService.build(settings, store, processes, runs, blobs, secret=secret),
        schedules=ScheduleService(store, processes, runs),
    )
