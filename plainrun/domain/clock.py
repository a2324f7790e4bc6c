"""The clock: aware UTC instants (the store keeps every timestamp in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
