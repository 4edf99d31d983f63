"""Server-side sessions (flask-session 0.8): the SQL store by default, Redis when
FERRY_REDIS_URL is set. The cookie holds only a random id.

Sign-in calls `regenerate_session()` after login (no fixation);
sign-out calls `destroy_session()`. An unknown id sent by a client is never adopted
(flask-session issues a fresh one). When the store is down, the request gets a 503 page
and no cookie; the next request after recovery works.
"""

from __future__ import annotations

import logging
import random
import secrets
from datetime import timedelta
from typing import cast

from flask import Flask, Response, current_app, g, request, session
from flask.sessions import SessionMixin
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from redis import Redis, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from app.db import utcnow
from app.errors import ServiceUnavailable
from app.extensions import db
from app.models import SessionRecord

log = logging.getLogger(__name__)
S = cast(Table, SessionRecord.__table__)  # a mapped class's table is a Table

COOKIE_NAME = "ferry_session"  # localglobus uses localglobus_session (same host in dev)
LIFETIME = timedelta(hours=12)  # sliding: every request of a signed-in user extends it
STORE_ERRORS = (SQLAlchemyError, RedisError, OSError)
UNAVAILABLE = "Ferry cannot reach its database right now. Please try again in a minute."


class _ResilientStore(ServerSideSessionInterface):
    """A session store that is down gives an empty session flagged `store_unavailable`
    (the request then shows a 503 page) instead of an exception before any handler."""

    def open_session(self, app: Flask, request) -> ServerSideSession:
        try:
            return super().open_session(app, request)
        except STORE_ERRORS as e:
            log.warning("session store unavailable: %s", type(e).__name__)
            fresh = self.session_class(
                sid=self._generate_sid(self.sid_length), permanent=self.permanent
            )
            fresh.store_unavailable = True
            return fresh

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if getattr(session, "store_unavailable", False):
            return
        try:
            super().save_session(app, session, response)
        except STORE_ERRORS as e:
            # Too late for the error page: say so rather than pretend the change stuck.
            log.error("session store failed while saving: %s", type(e).__name__)
            if not response.is_streamed:
                response.status_code = 503
                response.headers.pop("Location", None)
                response.set_data(UNAVAILABLE)
                response.mimetype = "text/plain"


class SqlSessionInterface(_ResilientStore):
    """Sessions in the `sessions` table, on the portal's own engine (flask-session's
    SQLAlchemy backend needs Flask-SQLAlchemy)."""

    ttl = True  # expired rows are skipped on read and swept now and then on write

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        with db.engine.connect() as conn:
            row = conn.execute(
                select(S.c.data, S.c.expiry).where(S.c.session_id == store_id)
            ).one_or_none()
        if row is None or row.expiry <= utcnow():
            return None
        return self.serializer.decode(row.data)

    def _delete_session(self, store_id: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(S).where(S.c.session_id == store_id))

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        if not session.modified:
            # Only slide the expiry: rewriting unchanged data would let a concurrent request
            # (a poll, another tab) overwrite what this one's sibling just stored, such as a
            # pending sign-in.
            with db.engine.begin() as conn:
                done = conn.execute(
                    update(S)
                    .where(S.c.session_id == store_id)
                    .values(expiry=utcnow() + session_lifetime)
                )
            if done.rowcount:
                return
        values = {"data": self.serializer.encode(session), "expiry": utcnow() + session_lifetime}
        with db.engine.begin() as conn:
            done = conn.execute(update(S).where(S.c.session_id == store_id).values(**values))
            if done.rowcount == 0:
                conn.execute(S.insert().values(session_id=store_id, **values))
        if random.random() < 0.01:
            self._delete_expired_sessions()

    def _delete_expired_sessions(self) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(S).where(S.c.expiry <= utcnow()))


class RedisStore(_ResilientStore, RedisSessionInterface):
    """Sessions in Redis (several hosts behind a load balancer)."""

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        # As in the SQL store: an unchanged session only has its expiry slid.
        if not session.modified and self.client.expire(
            store_id, int(session_lifetime.total_seconds())
        ):
            return
        super()._upsert_session(session_lifetime, session, store_id)


def init_app(app: Flask) -> None:
    """Install the session interface, the cookie settings and the 503 for a store that is down."""
    config = app.config
    config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"  # Strict would drop it on the OAuth callback
    config["SESSION_COOKIE_DOMAIN"] = None
    config["SESSION_COOKIE_SECURE"] = config["FERRY_ENV"] != "development" or config[
        "FERRY_BASE_URL"
    ].startswith("https://")
    config["PERMANENT_SESSION_LIFETIME"] = config.get("FERRY_SESSION_LIFETIME", LIFETIME)
    common = {"app": app, "permanent": True, "sid_length": 32}
    if config.get("FERRY_REDIS_URL"):
        # Short timeouts: a hung Redis must give a 503, not a hung worker.
        client = Redis.from_url(
            config["FERRY_REDIS_URL"], socket_timeout=3, socket_connect_timeout=3
        )
        app.session_interface = RedisStore(client=client, key_prefix="ferry:session:", **common)
    else:
        app.session_interface = SqlSessionInterface(key_prefix="", **common)
    app.before_request(_refuse_without_store)
    # Connection-level failures only: an IntegrityError stays a logged 500.
    for error in (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError):
        app.register_error_handler(error, _store_down)


def regenerate_session() -> None:
    """Sign-in: the same data under a new id; the old id is deleted (no fixation)."""
    _interface().regenerate(_server_side(session))


def destroy_session() -> None:
    """Sign-out: delete the server-side record now and expire the cookie on this response."""
    interface = _interface()
    current = _server_side(session)
    if current.sid:
        interface._delete_session(interface._get_store_id(current.sid))
    current.clear()
    # Nothing can revive the old id, even a request racing this one.
    current.sid = interface._generate_sid(interface.sid_length)
    current.modified = True


def _interface() -> ServerSideSessionInterface:
    interface = current_app.session_interface
    if not isinstance(interface, ServerSideSessionInterface):
        raise RuntimeError("app.sessions.init_app installs the session interface")
    return interface


def _server_side(current: SessionMixin) -> ServerSideSession:
    if not isinstance(current, ServerSideSession):
        raise RuntimeError("app.sessions.init_app installs server-side sessions")
    return current


def _refuse_without_store():
    if getattr(session, "store_unavailable", False) and request.endpoint not in (
        "static",
        "main.health",
    ):
        g.setdefault("request_id", secrets.token_hex(6))
        raise ServiceUnavailable(UNAVAILABLE)


def _store_down(error: Exception):
    """The SQL store or Redis is down in the middle of a request: 503, nothing lost."""
    reason = getattr(error, "orig", None) or error
    log.warning("store unavailable: %s: %s", type(reason).__name__, str(reason)[:200])
    return current_app.handle_user_exception(ServiceUnavailable(UNAVAILABLE))
