"""localglobus's security promises for Auth (docs/security.md, localglobus section)."""

from __future__ import annotations

import json
import sqlite3
import time
from urllib.parse import urlencode

import globus_sdk
import requests
from bs4 import BeautifulSoup

from tests.conftest import DEMO_PASSWORD
from tests.localglobus.conftest import AuthBrowser, auth_register_client

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"


def database_bytes(lg) -> bytes:
    """Everything the state holds, including not yet checkpointed WAL pages."""
    return b"".join(path.read_bytes() for path in lg.home.glob("localglobus.db*") if path.is_file())


def test_passwords_and_client_secrets_are_argon2_hashes(localglobus):
    portal = localglobus.portal_client
    with sqlite3.connect(localglobus.home / "localglobus.db") as db:
        password_hash = db.execute(
            "SELECT password_hash FROM identities WHERE username = 'researcher@uni.example'"
        ).fetchone()[0]
        secret_hash = db.execute(
            "SELECT secret_hash FROM clients WHERE id = ?", (portal["client_id"],)
        ).fetchone()[0]

    assert password_hash.startswith("$argon2id$")
    assert secret_hash.startswith("$argon2id$")
    state = database_bytes(localglobus)
    assert DEMO_PASSWORD.encode() not in state
    assert portal["client_secret"].encode() not in state


def test_tokens_and_codes_are_stored_only_as_digests(
    localglobus, auth_browser, auth_confidential_client
):
    ac = globus_sdk.ConfidentialAppAuthClient(
        auth_confidential_client["client_id"],
        auth_confidential_client["client_secret"],
        base_url=localglobus.base_url,
    )
    ac.oauth2_start_flow(
        auth_confidential_client["redirect_uri"], ["openid", TRANSFER], refresh_tokens=True
    )
    code = auth_browser.code_from(auth_browser.sign_in(ac.oauth2_get_authorize_url()))["code"]
    tokens = ac.oauth2_exchange_code_for_tokens(code)

    state = database_bytes(localglobus)
    secrets_issued = [code] + [
        t[k] for t in tokens.by_resource_server.values() for k in ("access_token", "refresh_token")
    ]
    for value in secrets_issued:
        assert value.encode() not in state


def test_wrong_client_secret_is_refused(localglobus):
    portal = localglobus.portal_client
    ac = globus_sdk.ConfidentialAppAuthClient(
        portal["client_id"], portal["client_secret"] + "x", base_url=localglobus.base_url
    )

    try:
        ac.oauth2_client_credentials_tokens(TRANSFER)
    except globus_sdk.AuthAPIError as err:
        assert err.http_status == 401
        assert err.raw_json["error"] == "invalid_client"
    else:
        raise AssertionError("a wrong secret was accepted")


def test_client_secrets_are_checked_with_argon2_verify_in_constant_time():
    """Verification goes through argon2's verify (which compares in constant time), and
    an unknown user costs the same hash check as a known one."""
    from localglobus.auth import identities

    hashed = identities.hash_secret("s3cret")

    assert identities.verify_secret(hashed, "s3cret")
    assert not identities.verify_secret(hashed, "s3cres")
    assert not identities.verify_secret(None, "localglobus-no-such-user")
    assert not identities.verify_secret("not-a-hash", "s3cret")


def test_wrong_password_shows_the_sign_in_page_again(localglobus, auth_browser):
    portal = localglobus.portal_client
    query = {
        "client_id": portal["client_id"],
        "redirect_uri": portal["redirect_uris"][0],
        "scope": "openid",
        "response_type": "code",
        "state": "s",
    }
    page = auth_browser.session.get(
        localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query)
    )

    response = auth_browser.submit(page, username="researcher", password="wrong")

    assert response.status_code == 401
    error = BeautifulSoup(response.text, "html.parser").find(class_="error")
    assert error.get_text(strip=True) == "Wrong username or password."
    assert "Location" not in response.headers


def test_consent_form_needs_the_session_it_was_made_for(localglobus, auth_browser):
    """A consent form posted from another browser (CSRF) never yields a code."""
    portal = localglobus.portal_client
    query = {
        "client_id": portal["client_id"],
        "redirect_uri": portal["redirect_uris"][0],
        "scope": "openid",
        "response_type": "code",
    }
    page = auth_browser.session.get(
        localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query)
    )
    page = auth_browser.follow(
        auth_browser.submit(page, username="researcher", password=DEMO_PASSWORD)
    )
    attacker = AuthBrowser(localglobus.base_url)

    forged = attacker.submit(page, decision="allow")

    assert forged.status_code == 400
    assert "Location" not in forged.headers


def test_pages_cannot_be_framed_and_send_no_referrer(localglobus):
    response = requests.get(localglobus.base_url + "v2/web/auth-code?code=abc")

    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    code = BeautifulSoup(response.text, "html.parser").find(id="code")
    assert code.get_text() == "abc"


def test_expired_access_tokens_are_refused(auth_short_lived):
    lg = auth_short_lived
    client = auth_register_client(lg, "Short-lived test app")
    ac = globus_sdk.ConfidentialAppAuthClient(
        client["client_id"], client["client_secret"], base_url=lg.base_url
    )
    tokens = ac.oauth2_client_credentials_tokens("openid profile")
    assert tokens["expires_in"] == 2
    url = lg.base_url + "v2/oauth2/userinfo"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(url, headers=headers).status_code == 200

    time.sleep(2.5)  # the behaviour under test: the 2-second token expires (no thread waits)

    response = requests.get(url, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert ac.oauth2_token_introspect(tokens["access_token"])["active"] is False


def test_demo_is_idempotent_and_adds_a_missing_portal_redirect_uri(localglobus):
    before = localglobus.portal_client

    first = localglobus.cli("demo")
    moved = localglobus.cli("demo", "--portal-url", "http://127.0.0.1:5999/")

    after = json.loads((localglobus.home / "portal_client.json").read_text())
    assert after["client_id"] == before["client_id"]
    assert after["client_secret"] == before["client_secret"]
    assert after["redirect_uris"] == [
        before["redirect_uris"][0],
        "http://127.0.0.1:5999/auth/callback",
    ]
    assert (localglobus.home / "portal_client.json").stat().st_mode & 0o777 == 0o600
    assert f"researcher@uni.example / {DEMO_PASSWORD}" in first.stdout
    assert first.stdout.splitlines()[:2] == moved.stdout.splitlines()[:2]
    users = json.loads(localglobus.cli("user", "list", "--json").stdout)
    assert [u["username"] for u in users].count("researcher@uni.example") == 1


def test_user_add_prints_the_generated_password_that_then_signs_in(localglobus):
    created = json.loads(
        localglobus.cli("user", "add", "grace", "--name", "Grace H.", "--json").stdout
    )
    assert set(created) == {"identity_id", "username", "password"}
    browser = AuthBrowser(localglobus.base_url)
    portal = localglobus.portal_client
    query = {
        "client_id": portal["client_id"],
        "redirect_uri": portal["redirect_uris"][0],
        "scope": "openid profile",
        "response_type": "code",
        "state": "s",
    }

    response = browser.sign_in(
        localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query),
        username="grace",
        password=created["password"],
    )

    assert "code" in browser.code_from(response)
    again = localglobus.cli("user", "add", "grace", check=False)
    assert again.returncode == 1


def test_a_consent_page_shown_before_another_sign_in_no_longer_gives_a_code(
    localglobus, auth_browser
):
    portal = localglobus.portal_client
    query = {
        "client_id": portal["client_id"],
        "redirect_uri": portal["redirect_uris"][0],
        "scope": "openid",
        "response_type": "code",
        "prompt": "login",
    }
    url = localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query)
    first = auth_browser.session.get(url)
    consent_as_researcher = auth_browser.follow(
        auth_browser.submit(first, username="researcher", password=DEMO_PASSWORD)
    )
    second = auth_browser.session.get(url)
    auth_browser.submit(second, username="admin", password=DEMO_PASSWORD)

    stale = auth_browser.submit(consent_as_researcher, decision="allow")

    # Each sign-in starts a new session with a new form token: the page shown to
    # researcher cannot approve on admin's behalf.
    assert stale.status_code == 400
    assert "Location" not in stale.headers


def _authorize_url(lg) -> str:
    """An authorize URL of the portal's client asking for openid."""
    portal = lg.portal_client
    query = {
        "client_id": portal["client_id"],
        "redirect_uri": portal["redirect_uris"][0],
        "scope": "openid",
        "response_type": "code",
        "state": "s",
    }
    return lg.base_url + "v2/oauth2/authorize?" + urlencode(query)


def test_repeated_wrong_passwords_are_slowed_then_refused_even_when_right(localglobus):
    made = json.loads(localglobus.cli("user", "add", "mallory-target", "--json").stdout)
    browser = AuthBrowser(localglobus.base_url)

    answers, took = [], []
    for _ in range(6):
        page = browser.session.get(_authorize_url(localglobus))
        started = time.monotonic()
        answers.append(browser.submit(page, username="mallory-target", password="guess"))
        took.append(time.monotonic() - started)
    page = browser.session.get(_authorize_url(localglobus))
    right = browser.submit(page, username="mallory-target", password=made["password"])

    assert [a.status_code for a in answers] == [401] * 6
    assert took[5] >= 1.4 > took[0]  # the sixth guess waited; the first did not
    assert right.status_code == 429
    error = BeautifulSoup(right.text, "html.parser").find(class_="error")
    assert "Too many wrong passwords for mallory-target@uni.example" in error.get_text()
    # Other people are not locked out by someone guessing at one username.
    other = AuthBrowser(localglobus.base_url)
    assert "code" in other.code_from(other.sign_in(_authorize_url(localglobus)))


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(localglobus):
    browser = AuthBrowser(localglobus.base_url)
    browser.sign_in(_authorize_url(localglobus))
    copied = requests.Session()
    copied.cookies.update(browser.session.cookies)
    assert "/v2/web/consent" in copied.get(_authorize_url(localglobus)).url  # signed in

    page = browser.session.get(localglobus.base_url + "v2/web/logout")
    signed_out = browser.submit(page)

    assert signed_out.status_code == 200
    assert "/v2/web/login" in copied.get(_authorize_url(localglobus)).url
    assert "/v2/web/login" in browser.session.get(_authorize_url(localglobus)).url


def test_json_answers_carry_the_same_security_headers_as_pages(localglobus):
    for path in (".well-known/openid-configuration", "v0.10/endpoint_search"):
        response = requests.get(localglobus.base_url + path)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
