"""The portal's tables: users, their Globus tokens (encrypted) and server-side sessions.

Only `app.globus.tokens` reads or writes `OAuthToken` rows; only `app.sessions` touches
`SessionRecord` rows.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import app
from app.db import Base, utcnow
from app.formatting import as_utc


def import_all_models() -> None:
    """Import this module and every `app/<area>/models.py`, so that Base.metadata holds
    every table (Alembic's autogenerate and the models-match-migrations test need it)."""
    for models_file in sorted(Path(app.__file__).parent.glob("*/models.py")):
        importlib.import_module(f"app.{models_file.parent.name}.models")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value)

    def process_result_value(self, value, dialect):
        return as_utc(value)


class User(Base):
    """A person who signed in; keyed on the Globus identity id (`sub`), never on email."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    identity_set: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class OAuthToken(Base):
    """One user's tokens for one resource server, encrypted (app.globus.crypto).

    `version` grows with every change of the token, so a refresh can compare-and-swap;
    `refreshing_until` is the lease of the one worker allowed to call Globus Auth.
    """

    __tablename__ = "oauth_tokens"
    __table_args__ = (UniqueConstraint("user_id", "resource_server"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    resource_server: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(Text, default="")
    access_token_enc: Mapped[str] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        # Never the tokens, not even encrypted (docs/security.md: Tokens at rest).
        return (
            f"<OAuthToken user={self.user_id} rs={self.resource_server!r} "
            f"v{self.version} expires={self.expires_at}>"
        )


class SessionRecord(Base):
    """A server-side session (app.sessions); the cookie holds only `session_id`."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:
        return f"<SessionRecord {self.id} expires={self.expiry}>"
