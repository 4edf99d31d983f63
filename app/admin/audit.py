"""Writing and reading the audit log (app.admin.models.AuditEntry).

An entry is committed `pending` before the call to Globus and committed again, `ok` or
`failed`, after it: if the worker dies in between, the pending row still says who tried
what, and when.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.admin.models import FAILED, OK, PENDING, AuditEntry
from app.db import utcnow
from app.errors import GlobusUnavailable, PortalError
from app.extensions import db
from app.formatting import day_start
from app.globus.types import Collection
from app.inputs import PageLinks

PER_PAGE = 50


@contextmanager
def audited(
    actor, collection: Collection, action: str, target: str, before: dict | None
) -> Iterator[AuditEntry]:
    """Record `action` around the block that calls Globus. The block sets `entry.after`
    and `entry.request_id`; an exception marks the entry failed and goes on."""
    entry = AuditEntry(
        actor_user_id=actor.id,
        actor_sub=actor.sub,
        actor_username=actor.username,
        collection_id=collection.id,
        collection_name=collection.display_name[:255],
        action=action,
        target=target[:512],
        before=before,
        result=PENDING,
    )
    db.session.add(entry)
    db.session.commit()
    try:
        yield entry
    except Exception as error:
        db.session.rollback()
        entry.result = FAILED
        entry.error = _describe(error)
        entry.request_id = entry.request_id or getattr(error, "request_id", None)
        entry.finished_at = utcnow()
        db.session.add(entry)
        db.session.commit()
        raise
    entry.result = OK
    entry.finished_at = utcnow()
    db.session.commit()


def _describe(error: Exception) -> str:
    if isinstance(error, GlobusUnavailable):
        # A timeout leaves the outcome open: Globus may have made the change.
        return f"Outcome unknown: {error.message}"
    if isinstance(error, PortalError):
        return error.message[:2000]
    return f"{type(error).__name__}: the change was interrupted"


@dataclass
class AuditFilters:
    """What the audit page filters on; None means any."""

    collection_id: str | None = None
    action: str | None = None
    actor: str | None = None
    result: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass
class AuditPage(PageLinks):
    """One page of entries, newest first, with the total count."""

    entries: list[AuditEntry]
    page: int
    total: int

    @property
    def has_previous(self) -> bool:
        """A newer page exists."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """An older page exists."""
        return self.page * PER_PAGE < self.total


def list_entries(filters: AuditFilters, page: int = 1) -> AuditPage:
    """Entries matching `filters`, newest first, PER_PAGE at a time."""
    query = select(AuditEntry)
    if filters.collection_id:
        query = query.where(AuditEntry.collection_id == filters.collection_id)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.actor:
        query = query.where(func.lower(AuditEntry.actor_username) == filters.actor.lower())
    if filters.result:
        query = query.where(AuditEntry.result == filters.result)
    if filters.since:
        query = query.where(AuditEntry.created_at >= day_start(filters.since))
    if filters.until:
        query = query.where(AuditEntry.created_at < day_start(filters.until, days=1))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    rows = db.session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return AuditPage(entries=list(rows), page=page, total=total)
