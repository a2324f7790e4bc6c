"""The installation as a whole: settings every host must share, and whether this host is ready.

Hosts of one installation share only the database, so settings that decide what the data means
must agree between them: where file contents live (a host writing them to its own folder while
another reads the database loses files), the secret that signs page tokens, upload targets and UI
sessions, and the mail domain of processes' addresses. The first host to start records them; every
later one compares its own and refuses to start, naming each setting that differs.
``plainrun migrate --adopt-settings`` records a new set, for every host to follow.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from plainrun.errors import PlainrunError, StoreError
from plainrun.settings import Settings
from plainrun.store import Store
from plainrun.store.blobs import BlobStorage
from plainrun.store.migrate import head

_KEY = "agreed-settings"


class SettingsDisagree(PlainrunError):
    """This host's settings differ from the installation's."""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    #: Each check and what it found: ``ok`` or what is wrong.
    checks: dict[str, str]


def agreed(settings: Settings) -> dict[str, str]:
    """The settings every host must share, as text (the secret as a fingerprint, never itself)."""
    secret = settings.secret_key
    fingerprint = (
        hmac.new(secret.get_secret_value().encode(), b"plainrun settings", hashlib.sha256).hexdigest()[:16]
        if secret
        else "the installation's own"
    )
    return {
        "file_storage": settings.file_storage_kind,
        "s3_bucket": settings.s3_bucket or "",
        "s3_prefix": settings.s3_prefix if settings.file_storage_kind == "s3" else "",
        "s3_endpoint_url": settings.s3_endpoint_url or "",
        "mail_domain": settings.mail_domain,
        "secret_key": fingerprint,
    }


def _differs(here: str, there: str | None) -> str:
    return f"{here or '(unset)'} here, {there or '(unset)'} for the installation"


class InstallationService:
    def __init__(self, store: Store, settings: Settings, blobs: BlobStorage):
        self.store = store
        self.settings = settings
        self.blobs = blobs

    def check_agreement(self) -> None:
        """Record this host's shared settings if none are, else refuse ones that differ."""
        mine = agreed(self.settings)
        recorded = json.loads(self.store.installation.set_once(_KEY, json.dumps(mine, sort_keys=True)))
        differ = [(name, value) for name, value in mine.items() if recorded.get(name) != value]
        if differ:
            raise SettingsDisagree(
                "This host's settings differ from the installation's: set them as the other hosts have "
                "them, or record these for every host with `plainrun migrate --adopt-settings`.",
                details=[
                    (
                        f"PLAINRUN_{name.upper()}",
                        f"{value or '(unset)'} here, {recorded.get(name) or '(unset)'} for the installation",
                    )
                    for name, value in differ
                ],
            )

    def adopt_settings(self) -> None:
        """Record this host's shared settings as the installation's."""
        self.store.installation.set(_KEY, json.dumps(agreed(self.settings), sort_keys=True))

    def readiness(self) -> Readiness:
        """Whether this host can serve: the database answers at the newest schema, file contents
        can be reached, and its settings agree with the installation's."""
        checks: dict[str, str] = {}
        try:
            revision = self.store.revision()
            checks["database"] = "ok" if revision == head() else f"schema at {revision}, not {head()}"
        except StoreError:
            checks["database"] = "unavailable"
        try:
            self.blobs.check()
            checks["file_storage"] = "ok"
        except PlainrunError as exc:
            checks["file_storage"] = exc.message
        if checks["database"] == "ok":
            try:
                self.check_agreement()
                checks["settings"] = "ok"
            except SettingsDisagree as exc:
                checks["settings"] = "; ".join(f"{n}: {v}" for n, v in exc.details)
            except StoreError:
                checks["settings"] = "unknown (the database is unavailable)"
        return Readiness(ready=all(v == "ok" for v in checks.values()), checks=checks)
