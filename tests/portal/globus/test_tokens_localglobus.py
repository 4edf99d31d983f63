"""The token store against the live localglobus: a real sign-in, a real refresh (rotated
refresh token), a real invalid_grant, and a 401 from Transfer that triggers one refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.errors import LoginRequired
from app.extensions import db
from app.globus import tokens
from app.globus.client import TRANSFER_RS, transfer_client
from app.models import OAuthToken, User
from tests.portal.helpers.signin import sign_in


@pytest.fixture
def researcher(app, client, localglobus) -> int:
    """The demo researcher, signed in through localglobus; their user id."""
    sign_in(client, localglobus, fresh=True)
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username.startswith("researcher")))


def stored(app, user: int) -> tuple[str, str, int]:
    """(access token, refresh token, version) of the user's transfer token."""
    with app.app_context():
        row = db.session.scalar(
            select(OAuthToken).where(
                OAuthToken.user_id == user, OAuthToken.resource_server == TRANSFER_RS
            )
        )
        return (
            tokens.decrypt(row, "access_token"),
            tokens.decrypt(row, "refresh_token"),
            row.version,
        )


def set_row(app, user: int, **values) -> None:
    table = OAuthToken.__table__
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.user_id == user, table.c.resource_server == TRANSFER_RS)
            .values(**values)
        )


def test_expired_token_is_refreshed_at_localglobus_and_works(app, researcher):
    access, refresh, version = stored(app, researcher)
    set_row(app, researcher, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with app.app_context():
        new_access = tokens.get_access_token(researcher, TRANSFER_RS)
        assert new_access != access
        assert transfer_client(researcher).get_submission_id()["value"]
    _, new_refresh, new_version = stored(app, researcher)
    assert new_version == version + 1
    assert new_refresh  # kept (rotated or echoed), never lost


def test_refused_refresh_token_deletes_the_row_and_asks_to_sign_in(app, researcher):
    with app.app_context():
        tokens.save_token_response(
            researcher,
            [
                {
                    "resource_server": TRANSFER_RS,
                    "access_token": "expired-access",
                    "refresh_token": "a-refresh-token-localglobus-never-issued",
                    "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
                    "expires_at": 0,
                }
            ],
        )
        with pytest.raises(LoginRequired):
            tokens.get_access_token(researcher, TRANSFER_RS)
        assert TRANSFER_RS not in [t.resource_server for t in tokens.list_tokens(researcher)]


def test_token_rejected_by_transfer_is_refreshed_once_and_the_call_retried(app, researcher):
    _, refresh, version = stored(app, researcher)
    with app.app_context():
        tokens.save_token_response(
            researcher,
            [
                {
                    "resource_server": TRANSFER_RS,
                    "access_token": "an-access-token-transfer-rejects",
                    "refresh_token": None,  # keep the real one
                    "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
                    "expires_at": int(datetime.now(UTC).timestamp()) + 3600,
                }
            ],
        )
        assert transfer_client(researcher).get_submission_id()["value"]
    access, _, new_version = stored(app, researcher)
    assert access != "an-access-token-transfer-rejects"
    assert new_version == version + 2  # our save, then exactly one refresh
