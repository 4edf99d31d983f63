"""The authorization-code flow of localglobus, driven with globus-sdk as a real client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import globus_sdk
import pytest
import requests
from bs4 import BeautifulSoup

from tests.conftest import DEMO_PASSWORD as PW

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
DATA_ACCESS = "https://auth.globus.org/scopes/0c7e0d2a-1111-4222-8333-444455556666/data_access"


def confidential(lg, client) -> globus_sdk.ConfidentialAppAuthClient:
    return globus_sdk.ConfidentialAppAuthClient(
        client["client_id"], client["client_secret"], base_url=lg.base_url
    )


def start(auth_client, redirect_uri, scopes, **params):
    """The authorize URL of a flow started by globus-sdk, with extra query params."""
    auth_client.oauth2_start_flow(redirect_uri, scopes, refresh_tokens=True, state="st4te")
    return auth_client.oauth2_get_authorize_url(query_params=params)


def test_code_flow_gives_one_token_per_resource_server_with_the_auth_token_on_top(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(
        ac,
        auth_confidential_client["redirect_uri"],
        ["openid", "profile", "email", f"{TRANSFER}[*{DATA_ACCESS}]"],
        nonce="n0nce",
    )
    back = auth_browser.code_from(auth_browser.sign_in(url))
    assert back["state"] == "st4te"

    tokens = ac.oauth2_exchange_code_for_tokens(back["code"])

    assert tokens["resource_server"] == "auth.globus.org"
    assert tokens["scope"] == "openid profile email"
    assert tokens["state"] == "st4te"
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 60
    [transfer] = tokens["other_tokens"]
    # The dependency is consented, but the token reports the plain scope (docs/globus-api.md A.2).
    assert transfer["scope"] == TRANSFER
    assert transfer["resource_server"] == "transfer.api.globus.org"
    assert set(tokens.by_resource_server) == {"auth.globus.org", "transfer.api.globus.org"}
    assert all("refresh_token" in t for t in tokens.by_resource_server.values())


def test_id_token_is_rs512_and_decodes_with_globus_sdk(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid", "profile", "email"])
    url += "&nonce=abc123"
    tokens = ac.oauth2_exchange_code_for_tokens(
        auth_browser.code_from(auth_browser.sign_in(url))["code"]
    )

    header = tokens["id_token"].split(".")[0]
    assert b'"RS512"' in base64.urlsafe_b64decode(header + "==")
    claims = tokens.decode_id_token()
    assert claims["aud"] == auth_confidential_client["client_id"]
    assert claims["iss"] == localglobus.base_url.rstrip("/")
    assert claims["nonce"] == "abc123"
    assert claims["preferred_username"] == "researcher@uni.example"
    assert claims["name"] == "Rosalind Researcher"
    assert claims["email"] == "researcher@uni.example"
    # Rosalind's identity set: her university identity (the token's) and her linked
    # partner identity, each of its own identity provider.
    members = claims["identity_set"]
    assert members[0]["sub"] == claims["sub"]
    assert [m["username"] for m in members] == [
        "researcher@uni.example",
        "researcher@partner.example",
    ]
    assert [m["identity_provider_display_name"] for m in members] == [
        "University of Example",
        "Partner Institute",
    ]
    assert members[0]["identity_provider"] == claims["identity_provider"]
    assert members[0]["identity_provider"] != members[1]["identity_provider"]
    assert {"exp", "iat", "at_hash", "organization", "identity_provider"} <= set(claims)


def test_no_id_token_without_openid_and_no_refresh_token_when_online(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    ac.oauth2_start_flow(auth_confidential_client["redirect_uri"], [TRANSFER])
    code = auth_browser.code_from(auth_browser.sign_in(ac.oauth2_get_authorize_url()))["code"]

    tokens = ac.oauth2_exchange_code_for_tokens(code)

    assert tokens["resource_server"] == "transfer.api.globus.org"
    assert tokens["other_tokens"] == []
    assert "id_token" not in tokens.data
    assert "refresh_token" not in tokens.data


def test_refresh_rotates_the_refresh_token_and_the_old_one_is_invalid_grant(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid", TRANSFER])
    tokens = ac.oauth2_exchange_code_for_tokens(
        auth_browser.code_from(auth_browser.sign_in(url))["code"]
    )
    old = tokens.by_resource_server["transfer.api.globus.org"]["refresh_token"]

    refreshed = ac.oauth2_refresh_token(old)

    assert refreshed["resource_server"] == "transfer.api.globus.org"
    assert refreshed["other_tokens"] == []
    assert refreshed["refresh_token"] != old
    # RefreshTokenAuthorizer needs exactly one resource server in the answer.
    assert list(refreshed.by_resource_server) == ["transfer.api.globus.org"]
    with pytest.raises(globus_sdk.AuthAPIError) as err:
        ac.oauth2_refresh_token(old)
    assert err.value.http_status == 400
    assert err.value.raw_json["error"] == "invalid_grant"
    assert err.value.message == "invalid_grant"  # what globus-cli recognises
    assert ac.oauth2_refresh_token(refreshed["refresh_token"])["access_token"]


def test_introspect_then_revoke_then_userinfo_refuses_the_token(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid", "profile", "email"])
    tokens = ac.oauth2_exchange_code_for_tokens(
        auth_browser.code_from(auth_browser.sign_in(url))["code"]
    )
    access = tokens["access_token"]

    info = ac.oauth2_token_introspect(access, include="identity_set")
    assert info["active"] is True
    assert info["username"] == "researcher@uni.example"
    assert info["client_id"] == auth_confidential_client["client_id"]
    assert info["scope"] == "openid profile email"
    assert info["identity_set"][0] == info["sub"] and len(info["identity_set"]) == 2
    user_ac = globus_sdk.AuthClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(access), base_url=localglobus.base_url
    )
    partner = user_ac.get_identities(ids=info["identity_set"][1])["identities"][0]
    assert partner["username"] == "researcher@partner.example"
    assert set(info["aud"]) == {"auth.globus.org", auth_confidential_client["client_id"]}

    assert ac.oauth2_revoke_token(access).data == {"active": False}

    assert ac.oauth2_token_introspect(access)["active"] is False
    response = requests.get(
        localglobus.base_url + "v2/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_session_info_reports_each_sign_in_of_the_session_and_survives_refresh(
    localglobus, auth_browser, auth_confidential_client
):
    """Introspection's session_info (what `globus session show` prints): the identities
    signed in during the browser session, with their times; a linked identity signing
    in later joins the same session."""
    import time

    ac = confidential(localglobus, auth_confidential_client)
    before = int(time.time())
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid", TRANSFER])
    first = ac.oauth2_exchange_code_for_tokens(
        auth_browser.code_from(auth_browser.sign_in(url))["code"]
    )
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid", TRANSFER], prompt="login")
    second = ac.oauth2_exchange_code_for_tokens(
        auth_browser.code_from(auth_browser.sign_in(url, username="researcher@partner.example"))[
            "code"
        ]
    )
    refreshed = ac.oauth2_refresh_token(
        second.by_resource_server["transfer.api.globus.org"]["refresh_token"]
    )

    info = ac.oauth2_token_introspect(second["access_token"], include="session_info,identity_set")
    after_refresh = ac.oauth2_token_introspect(refreshed["access_token"], include="session_info")
    earlier = ac.oauth2_token_introspect(first["access_token"], include="session_info")

    researcher, partner = info["identity_set"]
    authentications = info["session_info"]["authentications"]
    assert set(authentications) == {researcher, partner}
    assert all(before <= a["auth_time"] <= time.time() + 1 for a in authentications.values())
    assert info["session_info"]["session_id"]
    # Tokens of one browser session share it, before and after a refresh.
    assert earlier["session_info"] == after_refresh["session_info"] == info["session_info"]


def test_native_app_pkce_flow_with_the_auth_code_page(
    localglobus, auth_browser, auth_native_client
):
    nc = globus_sdk.NativeAppAuthClient(
        auth_native_client["client_id"], base_url=localglobus.base_url
    )
    nc.oauth2_start_flow(["openid", "profile", TRANSFER], refresh_tokens=True)
    url = nc.oauth2_get_authorize_url()
    assert "code_challenge_method=S256" in url

    response = auth_browser.sign_in(url)
    assert response.headers["Location"].startswith(localglobus.base_url + "v2/web/auth-code?")
    page = auth_browser.follow(response)
    code = auth_browser.code_from(response)["code"]
    assert code in page.text

    tokens = nc.oauth2_exchange_code_for_tokens(code)
    assert tokens.decode_id_token()["aud"] == auth_native_client["client_id"]
    transfer_refresh = tokens.by_resource_server["transfer.api.globus.org"]["refresh_token"]
    assert nc.oauth2_refresh_token(transfer_refresh)["refresh_token"]


def pkce_url(lg, client, method="S256", verifier=None):
    verifier = verifier or secrets.token_urlsafe(48)
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        challenge = verifier
    query = {
        "client_id": client["client_id"],
        "redirect_uri": lg.base_url + "v2/web/auth-code",
        "scope": "openid",
        "response_type": "code",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": method,
    }
    return lg.base_url + "v2/oauth2/authorize?" + urlencode(query), verifier


def native_exchange(lg, client, code, verifier):
    return requests.post(
        lg.base_url + "v2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client["client_id"],
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": lg.base_url + "v2/web/auth-code",
        },
    )


def test_pkce_plain_is_refused_back_at_the_redirect_uri(
    localglobus, auth_browser, auth_native_client
):
    url, _ = pkce_url(localglobus, auth_native_client, method="plain")

    response = auth_browser.session.get(url, allow_redirects=False)

    assert response.status_code == 302
    back = auth_browser.code_from(response)
    assert back["error"] == "invalid_request" and back["state"] == "s"
    assert "code" not in back


def test_wrong_code_verifier_is_refused(localglobus, auth_browser, auth_native_client):
    url, verifier = pkce_url(localglobus, auth_native_client)
    code = auth_browser.code_from(auth_browser.sign_in(url))["code"]

    response = native_exchange(localglobus, auth_native_client, code, verifier[::-1])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert native_exchange(localglobus, auth_native_client, code, "").status_code == 400


def test_native_client_must_send_a_code_verifier(localglobus, auth_browser, auth_native_client):
    query = {
        "client_id": auth_native_client["client_id"],
        "redirect_uri": localglobus.base_url + "v2/web/auth-code",
        "scope": "openid",
        "response_type": "code",
    }
    url = localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query)
    code = auth_browser.code_from(auth_browser.sign_in(url))["code"]

    response = requests.post(
        localglobus.base_url + "v2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": auth_native_client["client_id"],
            "code": code,
            "redirect_uri": query["redirect_uri"],
        },
    )

    assert response.status_code == 400


def test_code_replay_is_refused_and_revokes_the_tokens_of_the_first_use(
    localglobus, auth_browser, auth_native_client
):
    url, verifier = pkce_url(localglobus, auth_native_client)
    code = auth_browser.code_from(auth_browser.sign_in(url))["code"]
    first = native_exchange(localglobus, auth_native_client, code, verifier)
    assert first.status_code == 200
    access = first.json()["access_token"]

    replay = native_exchange(localglobus, auth_native_client, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.json()["errors"][0]["detail"] == "invalid_grant"
    userinfo = requests.get(
        localglobus.base_url + "v2/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"}
    )
    assert userinfo.status_code == 401


def test_deny_sends_access_denied_with_the_state(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid", TRANSFER])

    response = auth_browser.sign_in(url, decision="deny")

    assert response.headers["Location"].startswith(auth_confidential_client["redirect_uri"] + "?")
    back = auth_browser.code_from(response)
    assert back["error"] == "access_denied"
    assert back["state"] == "st4te"
    assert "code" not in back


@pytest.mark.parametrize("which", ["unregistered redirect_uri", "unknown client"])
def test_bad_client_or_redirect_uri_shows_an_error_page_and_never_redirects(
    localglobus, auth_confidential_client, which
):
    query = {
        "client_id": auth_confidential_client["client_id"],
        "redirect_uri": auth_confidential_client["redirect_uri"],
        "scope": "openid",
        "response_type": "code",
        "state": "s",
    }
    if which == "unknown client":
        query["client_id"] = "00000000-0000-4000-8000-000000000000"
    else:
        query["redirect_uri"] = "https://evil.example/steal"

    response = requests.get(
        localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query), allow_redirects=False
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert "evil.example" not in response.headers.get("Location", "")


def test_prompt_login_shows_the_sign_in_page_even_when_signed_in(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(ac, auth_confidential_client["redirect_uri"], ["openid"])
    auth_browser.sign_in(url)

    again = auth_browser.session.get(url)
    forced = auth_browser.session.get(url + "&prompt=login")

    assert "/v2/web/consent" in again.url  # the session is remembered
    assert "/v2/web/login" in forced.url


def test_session_parameters_are_accepted_and_the_message_is_shown(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    url = start(
        ac,
        auth_confidential_client["redirect_uri"],
        ["openid"],
        session_required_identities="researcher@uni.example",
        session_message="Please re-authenticate for <Ferry>",
    )

    page = auth_browser.session.get(url)

    assert "/v2/web/login" in page.url
    assert "Please re-authenticate for &lt;Ferry&gt;" in page.text
    assert "code" in auth_browser.code_from(auth_browser.sign_in(url))


def test_unknown_scope_syntax_error_goes_back_as_invalid_scope(
    localglobus, auth_confidential_client
):
    query = {
        "client_id": auth_confidential_client["client_id"],
        "redirect_uri": auth_confidential_client["redirect_uri"],
        "scope": f"{TRANSFER}[{DATA_ACCESS}",
        "response_type": "code",
        "state": "s",
    }

    response = requests.get(
        localglobus.base_url + "v2/oauth2/authorize?" + urlencode(query), allow_redirects=False
    )

    back = parse_qs(urlsplit(response.headers["Location"]).query)
    assert back["error"] == ["invalid_scope"]
    assert back["state"] == ["s"]


def test_consent_page_lists_the_requested_scopes_and_names_the_collection(
    localglobus, auth_browser, auth_confidential_client
):
    import sqlite3

    with sqlite3.connect(localglobus.home / "localglobus.db") as db:
        collection_id, name = db.execute(
            "SELECT id, display_name FROM transfer_collections ORDER BY display_name"
        ).fetchone()
    data_access = f"https://auth.globus.org/scopes/{collection_id}/data_access"
    ac = confidential(localglobus, auth_confidential_client)
    url = start(
        ac, auth_confidential_client["redirect_uri"], ["openid", f"{TRANSFER}[*{data_access}]"]
    )
    page = auth_browser.session.get(url)
    page = auth_browser.follow(
        auth_browser.submit(page, username="admin", password=localglobus.password)
    )

    soup = BeautifulSoup(page.text, "html.parser")
    listed = [code.get_text() for code in soup.select("ul.scopes code.scope")]
    labels = [label.get_text(" ", strip=True) for label in soup.select("ul.scopes .label")]
    assert listed == ["openid", TRANSFER, data_access]
    assert labels[-1] == f"Access your data on collection {name} (optional)"
    assert soup.select_one(".username").get_text() == "admin@uni.example"
    assert [b["value"] for b in soup.select("form button")] == ["allow", "deny"]


def test_session_required_single_domain_asks_for_an_identity_of_that_domain(
    localglobus, auth_browser, auth_confidential_client
):
    ac = confidential(localglobus, auth_confidential_client)
    redirect_uri = auth_confidential_client["redirect_uri"]
    auth_browser.sign_in(start(ac, redirect_uri, ["openid"]))  # researcher@uni.example

    page = auth_browser.session.get(
        start(ac, redirect_uri, ["openid"], session_required_single_domain="partner.example")
    )
    needs = BeautifulSoup(page.text, "html.parser").find(class_="notice").get_text(" ", strip=True)
    again = auth_browser.follow(auth_browser.submit(page, username="researcher", password=PW))
    partner = auth_browser.submit(again, username="researcher@partner.example", password=PW)
    code = auth_browser.code_from(
        auth_browser.submit(auth_browser.follow(partner), decision="allow")
    )
    tokens = ac.oauth2_exchange_code_for_tokens(code["code"])
    info = ac.oauth2_token_introspect(tokens["access_token"], include="session_info")

    assert "/v2/web/login" in page.url and "an identity of partner.example" in needs
    assert "/v2/web/login" in again.url  # a uni.example sign-in does not meet it
    assert len(info["session_info"]["authentications"]) == 2  # both, in one session


def test_session_required_mfa_asks_for_the_authenticator_code(
    localglobus, auth_browser, auth_confidential_client
):
    import pyotp

    demo = localglobus.cli("demo").stdout.splitlines()
    at = next(i for i, line in enumerate(demo) if line.startswith("researcher@uni.example /"))
    secret = demo[at + 1].rpartition(": ")[2]
    ac = confidential(localglobus, auth_confidential_client)
    url = start(
        ac, auth_confidential_client["redirect_uri"], ["openid"], session_required_mfa="True"
    )

    page = auth_browser.session.get(url)
    mfa_page = auth_browser.submit(page, username="researcher", password=PW)
    wrong = auth_browser.submit(mfa_page, code="000000")
    right = auth_browser.submit(mfa_page, code=pyotp.TOTP(secret).now())
    code = auth_browser.code_from(auth_browser.submit(auth_browser.follow(right), decision="allow"))
    tokens = ac.oauth2_exchange_code_for_tokens(code["code"])
    info = ac.oauth2_token_introspect(tokens["access_token"], include="session_info")

    assert mfa_page.status_code == 200 and "authenticator app" in mfa_page.text
    assert wrong.status_code == 401 and "not right" in wrong.text
    assert right.status_code == 302
    (auth,) = info["session_info"]["authentications"].values()
    assert auth["amr"] == ["mfa"]
