"""id_token validation (docs/security.md, Login): every forged or stale id_token is refused.

A fake OpenID provider on loopback (tests.portal.helpers.signin.FakeOIDC) issues the
id_tokens; the portal redeems a code there and must refuse to sign anyone in.
"""

from __future__ import annotations

import logging
import time

import pytest
from bs4 import BeautifulSoup
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from app.extensions import db
from app.models import OAuthToken, User
from tests.portal.helpers.signin import CALLBACK_PATH, authorize_url


def _callback_with(client, fake, make_token):
    """Start a login, let the fake provider answer with `make_token(fake)`, call back."""
    params = fake.authorize(authorize_url(client))
    fake.id_token = lambda nonce: make_token(fake)
    return client.get(f"{CALLBACK_PATH}?code=fake-code&state={params['state']}")


def _assert_refused(response, app, client):
    """A 400 page that says so, no user, no token row, and still signed out."""
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == "Sign-in failed"
    assert page.find("a", string="Sign in again")["href"].startswith("/auth/login")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(OAuthToken)) == 0
    assert client.get("/auth/profile").headers["Location"].startswith("/auth/login")


OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})

FORGERIES = {
    "wrong iss": lambda f: f.sign(f.claims(iss="https://evil.example")),
    "wrong aud": lambda f: f.sign(f.claims(aud="someone-else")),
    "aud list without us": lambda f: f.sign(f.claims(aud=["auth.globus.org", "other"])),
    "wrong nonce": lambda f: f.sign(f.claims(nonce="not-the-nonce")),
    "missing nonce": lambda f: f.sign({k: v for k, v in f.claims().items() if k != "nonce"}),
    "expired": lambda f: f.sign(f.claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
    "missing sub": lambda f: f.sign({k: v for k, v in f.claims().items() if k != "sub"}),
    "sub not a string": lambda f: f.sign(f.claims(sub=12345)),
    "oversized sub": lambda f: f.sign(f.claims(sub="s" * 65)),
    "alg none": lambda f: f.unsigned(f.claims()),
    "HS256 signed with the public key": lambda f: f.hs256_with_public_key(f.claims()),
    "bad signature (another key, same kid)": lambda f: f.sign(f.claims(), key=OTHER_KEY),
    "tampered payload": lambda f: _tamper(f.sign(f.claims())),
    "not a JWT": lambda f: "not.a.jwt",
}


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    return ".".join(
        [header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]
    )


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_login_rejects_forged_or_stale_id_token(fake, fake_app, fake_client, forgery, caplog):
    caplog.set_level(logging.WARNING, logger="ferry.security")
    response = _callback_with(fake_client, fake, FORGERIES[forgery])
    _assert_refused(response, fake_app, fake_client)
    assert any("login rejected" in r.getMessage() for r in caplog.records)


def test_login_rejects_missing_id_token(fake, fake_app, fake_client):
    params = fake.authorize(authorize_url(fake_client))
    fake.id_token = None
    response = fake_client.get(f"{CALLBACK_PATH}?code=fake-code&state={params['state']}")
    _assert_refused(response, fake_app, fake_client)


def test_login_unknown_kid_refetches_jwks_once_then_rejects(fake, fake_app, fake_client):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k-unknown"})
    response = _callback_with(fake_client, fake, lambda f: f.sign(f.claims(), key=stranger))
    _assert_refused(response, fake_app, fake_client)
    # The first fetch, then exactly one refetch for the unknown kid.
    assert fake.jwks_fetches == 2


def test_login_accepts_rotated_key_after_one_jwks_refetch(fake, fake_app, fake_client):
    # Warm the portal's JWKS cache with the old key.
    assert _callback_with(fake_client, fake, lambda f: f.sign(f.claims())).status_code == 302
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"})
    fake.jwks_keys = [rotated]
    fetches = fake.jwks_fetches
    response = _callback_with(fake_client, fake, lambda f: f.sign(f.claims(), key=rotated))
    assert response.status_code == 302
    assert fake.jwks_fetches == fetches + 1


def test_login_accepts_rs256(fake, fake_client):
    response = _callback_with(fake_client, fake, lambda f: f.sign(f.claims(), alg="RS256"))
    assert response.status_code == 302


def test_login_accepts_valid_id_token_and_stores_every_token(fake, fake_app, fake_client):
    response = _callback_with(fake_client, fake, lambda f: f.sign(f.claims()))
    assert response.status_code == 302
    with fake_app.app_context():
        rows = db.session.scalars(select(OAuthToken).order_by(OAuthToken.resource_server)).all()
        assert [r.resource_server for r in rows] == ["auth.globus.org", "transfer.api.globus.org"]
        for row in rows:
            # expires_at from expires_in (172800 s), not "now".
            assert row.expires_at.timestamp() > time.time() + 172000


def test_login_keeps_overlong_display_claims_within_the_users_table(fake, fake_app, fake_client):
    long = "n" * 1000
    response = _callback_with(
        fake_client,
        fake,
        lambda f: f.sign(f.claims(name=long, preferred_username=long, email=long)),
    )
    assert response.status_code == 302
    with fake_app.app_context():
        user = db.session.scalar(select(User))
        assert (len(user.name), len(user.username), len(user.email)) == (255, 255, 255)
