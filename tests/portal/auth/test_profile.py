"""The profile page: who is signed in, their linked identities, and which tokens the
portal holds (never the tokens themselves), with the revoke-and-sign-out button."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select

from app.extensions import db
from app.globus import tokens
from app.models import OAuthToken, User
from tests.portal.helpers.fake_auth import FakeOIDC, fake_sign_in
from tests.portal.helpers.signin import sign_in


def profile_page(client) -> BeautifulSoup:
    response = client.get("/auth/profile")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def field(page, name: str) -> str:
    return page.find("dd", attrs={"data-field": name}).get_text(strip=True)


def test_profile_shows_the_signed_in_identity(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    page = profile_page(client)
    with app.app_context():
        user = db.session.scalar(select(User))
    assert page.find("h1").get_text(strip=True) == "Your profile"
    assert field(page, "username") == user.username
    assert field(page, "name") == user.name
    assert field(page, "email") == user.email
    assert field(page, "sub") == user.sub
    # localglobus returns the identity set with `profile`: it is listed.
    linked = page.find("table", id="linked-identities")
    ids = [row.find_all("td")[-1].get_text(strip=True) for row in linked.tbody.find_all("tr")]
    assert user.sub in ids


def test_profile_lists_tokens_but_never_their_values(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    page = profile_page(client)
    html = str(page)
    table = page.find("table", id="tokens")
    headers = [th.get_text(strip=True) for th in table.thead.find_all("th")]
    assert headers == ["Resource server", "Scopes", "Expires"]
    rows = {tr.find_all("td")[0].get_text(strip=True): tr for tr in table.tbody.find_all("tr")}
    assert {"auth.globus.org", "transfer.api.globus.org"} <= set(rows)
    transfer_scopes = [
        li.get_text(strip=True) for li in rows["transfer.api.globus.org"].find_all("li")
    ]
    assert "urn:globus:auth:scope:transfer.api.globus.org:all" in transfer_scopes
    assert rows["auth.globus.org"].find("time")["datetime"]
    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        for row in db.session.scalars(select(OAuthToken)):
            access = tokens.get_access_token(user_id, row.resource_server)
            refresh = tokens.decrypt(row, "refresh_token")
            assert access not in html and refresh not in html
            assert row.access_token_enc not in html


def test_profile_has_the_revoke_and_sign_out_button(client, localglobus):
    sign_in(client, localglobus, fresh=True)
    form = profile_page(client).find("form", id="revoke-form")
    assert form["action"] == "/auth/logout" and form["method"] == "post"
    assert form.find("input", attrs={"name": "csrf_token"})["value"]
    assert form.find("button", type="submit").get_text(strip=True) == "Revoke tokens and sign out"
    response = client.post(
        "/auth/logout",
        data={"csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"]},
    )
    assert response.status_code == 302
    assert client.get("/auth/profile").status_code == 302


def test_profile_escapes_identity_fields(make_app):
    hostile = '<script>alert("x")</script>'
    identity_set = [
        {"sub": "11111111-2222-3333-4444-555555555555", "username": "fake@example.org"},
        {
            "sub": "99999999-2222-3333-4444-555555555555",
            "username": "other@example.org",
            "name": hostile,
            "email": "other@example.org",
            "identity_provider_display_name": "Another University",
        },
    ]
    with FakeOIDC() as fake:
        client = make_app(**fake.portal_config()).test_client()
        fake_sign_in(client, fake, name=hostile, identity_set=identity_set)
    page = profile_page(client)
    assert page.find("main").find("script") is None
    assert field(page, "name") == hostile
    rows = page.find("table", id="linked-identities").tbody.find_all("tr")
    cells = [td.get_text(strip=True) for td in rows[1].find_all("td")]
    assert cells == [
        "other@example.org",
        hostile,
        "other@example.org",
        "Another University",
        "99999999-2222-3333-4444-555555555555",
    ]


def test_profile_without_linked_identities_has_no_empty_table(make_app):
    with FakeOIDC() as fake:
        client = make_app(**fake.portal_config()).test_client()
        fake_sign_in(client, fake)
    assert profile_page(client).find("table", id="linked-identities") is None


def test_profile_is_for_signed_in_users_only(client):
    response = client.get("/auth/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/auth/profile"
