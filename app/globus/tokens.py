"""The token store: the only code that reads or writes `OAuthToken` rows.

Tokens are encrypted at rest (app.globus.crypto) and refreshed on demand, once however
many threads and workers ask at the same time (app.globus.refresh).

Reads and refreshes use their own connections and commits, so a refresh in the middle of
a service never commits the service's half-done work. SQLite allows one writer: call
Globus with no uncommitted writes pending on `db.session`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import globus_sdk
import requests
from sqlalchemy import Table, delete, select, update

from app.errors import LoginRequired, TokenDecryptError
from app.extensions import db
from app.formatting import as_utc
from app.globus.crypto import aad, keyring
from app.globus.refresh import (
    SIGN_IN_AGAIN,
    decrypt,
    decrypt_required,
    expiring,
    read_row,
    refresh,
)
from app.models import OAuthToken

log = logging.getLogger(__name__)
T = cast(Table, OAuthToken.__table__)  # a mapped class's table is a Table


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
        expires = token["expires_at"] if "expires_at" in token else token["expires_at_seconds"]
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
    row = read_row(user_id, resource_server)
    if row is None:
        raise LoginRequired(SIGN_IN_AGAIN)
    if not expiring(row):
        return decrypt_required(row, "access_token")
    return refresh(row, force=False)


def refresh_after_rejection(user_id: int, resource_server: str, rejected_token: str) -> bool:
    """An API answered 401 to `rejected_token`: refresh once unless the stored token
    already changed. True when the SDK should retry with the stored token."""
    row = read_row(user_id, resource_server)
    if row is None:
        return False
    if decrypt(row, "access_token") != rejected_token:
        return True
    refresh(row, force=True)
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
                token = decrypt(row, field)
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
