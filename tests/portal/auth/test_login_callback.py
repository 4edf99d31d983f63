"""The callback refuses what Globus did not send for this browser (docs/security.md, Login):
each case is a clear 4xx page, a security event, and no token request at all."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app.extensions import db
from app.models import OAuthToken, User
from tests.portal.helpers.fake_auth import FakeOIDC, fake_sign_in
from tests.portal.helpers.signin import CALLBACK_PATH, authorize_url


@pytest.fixture
def client(fake_app):
    return fake_app.test_client()


@pytest.fixture
def security_log(caplog):
    caplog.set_level(logging.INFO, logger="ferry.security")
    return caplog


def start(client, fake) -> str:
    """Start a login whose id_token would be valid; return its state."""
    params = fake.authorize(authorize_url(client))
    fake.id_token = lambda nonce: fake.sign(fake.claims())
    return params["state"]


def callback(client, **params):
    return client.get(f"{CALLBACK_PATH}?{urlencode(params, doseq=True)}")


def assert_rejected(response, fake, security_log, title="Sign-in failed", status=400):
    """The page says so (parsed, not grepped), nothing reached the token endpoint, the
    event is in the security log, and nobody is signed in."""
    assert response.status_code == status
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == title
    assert page.find(attrs={"role": "alert"}).get_text(strip=True)
    assert fake.token_requests == []
    assert [r for r in security_log.records if r.getMessage().startswith("login rejected")]
    return page


def assert_nobody(app):
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(OAuthToken)) == 0


def test_callback_without_state_is_rejected(client, fake, fake_app, security_log):
    start(client, fake)
    assert_rejected(callback(client, code="fake-code"), fake, security_log)
    assert_nobody(fake_app)


def test_callback_with_state_of_another_browser_session_is_rejected(
    client, fake, fake_app, security_log
):
    state = start(client, fake)
    other_browser = fake_app.test_client()
    response = callback(other_browser, code="fake-code", state=state)
    assert_rejected(response, fake, security_log)
    assert_nobody(fake_app)


def test_callback_with_unknown_state_is_rejected(client, fake, security_log):
    start(client, fake)
    assert_rejected(callback(client, code="c", state="forged-state"), fake, security_log)


def test_replayed_callback_is_rejected(client, fake, security_log):
    state = start(client, fake)
    assert callback(client, code="fake-code", state=state).status_code == 302
    assert len(fake.token_requests) == 1
    fake.token_requests.clear()
    assert_rejected(callback(client, code="fake-code", state=state), fake, security_log)


def test_expired_state_is_rejected(client, fake, fake_app, security_log):
    state = start(client, fake)
    with client.session_transaction() as session:
        pending = dict(session["auth_pending"])
        pending[state] = {**pending[state], "created": pending[state]["created"] - 601}
        session["auth_pending"] = pending
    assert_rejected(callback(client, code="fake-code", state=state), fake, security_log)
    assert_nobody(fake_app)


def test_callback_without_code_is_rejected_and_uses_up_the_state(client, fake, security_log):
    state = start(client, fake)
    assert_rejected(callback(client, state=state), fake, security_log)
    # A state works once, whatever the outcome.
    assert_rejected(callback(client, code="fake-code", state=state), fake, security_log)


def test_access_denied_says_login_cancelled_and_drops_the_description(
    client, fake, fake_app, security_log
):
    state = start(client, fake)
    response = callback(
        client,
        state=state,
        error="access_denied",
        error_description='<script>alert("x")</script> Visit evil.example',
    )
    page = assert_rejected(response, fake, security_log, title="Login cancelled")
    main = page.find("main")
    assert main.find("script") is None
    assert "evil.example" not in main.get_text()
    assert page.find("a", string="Sign in again")["href"].startswith("/auth/login")
    assert_nobody(fake_app)


def test_other_auth_error_is_rejected_without_echoing_it(client, fake, security_log):
    state = start(client, fake)
    response = callback(client, state=state, error="<b>server_error</b>")
    page = assert_rejected(response, fake, security_log)
    assert page.find("main").find("b") is None


@pytest.mark.parametrize(
    "params",
    [
        {"code": "c" * 5000},
        {"code": "fake-code", "junk": "x" * 5000},
        {"code": "fake\x00code"},
        {"code": "fake-code\r\nSet-Cookie: x=1"},
        {"code": ["one", "two"]},
    ],
    ids=["oversized code", "oversized extra parameter", "NUL", "CRLF", "repeated code"],
)
def test_malformed_callback_parameters_are_rejected(client, fake, fake_app, security_log, params):
    state = start(client, fake)
    assert_rejected(callback(client, state=state, **params), fake, security_log)
    assert_nobody(fake_app)


def test_valid_callback_logs_the_sign_in(client, fake, security_log):
    response = fake_sign_in(client, fake)
    assert response.status_code == 302
    assert [r for r in security_log.records if r.getMessage().startswith("sign-in user=")]


def test_code_refused_by_auth_is_a_clear_rejection(client, fake, fake_app, security_log):
    state = start(client, fake)
    fake.token_error = (400, {"error": "invalid_grant"})
    response = callback(client, code="used-code", state=state)
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == "Sign-in failed"
    assert [r for r in security_log.records if "invalid_grant" in r.getMessage()]
    assert_nobody(fake_app)


def test_auth_failing_at_the_token_request_says_unavailable(client, fake, fake_app):
    state = start(client, fake)
    fake.token_error = (500, {"error": "server_error"})
    response = callback(client, code="fake-code", state=state)
    assert response.status_code == 503
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == "Globus is unavailable, try again"
    assert_nobody(fake_app)


def test_auth_down_at_login_says_unavailable(make_app):
    with FakeOIDC() as fake:
        config = fake.portal_config()
    client = make_app(**config).test_client()
    response = client.get("/auth/login")
    assert response.status_code == 503
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == "Globus is unavailable, try again"
