"""How the portal shows times, sizes and counts (Jinja filters), and its date helpers.

Times are UTC everywhere: a time without a zone (an old Globus document, a form's
datetime-local field) is read as UTC, and every time shown says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, overload

from flask import Flask
from markupsafe import Markup, escape

MINUTES = "%Y-%m-%d %H:%M UTC"
SECONDS = "%Y-%m-%d %H:%M:%S UTC"


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """`value` with its zone, UTC when it has none (SQLite hands back naive datetimes;
    every stored time is UTC); None stays None."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """A Globus time: ISO 8601 with a T and an offset or 'Z' (tasks), or with a space
    ("2021-01-15 01:45:50+00:00", ls and older documents); None when it is not one."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return as_utc(parsed)


def day_start(day: date | None, *, days: int = 0) -> datetime | None:
    """Midnight UTC at the start of `day` (+ `days`): a date filter's bound."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days), time.min, tzinfo=UTC)


def human_size(size: int | float | None) -> str:
    """1 Byte, 999 Bytes, 1.5 kB, 8.4 MB ... (powers of 1000); '—' when unknown."""
    if size is None:
        return "—"
    size = int(size)
    if size < 1000:
        return f"{size} Byte{'s' if size != 1 else ''}"
    units = ("kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    value, index = size / 1000, 0
    while value >= 1000 and index < len(units) - 1:
        value, index = value / 1000, index + 1
    return f"{value:.1f} {units[index]}"


def count(value: int | None) -> str:
    """12,345; '—' when unknown."""
    return "—" if value is None else f"{value:,}"


def when_text(value: datetime | None, *, seconds: bool = False) -> str:
    """'2024-05-01 12:30 UTC' (with `seconds`, '…12:30:05 UTC'); '' for None."""
    moment = as_utc(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime(SECONDS if seconds else MINUTES)


def when(value: datetime | None, *, seconds: bool = False, empty: str = "—") -> Markup:
    """A <time> element: machine-readable with its zone, and readable in UTC."""
    moment = as_utc(value)
    if moment is None:
        return escape(empty)
    # A constant template; format() escapes both values.
    return Markup('<time datetime="{}">{}</time>').format(  # noqa: S704
        moment.isoformat(), when_text(moment, seconds=seconds)
    )


def init_app(app: Flask) -> None:
    """The filters templates use: `when`, `when_text`, `size`, `count`."""
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["when_text"] = when_text
    app.jinja_env.filters["size"] = human_size
    app.jinja_env.filters["count"] = count
