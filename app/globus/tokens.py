"""The token store: the only code that reads or writes `OAuthToken` rows.

Tokens are encrypted at rest (app.globus.crypto) and refreshed on demand. A refresh is
single-flight: in a process, one thread per (user, resource server) holds a lock; across
processes, the worker that claims the row's refresh lease (a conditional UPDATE on
`version` and `refreshing_until`, which works on SQLite and PostgreSQL alike) is the only
one to call Globus Auth, and the others poll until `version` moves. Refresh tokens
rotate, so two refreshes with the same refresh token would sign the user out.

Reads and refreshes use their own connections and commits, so a refresh in the middle of
a service never commits the service's half-done work. SQLite allows one writer: call
Globus with no uncommitted writes pending on `db.session`.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import globus_sdk
import requests
from sqlalchemy import Row, delete, or_, select, update

from app.db import as_utc, utcnow
from app.errors import GlobusUnavailable, LoginRequired
from app.extensions import db
from app.globus.crypto import TokenDecryptError, aad, keyring
from app.models import OAuthToken

log = logging.getLogger(__name__)
T = OAuthToken.__table__

# globus-sdk also treats a token as expired 60 s early (reference 0.4).
EXPIRY_MARGIN = timedelta(seconds=60)
# Longer than one refresh call can take (10 s timeout, 2 retries); a crashed holder's
# lease simply runs out.
LEASE = timedelta(seconds=45)
# How long a request waits for another worker's refresh before showing "try again".
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05
UNAVAILABLE = "Globus is unavailable, try again"
SIGN_IN_AGAIN = "Your Globus sign-in has expired. Please sign in again."


@dataclass(frozen=True)
class TokenInfo:
    """What a page may show about a stored token: never the token itself."""

    resource_server: str
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class RekeyResult:
    rekeyed: int
    failed: int


def save_token_response(user_id: int, tokens: list[dict]) -> None:
    """Store the tokens of a sign-in (one dict per resource server) and commit `db.session`.

    Each dict: resource_server, access_token, refresh_token (None keeps the stored one),
    scope, expires_at (epoch seconds; `expires_at_seconds` as in globus-sdk's
    `by_resource_server` is accepted too). The caller's pending user row commits with it.
    """
    ring = keyring()
    session = db.session
    for token in tokens:
        rs = token["resource_server"]
        expires = token.get("expires_at") or token["expires_at_seconds"]
        values = {
            "scopes": token.get("scope") or "",
            "access_token_enc": ring.encrypt(
                token["access_token"], aad(user_id, rs, "access_token")
            ),
            "expires_at": datetime.fromtimestamp(int(expires), UTC),
            "refreshing_until": None,
        }
        if token.get("refresh_token"):
            values["refresh_token_enc"] = ring.encrypt(
                token["refresh_token"], aad(user_id, rs, "refresh_token")
            )
        row = session.scalar(
            select(OAuthToken).where(
                OAuthToken.user_id == user_id, OAuthToken.resource_server == rs
            )
        )
        if row is None:
            session.add(OAuthToken(user_id=user_id, resource_server=rs, version=1, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            # In SQL, so that a refresh in flight sees the change and drops its result.
            row.version = OAuthToken.version + 1
    session.commit()
    log.info("stored tokens of user %s for %s", user_id, [t["resource_server"] for t in tokens])


def get_access_token(user_id: int, resource_server: str) -> str:
    """The user's access token for `resource_server`, refreshed first (POST
    /v2/oauth2/token) when it expires within 60 s. LoginRequired if there is none."""
    row = _read(user_id, resource_server)
    if row is None:
        raise LoginRequired(SIGN_IN_AGAIN)
    if not _expiring(row):
        return _decrypt(row, "access_token")
    return _refresh(row, force=False)


def refresh_after_rejection(user_id: int, resource_server: str, rejected_token: str) -> bool:
    """An API answered 401 to `rejected_token`: refresh once unless the stored token
    already changed. True when the SDK should retry with the stored token."""
    row = _read(user_id, resource_server)
    if row is None:
        return False
    if _decrypt(row, "access_token") != rejected_token:
        return True
    _refresh(row, force=True)
    return True


def list_tokens(user_id: int) -> list[TokenInfo]:
    """Which resource servers the user has tokens for, their scopes and expiry."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(T).where(T.c.user_id == user_id).order_by(T.c.resource_server))
        return [
            TokenInfo(r.resource_server, tuple(r.scopes.split()), as_utc(r.expires_at))
            for r in rows
        ]


def delete_tokens(user_id: int) -> None:
    """Forget every token of the user (no call to Globus)."""
    with db.engine.begin() as conn:
        conn.execute(delete(T).where(T.c.user_id == user_id))


def revoke_and_delete_all(user_id: int) -> None:
    """Sign-out: delete the user's rows, then revoke each token at Globus Auth (POST
    /v2/oauth2/token/revoke). The rows go first so a failing Globus cannot keep them."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(T).where(T.c.user_id == user_id)).all()
    plain = []
    for row in rows:
        for field in ("refresh_token", "access_token"):
            try:
                token = _decrypt(row, field)
            except LoginRequired:
                continue
            if token:
                plain.append((row.resource_server, token))
    delete_tokens(user_id)
    if not plain:
        return
    from app.globus.client import auth_app_client

    client = auth_app_client()
    # Best effort, and sign-out must stay quick when Globus is down: no retries, and
    # the first network failure skips the rest.
    client.retry_config.max_retries = 0
    for rs, token in plain:
        try:
            client.oauth2_revoke_token(token)
        except (globus_sdk.NetworkError, requests.RequestException) as e:
            log.warning("could not reach Globus Auth to revoke tokens: %s", type(e).__name__)
            return
        except Exception as e:  # noqa: BLE001 - the rows are gone; revocation is best effort
            log.warning("could not revoke a %s token of user %s: %s", rs, user_id, type(e).__name__)


def rekey_all() -> RekeyResult:
    """Re-encrypt every token with the newest key of FERRY_TOKEN_KEYS."""
    ring = keyring()
    rekeyed = failed = 0
    with db.engine.connect() as conn:
        ids = conn.execute(select(T.c.id)).scalars().all()
    for row_id in ids:
        with db.engine.begin() as conn:
            row = conn.execute(select(T).where(T.c.id == row_id)).one_or_none()
            if row is None:
                continue
            values = {}
            try:
                for field in ("access_token", "refresh_token"):
                    enc = getattr(row, f"{field}_enc")
                    if enc and ring.key_id_of(enc) != ring.newest_id:
                        row_aad = aad(row.user_id, row.resource_server, field)
                        values[f"{field}_enc"] = ring.encrypt(ring.decrypt(enc, row_aad), row_aad)
            except TokenDecryptError:
                log.error("token row %s cannot be decrypted with any configured key", row_id)
                failed += 1
                continue
            if values:
                # Same version: a refresh committed meanwhile wrote newest-key ciphertext.
                conn.execute(
                    update(T).where(T.c.id == row_id, T.c.version == row.version).values(**values)
                )
                rekeyed += 1
    return RekeyResult(rekeyed, failed)


# -- refresh ------------------------------------------------------------------------


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


def _refresh(seen: Row, *, force: bool) -> str:
    """Single-flight refresh of the row last seen as `seen`; `force` refreshes even a
    token that has not expired (an API rejected it)."""
    flight = _flight(seen.user_id, seen.resource_server)
    if not flight.lock.acquire(timeout=WAIT_SECONDS):
        raise GlobusUnavailable(UNAVAILABLE)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            row = _read(seen.user_id, seen.resource_server)
            if row is None:
                raise LoginRequired(SIGN_IN_AGAIN)
            # Someone else refreshed (or the user signed in again) since we looked.
            if row.version != seen.version or not (force or _expiring(row)):
                return _decrypt(row, "access_token")
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

    refresh_token = _decrypt(row, "refresh_token")
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
            unchanged = _decrypt(current, "refresh_token") == used_refresh_token
        except LoginRequired:
            unchanged = True
        if not unchanged:
            return False
        gone = conn.execute(delete(T).where(T.c.id == row.id, T.c.version == current.version))
        return gone.rowcount == 1


def _is_invalid_grant(error: globus_sdk.GlobusAPIError) -> bool:
    # Globus sends OAuth's {"error": "invalid_grant"}, with 400 or 401 (reference A.2).
    body = error.raw_json if isinstance(error.raw_json, dict) else {}
    return error.http_status in (400, 401) and "invalid_grant" in (body.get("error"), error.code)


def _read(user_id: int, resource_server: str) -> Row | None:
    with db.engine.connect() as conn:
        return conn.execute(
            select(T).where(T.c.user_id == user_id, T.c.resource_server == resource_server)
        ).one_or_none()


def _expiring(row: Row) -> bool:
    return as_utc(row.expires_at) - utcnow() < EXPIRY_MARGIN


def _decrypt(row: Row, field: str) -> str | None:
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
