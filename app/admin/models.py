"""The audit log: one row per admin change made through the portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models import UTCDateTime

PENDING, OK, FAILED = "pending", "ok", "failed"

# Action names, as stored and as the audit page filters them.
ACTIONS = {
    "rule.add": "Access rule added",
    "rule.update": "Access rule changed",
    "rule.delete": "Access rule deleted",
    "role.grant": "Role granted",
    "role.revoke": "Role revoked",
    "task.admin_cancel": "Task canceled by admin",
}


class AuditEntry(Base):
    """Written `pending` before the call to Globus, finished (`ok` or `failed`) after it,
    so a change that Globus made is never missing from the log, even if the worker dies."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_collection_created", "collection_id", "created_at"),
        Index("ix_audit_log_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The row outlives the user row: the username and identity stay readable.
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    actor_sub: Mapped[str] = mapped_column(String(64))
    actor_username: Mapped[str] = mapped_column(String(255), index=True)
    collection_id: Mapped[str] = mapped_column(String(64))
    collection_name: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(512), default="")
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    result: Mapped[str] = mapped_column(String(16), default=PENDING)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def action_label(self) -> str:
        """The action as the audit page reads it."""
        return ACTIONS.get(self.action, self.action)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.result} by {self.actor_username!r}>"
