"""The consent step-up: when Globus answers ConsentRequired, /auth/consent runs one more
authorize round with the base scopes plus the required ones, then returns to `next`
with the new tokens stored in place of the old."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from app.errors import ConsentRequired
from app.extensions import db
from app.globus import tokens
from app.models import User
from tests.portal.helpers.signin import authorize_url, callback, globus_round_trip, sign_in

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
COLLECTION = "6f2bd3a4-0d7e-4c3b-9a51-2f1f0e5c9b77"
DATA_ACCESS = f"{TRANSFER}[*https://auth.globus.org/scopes/{COLLECTION}/data_access]"


def transfer_token(app) -> str:
    with app.app_context():
        return tokens.get_access_token(
            db.session.scalar(select(User.id)), "transfer.api.globus.org"
        )


def test_consent_asks_for_base_scopes_plus_the_required_ones(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    url = authorize_url(client, "/auth/consent", scope=[DATA_ACCESS], next="/files/")
    scopes = parse_qs(urlsplit(url).query)["scope"][0].split(" ")
    base = [s for s in app.config["FERRY_SCOPES"] if s != TRANSFER]
    # The dependency form replaces the plain transfer scope; the rest are kept as they are.
    assert scopes == [*base, DATA_ACCESS]


def test_consent_round_trip_returns_to_next_with_new_tokens(app, client, localglobus):
    sign_in(client, localglobus, fresh=True)
    before = transfer_token(app)
    url = authorize_url(client, "/auth/consent", scope=[DATA_ACCESS], next="/files/?path=/a/")
    response = callback(client, globus_round_trip(url, localglobus))
    assert response.status_code == 302
    assert response.headers["Location"] == "/files/?path=/a/"
    assert transfer_token(app) != before
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1


def test_consent_required_error_leads_to_the_consent_step_up(app, localglobus):
    @app.get("/needs-consent")
    def needs_consent():
        raise ConsentRequired("Missing required data_access consent", required_scopes=[DATA_ACCESS])

    client = app.test_client()
    sign_in(client, localglobus, fresh=True)
    response = client.get("/needs-consent")
    consent = urlsplit(response.headers["Location"])
    assert consent.path == "/auth/consent"
    assert parse_qs(consent.query) == {"scope": [DATA_ACCESS], "next": ["/needs-consent"]}


@pytest.mark.parametrize(
    "scopes",
    [[], ["bad\nscope"], ["x" * 2000], ["unbalanced[bracket"], ["<script>"], ["s"] * 11],
    ids=["none", "newline", "oversized", "unbalanced", "markup", "too many"],
)
def test_consent_refuses_malformed_scopes(client, localglobus, scopes):
    sign_in(client, localglobus, fresh=True)
    response = client.get("/auth/consent?" + urlencode({"scope": scopes, "next": "/"}, doseq=True))
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.find("h1").get_text(strip=True) == "Check your input"
