"""Users are keyed on the Globus identity `sub` (docs/security.md, Login)."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select

from app.extensions import db
from app.models import OAuthToken, User
from tests.portal.helpers.fake_auth import fake_sign_in

OTHER_SUB = "99999999-aaaa-4bbb-8ccc-dddddddddddd"


def users(app) -> list[User]:
    with app.app_context():
        return db.session.scalars(select(User).order_by(User.id)).all()


def test_changed_email_and_username_map_to_the_same_user(fake, fake_app):
    fake_sign_in(fake_app.test_client(), fake)
    (first,) = users(fake_app)
    fake_sign_in(
        fake_app.test_client(),
        fake,
        email="new@example.org",
        preferred_username="renamed@example.org",
        name="Renamed Person",
    )
    (again,) = users(fake_app)
    assert again.id == first.id
    assert (again.email, again.username, again.name) == (
        "new@example.org",
        "renamed@example.org",
        "Renamed Person",
    )
    assert again.last_login_at >= first.last_login_at


def test_another_sub_with_the_same_email_never_takes_over(fake, fake_app):
    victim_client = fake_app.test_client()
    fake_sign_in(victim_client, fake, email="shared@example.org")
    attacker_client = fake_app.test_client()
    fake_sign_in(
        attacker_client,
        fake,
        sub=OTHER_SUB,
        email="shared@example.org",
        preferred_username="fake@example.org",
    )
    victim, attacker = users(fake_app)
    assert victim.sub != attacker.sub == OTHER_SUB
    with fake_app.app_context():
        owners = set(db.session.scalars(select(OAuthToken.user_id)))
    assert owners == {victim.id, attacker.id}
    # Each browser sees its own identity.
    for client, sub in ((victim_client, victim.sub), (attacker_client, OTHER_SUB)):
        page = BeautifulSoup(client.get("/auth/profile").get_data(as_text=True), "html.parser")
        assert page.find("dd", attrs={"data-field": "sub"}).get_text(strip=True) == sub


def test_signing_in_as_someone_else_in_the_same_browser_drops_the_old_session(fake, fake_app):
    client = fake_app.test_client()
    fake_sign_in(client, fake)
    with client.session_transaction() as session:
        session["pending_transfer"] = {"submission_id": "of the first user"}
    fake_sign_in(client, fake, sub=OTHER_SUB)
    with client.session_transaction() as session:
        assert "pending_transfer" not in session
        assert session["user_id"] == users(fake_app)[1].id


def test_signing_in_again_as_the_same_user_keeps_the_session_data(fake, fake_app):
    client = fake_app.test_client()
    fake_sign_in(client, fake)
    with client.session_transaction() as session:
        session["pending_transfer"] = {"submission_id": "mine"}
    fake_sign_in(client, fake)
    with client.session_transaction() as session:
        assert session["pending_transfer"] == {"submission_id": "mine"}
