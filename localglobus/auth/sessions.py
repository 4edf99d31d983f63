"""Auth sessions: who signed in at this browser, with which identities, and when.

The session cookie (signed by Flask) carries one random secret; the state keeps its
digest beside the session, so a copied cookie stops working the moment the person signs
out, and a stolen state file holds no usable secret (docs/security.md, localglobus).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.auth import policies
from localglobus.auth.identities import (
    SessionAuthentication,
    identity_provider_id,
    identity_set_of,
)
from localglobus.auth.policies import domain_matches
from localglobus.auth.tokens import digest
from localglobus.db import utcnow
from localglobus.models import AuthPolicy, AuthSession, Identity


def start(db: Session, primary_id: str) -> tuple[AuthSession, str]:
    """A new session of the identity set whose primary is `primary_id`; its secret."""
    secret = secrets.token_urlsafe(32)
    row = AuthSession(secret_digest=digest(secret), identity_id=primary_id, authentications={})
    db.add(row)
    db.flush()
    return row, secret


def find(db: Session, secret: str | None) -> AuthSession | None:
    """The live session a cookie's secret names (None: unknown or signed out)."""
    if not secret:
        return None
    row = db.scalar(select(AuthSession).where(AuthSession.secret_digest == digest(secret)))
    return row if row is not None and row.ended_at is None else None


def end(db: Session, secret: str | None) -> None:
    row = find(db, secret)
    if row is not None:
        row.ended_at = utcnow()


def record_sign_in(row: AuthSession, identity_id: str, mfa: bool = False) -> None:
    """`identity_id` signed in now (with a second factor when `mfa`)."""
    now = int(utcnow().timestamp())
    row.authentications = {**row.authentications, identity_id: {"auth_time": now, "mfa": mfa}}


def authentications(db: Session, session_id: str | None) -> dict[str, SessionAuthentication]:
    """The sign-ins of a session by identity id, as high-assurance checks read them."""
    row = db.get(AuthSession, session_id) if session_id else None
    if row is None or row.ended_at is not None:
        return {}
    found = {}
    for identity_id, auth in row.authentications.items():
        identity = db.get(Identity, identity_id)
        if identity is None:
            continue
        found[identity_id] = SessionAuthentication(
            identity_id,
            datetime.fromtimestamp(auth["auth_time"], UTC),
            identity_provider_id(identity),
            bool(auth.get("mfa")),
        )
    return found


def session_info(db: Session, session_id: str | None) -> dict:
    """Introspection's `session_info`, as Globus Auth sends it (docs/globus-api.md A.4)."""
    found = authentications(db, session_id)
    return {
        "session_id": session_id if found else None,
        "authentications": {
            identity_id: {
                "auth_time": int(auth.auth_time.timestamp()),
                "idp": auth.identity_provider,
                "amr": ["mfa"] if auth.mfa else [],
                "acr": None,
                "custom_claims": {},
            }
            for identity_id, auth in found.items()
        },
    }


def _flag(value) -> bool:
    return str(value or "").strip().lower() in ("true", "1", "yes")


def _items(value) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def wants_mfa(db: Session, args: dict) -> bool:
    """Whether an authorize request asks for a second factor: `session_required_mfa`, or
    a required policy that requires MFA."""
    if _flag(args.get("session_required_mfa")):
        return True
    for policy_id in _items(args.get("session_required_policies")):
        policy = db.get(AuthPolicy, policy_id)
        if policy is not None and policy.required_mfa:
            return True
    return False


def unmet(db: Session, row: AuthSession | None, args: dict) -> list[str]:
    """What an authorize request's session parameters (docs/globus-api.md A.1) ask of
    the session that it lacks, in words for the sign-in page; empty when nothing."""
    found = authentications(db, row.id) if row is not None else {}
    domains = [d.lower() for d in _items(args.get("session_required_single_domain"))]
    signed = []
    for auth in found.values():
        identity = db.get(Identity, auth.identity_id)
        domain = identity.username.rpartition("@")[2].lower() if identity else ""
        if not domains or domain_matches(domain, domains):
            signed.append(auth)
    needs = []
    if domains and not signed:
        needs.append(f"an identity of {', '.join(domains)}")
    if _flag(args.get("session_required_mfa")) and not any(a.mfa for a in signed):
        needs.append("a second factor (the code of your authenticator app)")
    if row is not None:
        members = identity_set_of(db, row.identity_id)
    else:
        members = ()
    for policy_id in _items(args.get("session_required_policies")):
        policy = db.get(AuthPolicy, policy_id)
        if policy is not None and policies.check(db, policy_id, members, found) is not None:
            needs.append(f"a sign-in meeting the policy {policy.display_name!r}")
    return needs
