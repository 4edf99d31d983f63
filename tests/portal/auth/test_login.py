"""Signing in with Globus Auth (docs/security.md, Login): the authorize redirect, the round
trip through the live localglobus, and what the portal keeps afterwards."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import select

from app.extensions import db
from app.models import OAuthToken, User
from tests.portal.helpers.fake_auth import FakeOIDC, fake_sign_in
from tests.portal.helpers.signin import (
    CALLBACK_PATH,
    authorize_url,
    callback,
    globus_round_trip,
    sign_in,
)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def b64url_bits(value: str) -> int:
    return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) * 8


def test_login_redirects_to_authorize_with_every_parameter(app, client, localglobus):
    url = authorize_url(client)
    assert url.startswith(localglobus.base_url + "v2/oauth2/authorize?")
    params = query(url)
    assert {k: len(v) for k, v in params.items()} == dict.fromkeys(params, 1)
    p = {k: v[0] for k, v in params.items()}
    assert p["response_type"] == "code"
    assert p["client_id"] == localglobus.portal_client["client_id"]
    assert p["redirect_uri"] == localglobus.portal_base_url + CALLBACK_PATH
    assert p["scope"].split(" ") == list(app.config["FERRY_SCOPES"])
    assert p["access_type"] == "offline"
    assert p["code_challenge_method"] == "S256"
    assert b64url_bits(p["code_challenge"]) == 256  # a SHA-256, never the plain verifier
    assert b64url_bits(p["state"]) >= 128
    assert b64url_bits(p["nonce"]) >= 128


def test_redirect_uri_ignores_host_and_forwarded_headers(client, localglobus):
    response = client.get(
        "/auth/login",
        headers={
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Prefix": "/evil",
        },
    )
    redirect_uri = query(response.headers["Location"])["redirect_uri"][0]
    assert redirect_uri == localglobus.portal_base_url + CALLBACK_PATH


def test_two_logins_get_different_state_nonce_and_challenge(client):
    first, second = query(authorize_url(client)), query(authorize_url(client))
    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


def test_pending_login_is_kept_server_side_not_in_the_cookie(client):
    params = query(authorize_url(client, next="/files/"))
    cookie = client.get_cookie("ferry_session").value
    for name in ("state", "nonce", "code_challenge"):
        assert params[name][0] not in cookie
    with client.session_transaction() as session:
        pending = session["auth_pending"][params["state"][0]]
    assert pending["next"] == "/files/"
    assert set(pending) >= {"state", "nonce", "code_verifier", "next", "created"}


def test_full_sign_in_round_trip(app, client, localglobus):
    response = sign_in(client, localglobus, next="/auth/profile", fresh=True)
    assert response.headers["Location"] == "/auth/profile"
    page = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True).startswith("Welcome,")
    account = page.find(class_="account")
    assert account.find("a", href="/auth/profile") is not None
    assert account.find("form", action="/auth/logout") is not None
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.username.startswith("researcher")
        rows = db.session.scalars(select(OAuthToken)).all()
        assert {r.resource_server for r in rows} >= {"auth.globus.org", "transfer.api.globus.org"}
        assert all(r.refresh_token_enc for r in rows)  # access_type=offline


def test_tokens_from_sign_in_work_at_globus(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    from app.globus import tokens

    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        access = tokens.get_access_token(user_id, "auth.globus.org")
    info = requests.get(
        localglobus.base_url + "v2/oauth2/userinfo",
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert info.status_code == 200
    assert info.json()["preferred_username"].startswith("researcher")


def test_sign_in_as_another_demo_user(app, client, localglobus):
    sign_in(client, localglobus, "admin", fresh=True)
    with app.app_context():
        assert db.session.scalar(select(User.username)).startswith("admin")


def test_session_id_changes_at_sign_in(client, localglobus):
    url = authorize_url(client)
    before = client.get_cookie("ferry_session").value
    response = callback(client, globus_round_trip(url, localglobus))
    assert response.status_code == 302
    after = client.get_cookie("ferry_session").value
    assert after != before
    # The pre-login id is dead: presenting it again gets a signed-out session.
    client.set_cookie("ferry_session", before)
    assert client.get("/auth/profile").status_code == 302


def test_unknown_session_id_is_never_adopted(client, localglobus):
    planted = "attacker-chosen-session-id-0123456789abcdef"
    client.set_cookie("ferry_session", planted)
    url = authorize_url(client)
    assert client.get_cookie("ferry_session").value != planted
    callback(client, globus_round_trip(url, localglobus))
    assert client.get_cookie("ferry_session").value != planted


def test_cancel_at_globus_says_login_cancelled(client, localglobus):
    path = globus_round_trip(authorize_url(client), localglobus, approve=False)
    assert query(path)["error"] == ["access_denied"]
    response = callback(client, path)
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == "Login cancelled"


def test_token_request_carries_code_verifier_and_basic_auth(make_app):
    with FakeOIDC() as fake:
        client = make_app(**fake.portal_config()).test_client()
        assert fake_sign_in(client, fake).status_code == 302
        (request,) = fake.token_requests
        assert request["grant_type"] == "authorization_code"
        assert request["code"] == "fake-code"
        assert request["redirect_uri"] == "http://portal.test" + CALLBACK_PATH
        assert 43 <= len(request["code_verifier"]) <= 128
        # Confidential client: the secret goes in the Basic header, never in the body.
        assert request["authorization"].startswith("Basic ")
        assert "client_secret" not in request


def test_pkce_challenge_is_s256_of_the_verifier(make_app):
    with FakeOIDC() as fake:
        client = make_app(**fake.portal_config()).test_client()
        url = authorize_url(client)
        params = fake.authorize(url)
        fake.id_token = lambda nonce: fake.sign(fake.claims())
        client.get(f"{CALLBACK_PATH}?code=c&state={params['state']}")
        verifier = fake.token_requests[0]["code_verifier"]
        digest = hashlib.sha256(verifier.encode()).digest()
        assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.mark.parametrize("signed_in", [False, True])
def test_login_page_is_a_redirect_never_a_form(client, localglobus, signed_in):
    if signed_in:
        sign_in(client, localglobus, fresh=True)
    response = client.get("/auth/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(localglobus.base_url)
