"""Globus Auth policies: their documents, and whether a session satisfies one.

Shared by Auth (the policies API, and `/v2/oauth2/authorize` honouring
`session_required_policies`) and Transfer (high-assurance collections refuse a request
whose session does not satisfy their gateway's policy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from localglobus.auth.identities import LinkedIdentity, SessionAuthentication
from localglobus.db import as_utc, utcnow
from localglobus.models import AuthPolicy


def policy_document(policy: AuthPolicy) -> dict:
    """A policy as `GET /v2/api/policies/<id>` shows it, inside `{"policy": ...}`."""
    return {
        "id": policy.id,
        "project_id": policy.project_id,
        "display_name": policy.display_name,
        "description": policy.description,
        "high_assurance": policy.high_assurance,
        "authentication_assurance_timeout": policy.authentication_assurance_timeout,
        "required_mfa": policy.required_mfa,
        "domain_constraints_include": policy.domain_constraints_include,
        "domain_constraints_exclude": policy.domain_constraints_exclude,
    }


def domain_allowed(policy: AuthPolicy, domain: str) -> bool:
    """Whether an identity of `domain` may satisfy the policy's domain constraints."""
    domain = domain.lower()
    include = [d.lower() for d in policy.domain_constraints_include or []]
    exclude = [d.lower() for d in policy.domain_constraints_exclude or []]
    return (not include or domain_matches(domain, include)) and not domain_matches(domain, exclude)


def domain_matches(domain: str, patterns: Iterable[str]) -> bool:
    """Whether `domain` is one of `patterns` (lower case); Globus domain constraints and
    GCSv5 allowed domains both accept `*.example.org` for every subdomain."""
    for pattern in patterns:
        if pattern == domain or (pattern.startswith("*.") and domain.endswith(pattern[1:])):
            return True
    return False


@dataclass(frozen=True)
class Unsatisfied:
    """Why a session does not satisfy a policy, and which identities could."""

    policy_id: str
    # Identities of the set that may satisfy it (domain allowed), own identity first.
    candidates: tuple[LinkedIdentity, ...]
    needs_mfa: bool


def check(
    session: Session,
    policy_id: str,
    identity_set: Iterable[LinkedIdentity],
    authentications: Mapping[str, SessionAuthentication],
) -> Unsatisfied | None:
    """None if some identity of the set, authenticated in this session recently enough
    (and with MFA where required), satisfies the policy; else what is missing.

    A policy that is not high assurance constrains only domains, so any identity of the
    set in an allowed domain satisfies it, signed in this session or not.
    """
    policy = session.get(AuthPolicy, policy_id)
    if policy is None:
        return None
    candidates = tuple(i for i in identity_set if domain_allowed(policy, i.domain))
    if not policy.high_assurance:
        return None if candidates else Unsatisfied(policy.id, (), False)
    now = utcnow()
    timeout = policy.authentication_assurance_timeout
    for identity in candidates:
        auth = authentications.get(identity.id)
        if auth is None:
            continue
        if timeout is not None and as_utc(auth.auth_time) + timedelta(seconds=timeout) < now:
            continue
        if policy.required_mfa and not auth.mfa:
            continue
        return None
    return Unsatisfied(policy.id, candidates, policy.required_mfa)
