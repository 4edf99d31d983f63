"""Bearer-token authentication shared by every localglobus API area, and token issuing.

Contract used by the Transfer half:

    caller = authenticate("transfer.api.globus.org")   # reads flask.request
    caller.identity_id, caller.username, caller.client_id, caller.scopes
    caller.has_consent("https://auth.globus.org/scopes/<collection_id>/data_access")
    caller.identity_set        # every identity linked with the token's, its own first
    caller.authentications     # identity id -> SessionAuthentication, for the Auth session
                               # the token came from (what introspection's session_info says)

A missing, unknown, expired or revoked token, or one for another resource server, raises
TransferAPIError(401, "ClientError.AuthenticationFailed", ...) for the Transfer resource
server and AuthAPIError(401, "UNAUTHORIZED", ...) for Auth.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import request
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from localglobus.auth import scopes as scope_syntax
from localglobus.auth.identities import (
    LinkedIdentity,
    SessionAuthentication,
    identity_set_of,
)
from localglobus.config import Settings
from localglobus.db import as_utc, new_id, utcnow
from localglobus.errors import AuthAPIError, TransferAPIError
from localglobus.models import Consent, Identity, Token

TRANSFER_RS = "transfer.api.globus.org"
AUTH_RS = "auth.globus.org"
TRANSFER_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"


def data_access_scope(collection_id: str) -> str:
    """The dependent scope a GCSv5 mapped collection requires (docs/globus-api.md A.9)."""
    return f"https://auth.globus.org/scopes/{collection_id}/data_access"


@dataclass(frozen=True)
class Caller:
    """Who made this request, and through which client."""

    identity_id: str
    username: str
    client_id: str
    scopes: frozenset[str]
    consents: frozenset[str]
    # The identity set of the token's identity (itself first): GCSv5 maps whichever member
    # belongs to an allowed domain.
    identity_set: tuple[LinkedIdentity, ...] = ()
    # The sign-ins of the session the token was issued in, by identity id: high-assurance
    # collections accept only identities authenticated here recently enough.
    authentications: dict[str, SessionAuthentication] = field(default_factory=dict)
    session_id: str | None = None

    def has_consent(self, scope: str) -> bool:
        return scope in self.consents


def authenticate(resource_server: str = TRANSFER_RS) -> Caller:
    """Authenticate the current request's Bearer token for `resource_server`."""
    from localglobus.auth.sessions import authentications
    from localglobus.state import get_state

    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _unauthenticated(resource_server, "No Authentication provided.")
    with get_state().db.session() as session:
        token = find_access_token(session, value.strip())
        if token is None or token.resource_server != resource_server:
            raise _unauthenticated(resource_server, "Token is not active or not valid here.")
        identity = session.get(Identity, token.identity_id)
        if identity is None:
            raise _unauthenticated(resource_server, "Token is not active or not valid here.")
        return Caller(
            identity_id=identity.id,
            username=identity.username,
            client_id=token.client_id,
            scopes=frozenset(token.scope.split()),
            consents=frozenset(consented_scopes(session, identity.id, token.client_id)),
            identity_set=identity_set_of(session, identity),
            authentications=authentications(session, token.session_id),
            session_id=token.session_id,
        )


def _unauthenticated(resource_server: str, message: str) -> Exception:
    if resource_server == TRANSFER_RS:
        return TransferAPIError(401, "ClientError.AuthenticationFailed", message)
    return AuthAPIError(401, "UNAUTHORIZED", message)


def digest(token: str) -> str:
    """What the state keeps of a token or code: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """An opaque random token string."""
    return secrets.token_urlsafe(36)


def is_active(token: Token) -> bool:
    return not token.revoked and as_utc(token.expires_at) > utcnow()


def find_access_token(session: Session, access_token: str) -> Token | None:
    """The active token row for an access token string."""
    token = session.scalars(
        select(Token).where(Token.access_digest == digest(access_token))
    ).first()
    return token if token is not None and is_active(token) else None


def find_refresh_token(session: Session, refresh_token: str) -> Token | None:
    """The unrevoked token row for a refresh token (refresh tokens do not expire)."""
    stmt = select(Token).where(Token.refresh_digest == digest(refresh_token))
    token = session.scalars(stmt).first()
    return token if token is not None and not token.revoked else None


def find_any_token(session: Session, value: str) -> Token | None:
    """The row for an access or refresh token string, active or not."""
    hashed = digest(value)
    stmt = select(Token).where((Token.access_digest == hashed) | (Token.refresh_digest == hashed))
    return session.scalars(stmt).first()


def consented_scopes(session: Session, identity_id: str, client_id: str) -> list[str]:
    """Every scope string the identity granted the client, at any depth."""
    stmt = (
        select(Consent.scope)
        .where(Consent.identity_id == identity_id, Consent.client_id == client_id)
        .distinct()
    )
    return list(session.scalars(stmt))


def record_consents(
    session: Session, identity_id: str, client_id: str, forest: list[scope_syntax.Scope]
) -> None:
    """Remember every scope of the forest, dependencies included, as granted."""
    for path in scope_syntax.paths(forest):
        session.execute(
            insert(Consent)
            .values(
                id=new_id(),
                identity_id=identity_id,
                client_id=client_id,
                scope=path[-1],
                path=" ".join(path),
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )


def issue(
    session: Session,
    settings: Settings,
    *,
    client_id: str,
    identity_id: str,
    resource_server: str,
    roots: list[scope_syntax.Scope],
    offline: bool,
    code_digest: str | None = None,
    dependent_scope: str | None = None,
    session_id: str | None = None,
) -> dict:
    """Create one token row and return its entry in Globus's token response shape."""
    if dependent_scope is None:
        dependent_scope = scope_syntax.serialize(c for scope in roots for c in scope.children)
    access_token = new_token()
    refresh_token = new_token() if offline else None
    now = utcnow()
    session.add(
        Token(
            access_digest=digest(access_token),
            refresh_digest=digest(refresh_token) if refresh_token else None,
            client_id=client_id,
            identity_id=identity_id,
            resource_server=resource_server,
            scope=" ".join(scope.name for scope in roots),
            dependent_scope=dependent_scope,
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.token_lifetime),
            code_digest=code_digest,
            session_id=session_id,
        )
    )
    entry = {
        "access_token": access_token,
        "scope": " ".join(scope.name for scope in roots),
        "expires_in": settings.token_lifetime,
        "token_type": "Bearer",
        "resource_server": resource_server,
    }
    if refresh_token:
        entry["refresh_token"] = refresh_token
    return entry


def issue_for_forest(
    session: Session,
    settings: Settings,
    *,
    client_id: str,
    identity_id: str,
    forest: list[scope_syntax.Scope],
    offline: bool,
    code_digest: str | None = None,
    session_id: str | None = None,
) -> list[dict]:
    """One token per resource server of the forest's roots, the Auth one first."""
    groups = scope_syntax.group_by_resource_server(scope_syntax.merge(forest))
    order = sorted(groups, key=lambda rs: rs != AUTH_RS)
    return [
        issue(
            session,
            settings,
            client_id=client_id,
            identity_id=identity_id,
            resource_server=rs,
            roots=groups[rs],
            offline=offline,
            code_digest=code_digest,
            session_id=session_id,
        )
        for rs in order
    ]


def rotate(session: Session, settings: Settings, old: Token) -> dict:
    """Refresh: a new access and refresh token for the same grant; the old refresh token
    stops working (rotation), the old access token lives out its lifetime."""
    entry = issue(
        session,
        settings,
        client_id=old.client_id,
        identity_id=old.identity_id,
        resource_server=old.resource_server,
        roots=[scope_syntax.Scope(name) for name in old.scope.split()],
        offline=True,
        dependent_scope=old.dependent_scope,
        # Kept through rotations, so a replayed code still revokes the whole grant.
        code_digest=old.code_digest,
        session_id=old.session_id,
    )
    old.refresh_digest = None
    return entry
