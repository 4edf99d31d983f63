"""Single-flight refresh of one stored token (used by app.globus.tokens only).

In a process, one thread per (engine, user, resource server) holds a lock. Across
processes, the worker that claims the row's refresh lease, a conditional UPDATE on
`version` and `refreshing_until` (SELECT ... FOR UPDATE does nothing on SQLite; this works
on SQLite and PostgreSQL alike), is the only one to call Globus Auth; the others poll
until `version` moves. Globus rotates refresh tokens, so a second refresh with the same
refresh token would sign the user out.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from datetime import UTC, datetime, timedelta
from typing import cast

import globus_sdk
import requests
from sqlalchemy import Row, Table, delete, or_, select, update

from app.db import utcnow
from app.errors import GlobusUnavailable, LoginRequired, TokenDecryptError
from app.extensions import db
from app.formatting import as_utc
from app.globus.crypto import aad, keyring
from app.models import OAuthToken

log = logging.getLogger(__name__)
T = cast(Table, OAuthToken.__table__)  # a mapped class's table is a Table

# globus-sdk also treats a token as expired 60 s early (docs/globus-api.md 0.4).
EXPIRY_MARGIN = timedelta(seconds=60)
# Longer than one refresh call can take (10 s timeout, 2 retries); a crashed holder's
# lease simply runs out.
LEASE = timedelta(seconds=45)
# How long a request waits for another worker's refresh before showing "try again".
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05
UNAVAILABLE = "Globus is unavailable, try again"
SIGN_IN_AGAIN = "Your Globus sign-in has expired. Please sign in again."


class _Flight:
    """The lock of one (engine, user, resource server); weakly kept, so it goes away."""

    __slots__ = ("lock", "__weakref__")

    def __init__(self):
        self.lock = threading.Lock()


_flights: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_flights_guard = threading.Lock()


def _flight(user_id: int, resource_server: str) -> _Flight:
    key = (id(db.engine), user_id, resource_server)
    with _flights_guard:
        flight = _flights.get(key)
        if flight is None:
            flight = _flights[key] = _Flight()
        return flight


def refresh(seen: Row, *, force: bool) -> str:
    """Single-flight refresh of the row last seen as `seen`; `force` refreshes even a
    token that has not expired (an API rejected it)."""
    flight = _flight(seen.user_id, seen.resource_server)
    if not flight.lock.acquire(timeout=WAIT_SECONDS):
        raise GlobusUnavailable(UNAVAILABLE)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            row = read_row(seen.user_id, seen.resource_server)
            if row is None:
                raise LoginRequired(SIGN_IN_AGAIN)
            # Someone else refreshed (or the user signed in again) since we looked.
            if row.version != seen.version or not (force or expiring(row)):
                return decrypt_required(row, "access_token")
            if row.refresh_token_enc is None:
                raise LoginRequired(SIGN_IN_AGAIN)
            if _claim_lease(row):
                token = _refresh_holding_lease(row)
                if token is not None:
                    return token
                # None: the row changed under us, so its new version ends the loop.
            elif time.monotonic() > deadline:
                raise GlobusUnavailable(UNAVAILABLE)
            else:
                time.sleep(POLL_SECONDS)
    finally:
        flight.lock.release()


def _claim_lease(row: Row) -> bool:
    now = utcnow()
    with db.engine.begin() as conn:
        claimed = conn.execute(
            update(T)
            .where(
                T.c.id == row.id,
                T.c.version == row.version,
                or_(T.c.refreshing_until.is_(None), T.c.refreshing_until < now),
            )
            .values(refreshing_until=now + LEASE)
        )
        return claimed.rowcount == 1


def _release_lease(row: Row) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            update(T)
            .where(T.c.id == row.id, T.c.version == row.version)
            .values(refreshing_until=None)
        )


def _refresh_holding_lease(row: Row) -> str | None:
    """Call Globus Auth and store its answer. None: the row changed meanwhile, look again."""
    from app.globus.client import auth_app_client

    refresh_token = decrypt_required(row, "refresh_token")
    try:
        response = auth_app_client().oauth2_refresh_token(refresh_token)
        token = response.by_resource_server[row.resource_server]
    except globus_sdk.GlobusAPIError as e:
        if _is_invalid_grant(e):
            if _forget_if_unchanged(row, refresh_token):
                log.info(
                    "refresh token of user %s for %s was refused", row.user_id, row.resource_server
                )
                raise LoginRequired(SIGN_IN_AGAIN) from None
            return None
        _release_lease(row)
        log.warning("Globus Auth refused a refresh: HTTP %s %s", e.http_status, e.code)
        raise GlobusUnavailable(UNAVAILABLE) from None
    except (globus_sdk.NetworkError, requests.RequestException, KeyError) as e:
        _release_lease(row)
        log.warning("refresh failed: %s", type(e).__name__)
        raise GlobusUnavailable(UNAVAILABLE) from None
    except BaseException:
        _release_lease(row)
        raise
    ring = keyring()
    uid, rs = row.user_id, row.resource_server
    values = {
        "access_token_enc": ring.encrypt(token["access_token"], aad(uid, rs, "access_token")),
        "expires_at": datetime.fromtimestamp(int(token["expires_at_seconds"]), UTC),
        "scopes": token.get("scope") or row.scopes,
        "version": row.version + 1,
        "refreshing_until": None,
    }
    # Globus may rotate the refresh token: the old one is dead once the new one exists.
    if token.get("refresh_token"):
        values["refresh_token_enc"] = ring.encrypt(
            token["refresh_token"], aad(uid, rs, "refresh_token")
        )
    with db.engine.begin() as conn:
        stored = conn.execute(
            update(T).where(T.c.id == row.id, T.c.version == row.version).values(**values)
        )
    if stored.rowcount != 1:
        log.warning("token of user %s for %s changed during its refresh", uid, rs)
        return None
    log.info("refreshed the %s token of user %s", rs, uid)
    return token["access_token"]


def _forget_if_unchanged(row: Row, used_refresh_token: str) -> bool:
    """Delete the row only if it still holds the refused refresh token (a new sign-in or
    another refresh may have replaced it). True when the user must sign in again."""
    with db.engine.begin() as conn:
        current = conn.execute(select(T).where(T.c.id == row.id)).one_or_none()
        if current is None:
            return True
        try:
            unchanged = decrypt(current, "refresh_token") == used_refresh_token
        except LoginRequired:
            unchanged = True
        if not unchanged:
            return False
        gone = conn.execute(delete(T).where(T.c.id == row.id, T.c.version == current.version))
        return gone.rowcount == 1


def _is_invalid_grant(error: globus_sdk.GlobusAPIError) -> bool:
    # Globus sends OAuth's {"error": "invalid_grant"}, with 400 or 401 (docs/globus-api.md A.2).
    body = error.raw_json if isinstance(error.raw_json, dict) else {}
    return error.http_status in (400, 401) and "invalid_grant" in (body.get("error"), error.code)


def read_row(user_id: int, resource_server: str) -> Row | None:
    """The stored row, read on a connection of its own (never the caller's session)."""
    with db.engine.connect() as conn:
        return conn.execute(
            select(T).where(T.c.user_id == user_id, T.c.resource_server == resource_server)
        ).one_or_none()


def expiring(row: Row) -> bool:
    return as_utc(row.expires_at) - utcnow() < EXPIRY_MARGIN


def decrypt_required(row: Row, field: str) -> str:
    """`decrypt`, for a token the row must hold; LoginRequired when it holds none."""
    token = decrypt(row, field)
    if token is None:
        raise LoginRequired(SIGN_IN_AGAIN)
    return token


def decrypt(row: Row, field: str) -> str | None:
    """The plaintext of `field` ("access_token" or "refresh_token"); LoginRequired if unreadable."""
    enc = getattr(row, f"{field}_enc")
    if enc is None:
        return None
    try:
        return keyring().decrypt(enc, aad(row.user_id, row.resource_server, field))
    except TokenDecryptError:
        # E.g. its key was dropped from FERRY_TOKEN_KEYS: a new sign-in replaces it.
        log.warning(
            "stored %s of user %s for %s is unreadable", field, row.user_id, row.resource_server
        )
        raise LoginRequired(SIGN_IN_AGAIN) from None
