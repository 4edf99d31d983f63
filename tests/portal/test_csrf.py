"""CSRF (docs/security.md, Sessions, CSRF, headers): every state-changing route needs this
session's CSRF token; without one, or with another session's: 400 and no call to Globus.
Every POST form the portal renders carries the token."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.portal.helpers.fake_auth import fake_sign_in
from tests.portal.helpers.pages import csrf_token
from tests.portal.helpers.routes import portal_routes
from tests.portal.helpers.signin import sign_in

ROUTES = portal_routes()
STATE_CHANGING = sorted({(r.endpoint, r.path) for r in ROUTES if r.state_changing})
PAGES = sorted({r.path for r in ROUTES if "GET" in r.methods and r.endpoint != "static"})


@pytest.mark.parametrize(("endpoint", "path"), STATE_CHANGING, ids=[p for _, p in STATE_CHANGING])
def test_post_without_or_with_foreign_csrf_token_is_400(fake, fake_app, endpoint, path):
    victim = fake_app.test_client()
    fake_sign_in(victim, fake)
    attacker = fake_app.test_client()
    fake_sign_in(attacker, fake, sub="99999999-aaaa-4bbb-8ccc-dddddddddddd")
    foreign = csrf_token(attacker)
    before = list(fake.requests)

    for data in ({}, {"csrf_token": foreign}, {"csrf_token": "forged"}):
        response = victim.post(path, data=data, headers={"Origin": "https://evil.example"})
        assert response.status_code == 400, f"{endpoint} with {data}: {response.status_code}"
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        assert page.find("h1").get_text(strip=True)

    assert fake.requests == before  # nothing reached Globus
    assert victim.get("/auth/profile").status_code == 200  # and the victim is still in


def test_every_post_form_carries_the_csrf_token(client, localglobus):
    sign_in(client, localglobus)
    checked = 0
    for path in PAGES:
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        for form in page.find_all("form"):
            if (form.get("method") or "get").lower() != "post":
                continue
            token = form.find("input", attrs={"name": "csrf_token", "type": "hidden"})
            assert token is not None and token.get("value"), f"{path}: {form.get('action')}"
            checked += 1
    assert checked >= 2  # at least the sign-out and revoke forms were seen
