"""Identities: password hashing, sign-in, and the identity documents Globus Auth returns.

`lookup_identities` is shared with the Transfer half (owner strings, ACL principals).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from localglobus.db import as_utc, utcnow
from localglobus.models import Identity

# Identity-provider ids are UUIDs on Globus. Each username domain here is an identity
# provider of its own (as uchicago.edu or globusid.org are on Globus), with an id derived
# from the domain so that it is the same on every localglobus.
CLIENTS_IDP_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "localglobus:identity-provider:clients"))
CLIENTS_IDP_NAME = "Globus Auth Clients"
CLIENT_USERNAME_DOMAIN = "@clients.auth.globus.org"
# The domain of the demo users. The sign-in page and `localglobus user add` take a bare
# name as a name of this domain; the APIs, like Globus's, only know full usernames.
DEMO_DOMAIN = "uni.example"
# Display names of the demo identity providers; another domain's provider is named by it.
IDP_NAMES = {"uni.example": "University of Example", "partner.example": "Partner Institute"}

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about 30 ms a check, so token
# calls, which verify a client secret each time, stay quick on a small machine.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("localglobus-no-such-user")


def hash_secret(secret: str) -> str:
    """An argon2 hash of a password or client secret."""
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Check `secret` against an argon2 hash (constant time in argon2 itself)."""
    try:
        return _hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def qualify(username: str) -> str:
    """A username as Globus has it (`name@domain`): a bare name is of the demo domain."""
    username = username.strip()
    return username if "@" in username or not username else f"{username}@{DEMO_DOMAIN}"


def find_by_username(session: Session, username: str) -> Identity | None:
    """The identity with this username; usernames are case-insensitive, as on Globus."""
    stmt = select(Identity).where(func.lower(Identity.username) == username.strip().lower())
    return session.scalars(stmt).first()


def check_password(session: Session, username: str, password: str) -> Identity | None:
    """The identity if `password` is right for `username` (a bare name is of the demo
    domain); None otherwise."""
    identity = find_by_username(session, qualify(username)) if username.strip() else None
    hashed = identity.password_hash if identity is not None else None
    if not verify_secret(hashed, password) or identity is None:
        return None
    identity.last_authentication = utcnow()
    return identity


def identity_provider(identity: Identity) -> tuple[str, str]:
    """(id, display name) of the identity provider the identity belongs to: its domain's."""
    if identity.is_client:
        return CLIENTS_IDP_ID, CLIENTS_IDP_NAME
    domain = identity.username.rpartition("@")[2].lower() or DEMO_DOMAIN
    idp_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localglobus:identity-provider:{domain}"))
    return idp_id, provider_name(domain)


def provider_name(domain: str) -> str:
    """The display name of a domain's identity provider (also an identity's organization)."""
    return IDP_NAMES.get(domain, domain)


def identity_provider_id(identity: Identity) -> str:
    """The id of the identity provider the identity belongs to."""
    return identity_provider(identity)[0]


def identity_set(session: Session, identity: Identity) -> list[Identity]:
    """The identities linked with `identity`, the set's primary first, then by username."""
    primary = session.get(Identity, identity.primary_id) if identity.primary_id else None
    primary = primary or identity
    linked = session.scalars(
        select(Identity).where(Identity.primary_id == primary.id).order_by(Identity.username)
    ).all()
    return [primary, *(i for i in linked if i.id != primary.id)]


def primary_identity(session: Session, identity: Identity) -> Identity:
    """The primary identity of the set `identity` belongs to (itself when unlinked)."""
    return identity_set(session, identity)[0]


def identity_document(identity: Identity) -> dict:
    """An identity as `GET /v2/api/identities` shows it (docs/globus-api.md A.7)."""
    return {
        "id": identity.id,
        "username": identity.username,
        "name": identity.name or None,
        "email": identity.email or None,
        "identity_provider": identity_provider_id(identity),
        "organization": identity.organization or None,
        "status": "used",
        "identity_type": "client" if identity.is_client else "login",
    }


def identity_provider_document(identity: Identity) -> dict:
    """An identity provider as `include=identity_provider` adds it (docs/globus-api.md A.7)."""
    idp_id, name = identity_provider(identity)
    domain = identity.username.rpartition("@")[2].lower()
    return {
        "id": idp_id,
        "name": name,
        "short_name": domain,
        "domains": [domain],
        "alternative_names": [],
    }


def userinfo_claims(
    identity: Identity, *, with_identity_set: bool, members: list[Identity] | None = None
) -> dict:
    """The OIDC claims of an identity, shared by userinfo and the id_token; `members` is
    its identity set (default: itself alone)."""
    member = _identity_set_member(identity)
    claims = {
        "sub": identity.id,
        "preferred_username": identity.username,
        "name": member["name"],
        "email": member["email"],
        "organization": member["organization"],
        "identity_provider": member["identity_provider"],
        "identity_provider_display_name": member["identity_provider_display_name"],
        "last_authentication": member["last_authentication"],
    }
    if with_identity_set:
        claims["identity_set"] = [_identity_set_member(m) for m in (members or [identity])]
    return claims


def _identity_set_member(identity: Identity) -> dict:
    last = as_utc(identity.last_authentication)
    idp_id, idp_name = identity_provider(identity)
    return {
        "sub": identity.id,
        "username": identity.username,
        "name": identity.name or None,
        "email": identity.email or None,
        "organization": identity.organization or None,
        "identity_provider": idp_id,
        "identity_provider_display_name": idp_name,
        "last_authentication": int(last.timestamp()) if last else None,
    }


def lookup_identities(
    ids: Iterable[str] | str | None = None,
    usernames: Iterable[str] | str | None = None,
    *,
    session: Session | None = None,
) -> list[dict]:
    """Identity documents (docs/globus-api.md A.7) for ids or usernames, in the order asked.

    Unknown ids and usernames are left out, as Globus does. Strings may be comma lists.
    Outside a request, pass `session`.
    """
    if session is None:
        from localglobus.state import get_state

        with get_state().db.session() as own_session:
            return lookup_identities(ids, usernames, session=own_session)
    found: list[Identity] = []
    for value in _split(ids):
        identity = session.get(Identity, value.lower())
        if identity is not None:
            found.append(identity)
    for value in _split(usernames):
        identity = find_by_username(session, value)
        if identity is not None:
            found.append(identity)
    unique = {identity.id: identity for identity in found}
    return [identity_document(identity) for identity in unique.values()]


def _split(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    return [value.strip() for value in values if value and value.strip()]


@dataclass(frozen=True)
class LinkedIdentity:
    """One member of an identity set: `username` is `name@domain`, as on Globus."""

    id: str
    username: str
    identity_provider: str

    @property
    def domain(self) -> str:
        return self.username.rpartition("@")[2].lower()


@dataclass(frozen=True)
class SessionAuthentication:
    """One identity's sign-in within an Auth session (introspection's session_info)."""

    identity_id: str
    auth_time: datetime
    identity_provider: str
    mfa: bool = False


def identity_set_of(
    session: Session, identity: Identity | str | None
) -> tuple[LinkedIdentity, ...]:
    """The identity set of an identity (row or id), its own identity first: what a token
    of it carries, and what GCSv5 maps when a task of it runs or a guest of it is used."""
    if isinstance(identity, str):
        identity = session.get(Identity, identity)
    if identity is None:
        return ()
    return tuple(
        LinkedIdentity(i.id, i.username, identity_provider_id(i))
        for i in identity_set(session, identity)
    )
