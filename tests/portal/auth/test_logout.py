"""Signing out (docs/security.md, Login): a CSRF-checked POST that revokes every token at
Globus Auth, deletes the rows, destroys the server-side session and expires the cookie,
even when Globus Auth is down. Nothing else signs anyone out."""

from __future__ import annotations

import requests
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app.extensions import db
from app.globus import tokens
from app.models import OAuthToken, SessionRecord, User
from tests.portal.helpers.fake_auth import FakeOIDC, fake_sign_in
from tests.portal.helpers.pages import csrf_token
from tests.portal.helpers.signin import sign_in


def signed_in(client) -> bool:
    return client.get("/auth/profile").status_code == 200


def stored_tokens(app) -> dict[str, tuple[str, str]]:
    """{resource server: (access token, refresh token)} of the only user."""
    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        rows = db.session.scalars(select(OAuthToken)).all()
        return {
            row.resource_server: (
                tokens.get_access_token(user_id, row.resource_server),
                tokens.decrypt(row, "refresh_token"),
            )
            for row in rows
        }


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def introspect(lg, token: str) -> dict:
    client = lg.portal_client
    response = requests.post(
        lg.base_url + "v2/oauth2/token/introspect",
        data={"token": token},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_logout_revokes_every_token_at_globus(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    held = stored_tokens(app)
    assert {"auth.globus.org", "transfer.api.globus.org"} <= set(held)
    for access, refresh in held.values():
        assert introspect(localglobus, access)["active"] is True

    response = client.post(
        "/auth/logout", data={"csrf_token": csrf_token(client, form="/auth/logout")}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    for access, refresh in held.values():
        assert introspect(localglobus, access)["active"] is False
        assert introspect(localglobus, refresh)["active"] is False
    auth_access = held["auth.globus.org"][0]
    userinfo = requests.get(
        localglobus.base_url + "v2/oauth2/userinfo",
        headers={"Authorization": f"Bearer {auth_access}"},
        timeout=10,
    )
    assert userinfo.status_code == 401


def test_logout_deletes_token_rows_and_destroys_the_session(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    session_id = client.get_cookie("ferry_session").value
    assert count(app, OAuthToken) >= 2

    response = client.post(
        "/auth/logout", data={"csrf_token": csrf_token(client, form="/auth/logout")}
    )

    assert count(app, OAuthToken) == 0
    # The cookie is expired on the response, and the server forgot the session.
    assert any(
        h.startswith("ferry_session=;") and "Expires=Thu, 01 Jan 1970" in h
        for h in response.headers.getlist("Set-Cookie")
    )
    assert client.get_cookie("ferry_session") is None
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(SessionRecord)
                .where(SessionRecord.session_id == session_id)
            )
            == 0
        )
    # Replaying the old cookie signs nobody in.
    client.set_cookie("ferry_session", session_id)
    assert not signed_in(client)
    # The user row stays (their identity); only tokens and the session go.
    assert count(app, User) == 1


def test_logout_still_signs_out_when_globus_auth_is_down(make_app):
    with FakeOIDC() as fake:
        app = make_app(**fake.portal_config())
        client = app.test_client()
        assert fake_sign_in(client, fake).status_code == 302
        token = csrf_token(client, form="/auth/logout")
    # The fake is closed: revocation fails with connection refused.
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert count(app, OAuthToken) == 0
    assert client.get_cookie("ferry_session") is None
    assert not signed_in(client)


def test_logout_revokes_at_the_configured_auth(make_app):
    with FakeOIDC() as fake:
        app = make_app(**fake.portal_config())
        client = app.test_client()
        fake_sign_in(client, fake)
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, form="/auth/logout")})
        assert sorted(fake.revocations) == sorted(
            [
                "fake-auth-access-token",
                "fake-auth-refresh-token",
                "fake-transfer-access-token",
                "fake-transfer-refresh-token",
            ]
        )


def test_get_logout_is_405_and_keeps_the_user_signed_in(client, localglobus):
    sign_in(client, localglobus, fresh=True)
    assert client.get("/auth/logout").status_code == 405
    assert signed_in(client)


def test_cross_site_post_without_csrf_token_is_400_and_keeps_the_user(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    response = client.post("/auth/logout", headers={"Origin": "https://evil.example"})
    assert response.status_code == 400
    assert signed_in(client)
    assert count(app, OAuthToken) >= 2


def test_logout_with_another_sessions_csrf_token_is_400(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    other = app.test_client()
    sign_in(other, localglobus, "admin", fresh=True)
    response = client.post(
        "/auth/logout", data={"csrf_token": csrf_token(other, form="/auth/logout")}
    )
    assert response.status_code == 400
    assert signed_in(client)


def test_sign_out_button_on_every_page_is_a_csrf_post(client, localglobus):
    sign_in(client, localglobus, fresh=True)
    page = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
    form = page.find(class_="account").find("form", action="/auth/logout")
    assert form["method"] == "post"
    assert form.find("input", attrs={"name": "csrf_token", "type": "hidden"})["value"]
    assert form.find("button", type="submit").get_text(strip=True) == "Sign out"
