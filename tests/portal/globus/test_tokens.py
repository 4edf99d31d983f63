"""The token store: encrypted at rest, rotated keys, refresh and its failures, revocation."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from app.errors import GlobusUnavailable, LoginRequired
from app.extensions import db
from app.globus import client as globus_client
from app.globus import tokens
from app.globus.crypto import generate_key
from app.models import OAuthToken
from tests.portal.conftest import make_user

RS = "transfer.api.globus.org"
ACCESS = "AgTransferAccessTokenPlaintext0123456789"
REFRESH = "AgTransferRefreshTokenPlaintext9876543210"


def token_dict(access=ACCESS, refresh=REFRESH, expires_in=3600, rs=RS) -> dict:
    return {
        "resource_server": rs,
        "access_token": access,
        "refresh_token": refresh,
        "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
        "expires_at": int(time.time()) + expires_in,
    }


def save(app, user_id, **kwargs) -> None:
    with app.app_context():
        tokens.save_token_response(user_id, [token_dict(**kwargs)])


def expire(app, user_id, rs=RS) -> None:
    """Make the stored token expire now (as if two days had passed)."""
    table = OAuthToken.__table__
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.user_id == user_id, table.c.resource_server == rs)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )


def database_dump(app) -> str:
    """Every stored value as text: SQLite's iterdump, or each text/bytea column on PostgreSQL."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                return "\n".join(raw.driver_connection.iterdump())
            finally:
                raw.close()
        with engine.connect() as conn:
            columns = conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() "
                    "AND data_type IN ('text', 'character varying', 'bytea', 'json', 'jsonb')"
                )
            ).all()
            values = []
            for table, column in columns:
                for (value,) in conn.execute(text(f'SELECT "{column}" FROM "{table}"')):
                    values.append(
                        value.hex() + bytes(value).decode("latin-1")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    )
            return "\n".join(values)


@pytest.fixture
def user(token_app) -> int:
    return make_user(token_app)


def test_database_dump_contains_no_token_in_plaintext(token_app, user):
    save(token_app, user)
    dump = database_dump(token_app)
    assert "oauth_tokens" in dump or "v1." in dump
    assert ACCESS not in dump and REFRESH not in dump
    assert ACCESS[4:20] not in dump


def test_token_row_repr_shows_no_token(token_app, user):
    save(token_app, user)
    with token_app.app_context():
        row = db.session.scalar(select(OAuthToken))
        shown = repr(row)
    assert ACCESS not in shown and REFRESH not in shown
    assert row.access_token_enc not in shown


def test_fresh_token_is_read_without_calling_auth(token_app, user, fake_auth):
    save(token_app, user)
    with token_app.app_context():
        assert tokens.get_access_token(user, RS) == ACCESS
    assert fake_auth.refresh_calls == 0


def test_missing_token_asks_to_sign_in(token_app, user):
    with token_app.app_context(), pytest.raises(LoginRequired):
        tokens.get_access_token(user, RS)


def test_new_key_first_still_reads_old_tokens_and_rekey_lets_the_old_key_go(make_app, fake_auth):
    old, new = generate_key(), generate_key()
    before = make_app(FERRY_TOKEN_KEYS=[old], FERRY_GLOBUS_AUTH_URL=fake_auth.url)
    user = make_user(before)
    save(before, user)
    rotated = make_app(FERRY_TOKEN_KEYS=[new, old], FERRY_GLOBUS_AUTH_URL=fake_auth.url)
    with rotated.app_context():
        assert tokens.get_access_token(user, RS) == ACCESS
        result = tokens.rekey_all()
    assert (result.rekeyed, result.failed) == (1, 0)
    only_new = make_app(FERRY_TOKEN_KEYS=[new], FERRY_GLOBUS_AUTH_URL=fake_auth.url)
    with only_new.app_context():
        assert tokens.get_access_token(user, RS) == ACCESS
        assert tokens.rekey_all().rekeyed == 0
    only_old = make_app(FERRY_TOKEN_KEYS=[old], FERRY_GLOBUS_AUTH_URL=fake_auth.url)
    with only_old.app_context(), pytest.raises(LoginRequired):
        tokens.get_access_token(user, RS)


def test_ciphertext_copied_to_another_users_row_does_not_decrypt(token_app):
    alice = make_user(token_app, "00000000-0000-4000-8000-00000000000a")
    mallory = make_user(token_app, "00000000-0000-4000-8000-00000000000b")
    save(token_app, alice)
    save(token_app, mallory, access="mallory-access", refresh="mallory-refresh")
    table = OAuthToken.__table__
    with token_app.app_context():
        with db.engine.begin() as conn:
            stolen = conn.execute(
                select(table.c.access_token_enc).where(table.c.user_id == alice)
            ).scalar_one()
            conn.execute(
                update(table).where(table.c.user_id == mallory).values(access_token_enc=stolen)
            )
        with pytest.raises(LoginRequired):
            tokens.get_access_token(mallory, RS)
        assert tokens.get_access_token(alice, RS) == ACCESS


def test_save_without_refresh_token_keeps_the_stored_one(token_app, user, fake_auth):
    save(token_app, user)
    save(token_app, user, access="second-access", refresh=None)
    fake_auth.accept(REFRESH, RS)
    expire(token_app, user)
    with token_app.app_context():
        assert tokens.get_access_token(user, RS).startswith("access-")
    assert fake_auth.refresh_calls == 1 and fake_auth.refused == 0


def test_expired_token_is_refreshed_and_the_rotated_refresh_token_kept(token_app, user, fake_auth):
    save(token_app, user)
    fake_auth.accept(REFRESH, RS)
    expire(token_app, user)
    with token_app.app_context():
        first = tokens.get_access_token(user, RS)
        assert first.startswith("access-1-")
        assert tokens.get_access_token(user, RS) == first  # stored, not refreshed again
        expire(token_app, user)
        second = tokens.get_access_token(user, RS)  # the rotated refresh token works
    assert second.startswith("access-2-")
    assert (fake_auth.refresh_calls, fake_auth.refused) == (2, 0)
    assert fake_auth.basic_client_id() == {"portal-client"}


def test_invalid_grant_deletes_the_token_and_asks_to_sign_in(token_app, user, fake_auth):
    save(token_app, user)
    expire(token_app, user)
    fake_auth.mode = "invalid_grant"
    with token_app.app_context():
        with pytest.raises(LoginRequired):
            tokens.get_access_token(user, RS)
        assert tokens.list_tokens(user) == []


def test_invalid_grant_keeps_a_token_replaced_meanwhile(token_app, user, fake_auth, monkeypatch):
    """A new sign-in lands while the old refresh token is being refused: keep the new one."""
    save(token_app, user)
    expire(token_app, user)
    fake_auth.mode = "invalid_grant"
    real_token = fake_auth._token

    def sign_in_again_during_refresh(form):
        save(token_app, user, access="after-new-sign-in", refresh="new-refresh")
        return real_token(form)

    monkeypatch.setattr(fake_auth, "_token", sign_in_again_during_refresh)
    with token_app.app_context():
        assert tokens.get_access_token(user, RS) == "after-new-sign-in"
        assert [t.resource_server for t in tokens.list_tokens(user)] == [RS]


@pytest.mark.parametrize("failure", ["error", "timeout", "unreachable"])
def test_auth_failure_keeps_the_token_and_says_globus_unavailable(
    make_app, fake_auth, monkeypatch, failure
):
    monkeypatch.setattr(globus_client, "MAX_RETRIES", 0)
    url = fake_auth.url
    if failure == "timeout":
        monkeypatch.setattr(globus_client, "HTTP_TIMEOUT", 0.3)
        fake_auth.mode, fake_auth.delay = "slow", 2
    elif failure == "error":
        fake_auth.mode = "error"
    else:
        from tests.conftest import free_port

        url = f"http://127.0.0.1:{free_port()}/"
    app = make_app(FERRY_GLOBUS_AUTH_URL=url)
    user = make_user(app)
    save(app, user)
    fake_auth.accept(REFRESH, RS)
    expire(app, user)
    with app.app_context():
        with pytest.raises(GlobusUnavailable) as raised:
            tokens.get_access_token(user, RS)
        assert raised.value.message == "Globus is unavailable, try again"
        row = db.session.scalar(select(OAuthToken))
        assert row is not None and row.refreshing_until is None  # lease released
    fake_auth.mode, fake_auth.delay = "ok", 0.01
    app.config["FERRY_GLOBUS_AUTH_URL"] = fake_auth.url
    with app.app_context():
        assert tokens.get_access_token(user, RS).startswith("access-")  # recovers


def test_rejected_token_is_refreshed_once(token_app, user, fake_auth):
    save(token_app, user)
    fake_auth.accept(REFRESH, RS)
    with token_app.app_context():
        assert tokens.refresh_after_rejection(user, RS, ACCESS) is True
        new = tokens.get_access_token(user, RS)
        assert new.startswith("access-1-")
        # A 401 for the token we already replaced: retry with the new one, no refresh.
        assert tokens.refresh_after_rejection(user, RS, ACCESS) is True
    assert fake_auth.refresh_calls == 1


def test_list_tokens_shows_scopes_and_expiry_never_the_token(token_app, user):
    save(token_app, user)
    save(token_app, user, rs="auth.globus.org", access="auth-access", refresh="auth-refresh")
    with token_app.app_context():
        listed = tokens.list_tokens(user)
    assert [t.resource_server for t in listed] == ["auth.globus.org", RS]
    assert listed[1].scopes == ("urn:globus:auth:scope:transfer.api.globus.org:all",)
    assert listed[1].expires_at.tzinfo is not None
    assert ACCESS not in repr(listed) and REFRESH not in repr(listed)


@pytest.mark.parametrize("revocation_fails", [False, True])
def test_sign_out_revokes_every_token_and_deletes_the_rows(make_app, fake_auth, revocation_fails):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/" if revocation_fails else fake_auth.url
    app = make_app(FERRY_GLOBUS_AUTH_URL=url)
    user = make_user(app)
    save(app, user)
    save(app, user, rs="auth.globus.org", access="auth-access", refresh="auth-refresh")
    with app.app_context():
        tokens.revoke_and_delete_all(user)
        assert tokens.list_tokens(user) == []
    expected = [] if revocation_fails else [REFRESH, ACCESS, "auth-refresh", "auth-access"]
    assert sorted(fake_auth.revoked) == sorted(expected)


def test_debug_logs_show_no_token_secret_or_key(make_app, fake_auth, caplog):
    key = generate_key()
    app = make_app(FERRY_TOKEN_KEYS=[key], FERRY_GLOBUS_AUTH_URL=fake_auth.url)
    user = make_user(app)
    caplog.set_level(logging.DEBUG)
    save(app, user)
    fake_auth.accept(REFRESH, RS)
    expire(app, user)
    with app.app_context():
        new = tokens.get_access_token(user, RS)
        tokens.rekey_all()
        tokens.revoke_and_delete_all(user)
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert caplog.records, "expected some DEBUG logging to inspect"
    for secret in (ACCESS, REFRESH, new, key, "portal-client-secret"):
        assert secret not in logged
