"""The portal's SQL store: one engine per app, a scoped session per request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker


class Base(DeclarativeBase):
    """Base class of every portal table."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine for FERRY_DATABASE_URL; SQLite gets WAL so readers don't wait on writers."""
    kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """`db.session` is this thread's session, bound to the current app's engine;
    services call `db.session.commit()` once per use case."""

    def __init__(self):
        # Bound per app (tests run several apps in one process), scoped per thread.
        self.session: scoped_session[Session] = scoped_session(_AppSessions(self))

    def init_app(self, app: Flask) -> None:
        app.extensions["ferry_db_engine"] = make_engine(app.config["FERRY_DATABASE_URL"])
        app.teardown_appcontext(lambda _exc: self.session.remove())

    @property
    def engine(self) -> Engine:
        return current_app.extensions["ferry_db_engine"]


class _AppSessions(sessionmaker[Session]):
    """New sessions bound to the engine of the app in use when they are made."""

    def __init__(self, database: Database):
        super().__init__(expire_on_commit=False)
        self.database = database

    def __call__(self, **local_kw: Any) -> Session:
        local_kw.setdefault("bind", self.database.engine)
        return super().__call__(**local_kw)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
