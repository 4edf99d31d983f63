"""OpenID Connect: the identity claims each scope allows, and signed id_tokens."""

from __future__ import annotations

from localglobus.auth.identities import userinfo_claims
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
    claims = userinfo_claims(identity, with_identity_set="identity_set" in allowed)
    return {key: value for key, value in claims.items() if key in allowed}
