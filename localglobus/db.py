"""The SQLite state of localglobus: one engine, one session factory, the declarative base."""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Base class of every localglobus table."""


def utcnow() -> datetime:
    """Timezone-aware now; SQLite stores it naive, so readers use `as_utc`."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to a naive datetime read back from SQLite."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def make_engine(path: Path) -> Engine:
    """An engine on the state file; WAL so the task engine's writes don't block readers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The state holds password hashes and token digests: readable by its owner only.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def schema_version() -> int:
    """A number that changes whenever a table or column changes (PRAGMA user_version)."""
    shape = sorted(
        f"{table.name}.{column.name}:{column.type}"
        for table in Base.metadata.tables.values()
        for column in table.columns
    )
    # 28 bits: user_version is a signed 32-bit integer.
    return int(hashlib.sha256("\n".join(shape).encode()).hexdigest()[:7], 16)


class Database:
    """The engine and session factory of one localglobus home."""

    def __init__(self, path: Path):
        self.path = path
        self.engine = make_engine(path)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create the tables. A state made by a localglobus with other tables (there are no
        migrations: the state is a development and test fixture) is moved aside and a new
        one started, so that `make run` after an upgrade works instead of failing on a
        missing column."""
        # Import every model module so its tables are registered on Base.metadata.
        from localglobus import models  # noqa: F401
        from localglobus.transfer import models as transfer_models  # noqa: F401

        version = schema_version()
        with self.engine.connect() as conn:
            stored = conn.execute(text("PRAGMA user_version")).scalar()
            has_tables = bool(inspect(conn).get_table_names())
        if has_tables and stored != version:
            self._move_aside()
        Base.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text(f"PRAGMA user_version = {version}"))

    def _move_aside(self) -> None:
        self.engine.dispose()
        aside = self.path.with_name(f"{self.path.name}.outdated-{utcnow():%Y%m%d%H%M%S}")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.rename(aside.with_name(aside.name + suffix))
        print(
            f"localglobus: {self.path} was made by another version of localglobus; "
            f"moved to {aside}, starting a new state (run `localglobus demo` for the demo data)",
            file=sys.stderr,
        )
        self.engine = make_engine(self.path)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
