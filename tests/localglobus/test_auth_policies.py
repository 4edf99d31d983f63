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


MANAGE = "urn:globus:auth:scope:auth.globus.org:manage_projects"


def _policy_client(lg, scopes=MANAGE):
    import globus_sdk

    from tests.localglobus.conftest import auth_register_client

    made = auth_register_client(lg, "Policy admin")
    ac = globus_sdk.ConfidentialAppAuthClient(
        made["client_id"], made["client_secret"], base_url=lg.base_url
    )
    token = ac.oauth2_client_credentials_tokens(scopes)["access_token"]
    return globus_sdk.AuthClient(
        base_url=lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
    )


def _partner_policy(auth) -> dict:
    """A high-assurance policy only partner.example identities (signed in within the
    hour) meet."""
    return auth.create_policy(
        project_id="da84e531-1afb-43cb-8c87-135ab580516a",
        display_name="Partner sign-in",
        description="Only partner.example identities",
        high_assurance=True,
        authentication_assurance_timeout=3600,
        domain_constraints_include=["partner.example"],
    )["policy"]


def test_the_policies_api_as_globus_sdk_calls_it(localglobus):
    import globus_sdk
    import pytest

    auth = _policy_client(localglobus)
    made = _partner_policy(auth)
    updated = auth.update_policy(made["id"], required_mfa=True)["policy"]
    listed = [p["id"] for p in auth.get_policies()]
    other = _policy_client(localglobus)
    without_scope = _policy_client(localglobus, "openid")

    assert made["high_assurance"] is True and made["authentication_assurance_timeout"] == 3600
    assert made["domain_constraints_include"] == ["partner.example"]
    assert updated["required_mfa"] is True and updated["display_name"] == "Partner sign-in"
    assert listed == [made["id"]]
    with pytest.raises(globus_sdk.AuthAPIError) as not_theirs:
        other.get_policy(made["id"])
    assert not_theirs.value.http_status == 404
    with pytest.raises(globus_sdk.AuthAPIError) as no_scope:
        without_scope.get_policies()
    assert no_scope.value.http_status == 403
    with pytest.raises(globus_sdk.AuthAPIError) as bad:
        auth.update_policy(made["id"], authentication_assurance_timeout="soon")  # type: ignore
    assert bad.value.http_status == 400
    assert auth.get_policy(made["id"])["policy"]["authentication_assurance_timeout"] == 3600
    auth.delete_policy(made["id"])
    assert list(auth.get_policies()) == []


def test_session_required_policies_asks_for_a_sign_in_that_meets_the_policy(
    localglobus, auth_browser, auth_confidential_client
):
    from urllib.parse import urlencode

    from bs4 import BeautifulSoup

    from tests.conftest import DEMO_PASSWORD

    auth = _policy_client(localglobus)
    policy = _partner_policy(auth)
    query = {
        "client_id": auth_confidential_client["client_id"],
        "redirect_uri": auth_confidential_client["redirect_uri"],
        "scope": "openid",
        "response_type": "code",
    }
    auth_browser.sign_in(localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query))
    query["session_required_policies"] = policy["id"]

    page = auth_browser.session.get(
        localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query)
    )
    notice = BeautifulSoup(page.text, "html.parser").find(class_="notice").get_text(" ")
    partner = auth_browser.submit(
        page, username="researcher@partner.example", password=DEMO_PASSWORD
    )
    consent = auth_browser.follow(partner)

    assert "/v2/web/login" in page.url and "'Partner sign-in'" in notice
    assert "/v2/web/consent" in consent.url
