"""`next` only ever leads to a path of the portal (docs/security.md, Login: the exact list)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.portal.helpers.fake_auth import fake_sign_in
from tests.portal.helpers.signin import sign_in

EVIL_NEXTS = [
    "https://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "https://portal@evil.example",
]


def assert_portal_path(location: str) -> None:
    """A relative path of this origin, which no browser reads as another host."""
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "\\" not in location and "%5c" not in location.lower(), location
    assert "evil.example" not in location, location


@pytest.mark.parametrize("evil", EVIL_NEXTS)
def test_next_off_site_ends_on_a_portal_path(fake, fake_client, evil):
    response = fake_sign_in(fake_client, fake, next=evil)
    assert response.status_code == 302
    assert_portal_path(response.headers["Location"])
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("loop", ["/auth/login", "/auth/callback?code=x", "/auth/logout"])
def test_next_into_the_sign_in_machinery_ends_home(fake, fake_client, loop):
    assert fake_sign_in(fake_client, fake, next=loop).headers["Location"] == "/"


def test_next_with_query_survives_the_live_round_trip(client, localglobus):
    response = sign_in(client, localglobus, next="/files/?path=/a/b/", fresh=True)
    assert response.headers["Location"] == "/files/?path=/a/b/"


def test_guard_sends_anonymous_users_back_where_they_were(client, localglobus):
    response = client.get("/auth/profile?tab=tokens")
    login = urlsplit(response.headers["Location"])
    assert login.path == "/auth/login"
    assert parse_qs(login.query)["next"] == ["/auth/profile?tab=tokens"]
    landed = sign_in(client, localglobus, next=parse_qs(login.query)["next"][0], fresh=True)
    assert landed.headers["Location"] == "/auth/profile?tab=tokens"
    assert client.get(landed.headers["Location"]).status_code == 200


def test_consent_next_keeps_its_own_next(client, localglobus):
    """A ConsentRequired while signed out: sign in first, then the consent round runs."""
    consent = "/auth/consent?scope=urn:globus:auth:scope:transfer.api.globus.org:all&next=/files/"
    response = client.get(consent)
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert next_url == consent
    landed = sign_in(client, localglobus, next=next_url, fresh=True)
    assert landed.headers["Location"] == consent
