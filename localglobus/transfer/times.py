"""The time formats of the Transfer API, and how SQLite stores a UTC time."""

from __future__ import annotations

from datetime import UTC, datetime

from localglobus.db import as_utc
from localglobus.errors import bad_request


def iso(value: datetime | None) -> str | None:
    """Task and rule times: "2021-09-02T18:04:47+00:00"."""
    if value is None:
        return None
    return as_utc(value).replace(microsecond=0).isoformat()


def ls_time(timestamp: float) -> str:
    """File times in ls/stat: "2021-01-15 01:45:50+00:00" (a space, no T)."""
    return datetime.fromtimestamp(int(timestamp), UTC).isoformat(sep=" ")


def parse_time(text, what: str = "time") -> datetime:
    """An ISO 8601 time or "YYYY-MM-DD HH:MM:SS" (UTC unless an offset is given)."""
    if not isinstance(text, str) or not text.strip():
        raise bad_request(f"Invalid {what}: {text!r}")
    raw = text.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"Invalid {what}: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def naive(value: datetime) -> datetime:
    """How SQLite stores a UTC time."""
    return as_utc(value).replace(tzinfo=None)
