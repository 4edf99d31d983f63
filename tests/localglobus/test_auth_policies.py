"""Whether a session satisfies a Globus Auth policy (localglobus/auth/policies.py)."""

from __future__ import annotations

from datetime import timedelta

from localglobus.auth.identities import LinkedIdentity, SessionAuthentication
from localglobus.auth.policies import check, domain_allowed, policy_document
from localglobus.db import Database, utcnow
from localglobus.models import AuthPolicy

UNI = LinkedIdentity("11111111-1111-4111-8111-111111111111", "rosalind@uni.example", "idp-uni")
PARTNER = LinkedIdentity(
    "22222222-2222-4222-8222-222222222222", "rosalind@partner.example", "idp-partner"
)


def _policy(tmp_path, **values):
    db = Database(tmp_path / "state.db")
    db.create_all()
    session = db.sessionmaker()
    policy = AuthPolicy(display_name="Lab policy", **values)
    session.add(policy)
    session.commit()
    return session, policy


def _signed_in(identity, minutes_ago=0, mfa=False):
    when = utcnow() - timedelta(minutes=minutes_ago)
    return {identity.id: SessionAuthentication(identity.id, when, identity.identity_provider, mfa)}


def test_domain_constraints_include_exclude_and_subdomains():
    policy = AuthPolicy(domain_constraints_include=["*.uni.example", "uni.example"])
    assert domain_allowed(policy, "UNI.example")
    assert domain_allowed(policy, "physics.uni.example")
    assert not domain_allowed(policy, "partner.example")
    policy = AuthPolicy(domain_constraints_exclude=["partner.example"])
    assert domain_allowed(policy, "uni.example")
    assert not domain_allowed(policy, "partner.example")


def test_a_plain_policy_needs_only_a_linked_identity_of_an_allowed_domain(tmp_path):
    session, policy = _policy(tmp_path, domain_constraints_include=["uni.example"])
    assert check(session, policy.id, (PARTNER, UNI), {}) is None
    refused = check(session, policy.id, (PARTNER,), {})
    assert refused is not None and refused.candidates == ()


def test_high_assurance_needs_a_recent_sign_in_of_an_allowed_identity(tmp_path):
    session, policy = _policy(
        tmp_path,
        high_assurance=True,
        authentication_assurance_timeout=1800,
        domain_constraints_include=["uni.example"],
    )
    identities = (PARTNER, UNI)
    # Signed in with the partner identity only: the uni one is linked but not in the session.
    refused = check(session, policy.id, identities, _signed_in(PARTNER))
    assert refused is not None and refused.candidates == (UNI,)
    assert check(session, policy.id, identities, _signed_in(UNI, minutes_ago=10)) is None
    assert check(session, policy.id, identities, _signed_in(UNI, minutes_ago=31)) is not None


def test_required_mfa_needs_a_second_factor_in_the_session(tmp_path):
    session, policy = _policy(tmp_path, high_assurance=True, required_mfa=True)
    refused = check(session, policy.id, (UNI,), _signed_in(UNI))
    assert refused is not None and refused.needs_mfa
    assert check(session, policy.id, (UNI,), _signed_in(UNI, mfa=True)) is None
    assert policy_document(policy)["required_mfa"] is True
