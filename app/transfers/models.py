"""The `submissions` table: every transfer or delete the portal submits, written before
the POST (docs/security.md, Reliability: write-ahead submissions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models import UTCDateTime

PENDING = "pending"
SUBMITTED = "submitted"
FAILED = "failed"


class Submission(Base):
    """One task submission: its submission_id and full document are stored (and
    committed) before the POST; task_id and status record the outcome. A retry, a
    double click or a resume after consent sends the same document again, so Globus
    answers with the same task."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    submission_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "transfer" | "delete"
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Submission {self.submission_id} {self.kind} {self.status} task={self.task_id}>"

    @property
    def is_pending(self) -> bool:
        return self.status == PENDING

    @property
    def is_submitted(self) -> bool:
        return self.status == SUBMITTED

    @property
    def label(self) -> str | None:
        return self.document.get("label")

    @property
    def paths(self) -> list[tuple[str, str | None]]:
        """(source, destination) pairs for a transfer; (path, None) for a delete."""
        items = self.document.get("DATA", [])
        if self.kind == "transfer":
            return [(i.get("source_path", ""), i.get("destination_path")) for i in items]
        return [(i.get("path", ""), None) for i in items]
