"""OpenID Connect: the identity claims each scope allows, and signed id_tokens."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from localglobus.auth.identities import identity_set, userinfo_claims
from localglobus.auth.keys import at_hash
from localglobus.db import utcnow
from localglobus.models import Identity
from localglobus.state import get_state

VIEW_IDENTITY_SET = "urn:globus:auth:scope:auth.globus.org:view_identity_set"


def id_token(identity: Identity, client_id: str, access_token: str, scope_names, nonce=None):
    """A signed id_token for `identity` (docs/globus-api.md A.2), claims filtered by OIDC scope."""
    state = get_state()
    now = int(utcnow().timestamp())
    claims = {
        "iss": state.settings.issuer,
        "aud": client_id,
        "sub": identity.id,
        "iat": now,
        "exp": now + state.settings.token_lifetime,
        "at_hash": at_hash(access_token),
        **oidc_claims(identity, scope_names),
    }
    if nonce:
        claims["nonce"] = nonce
    return state.extra["auth_signing_key"].sign(claims)


def oidc_claims(identity: Identity, scope_names) -> dict:
    """The identity claims the OIDC scopes allow: `sub` always, the names and the
    identity set with `profile`, the email with `email`, the set with view_identity_set."""
    names = set(scope_names)
    allowed = {"sub"}
    if "profile" in names:
        allowed |= {
            "preferred_username",
            "name",
            "organization",
            "identity_provider",
            "identity_provider_display_name",
            "last_authentication",
            "identity_set",
        }
    if "email" in names:
        allowed.add("email")
    if VIEW_IDENTITY_SET in names:
        allowed.add("identity_set")
    with_set = "identity_set" in allowed
    members = _identity_set(identity) if with_set else None
    claims = userinfo_claims(identity, with_identity_set=with_set, members=members)
    return {key: value for key, value in claims.items() if key in allowed}


def _identity_set(identity: Identity) -> list[Identity]:
    session = object_session(identity)
    if session is not None:
        return identity_set(session, identity)
    with get_state().db.session() as own:
        members = identity_set(own, own.get_one(Identity, identity.id))
        own.expunge_all()
        return members
