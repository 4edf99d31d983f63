"""Server-side sessions: the cookie, fixation, regenerate, destroy (docs/security.md: Sessions)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from flask import Blueprint, Flask, current_app, jsonify, request, session
from sqlalchemy import select

from app.extensions import db
from app.models import SessionRecord
from app.sessions import COOKIE_NAME, destroy_session

bp = Blueprint("session_probe", __name__, url_prefix="/_probe")


@bp.get("/set")
def set_value():
    session.update(request.args.to_dict())
    return "ok"


@bp.get("/get")
def get_value():
    return jsonify({k: v for k, v in session.items() if not k.startswith("_")})


@bp.get("/db")
def touch_database():
    db.session.execute(select(1))
    return "ok"


@bp.get("/regenerate")
def regenerate():
    current_app.session_interface.regenerate(session)
    return "ok"


@bp.get("/destroy")
def destroy():
    destroy_session()
    return "ok"


def with_probe(app, monkeypatch):
    """Mount the probe routes, public (the sign-in guard would send them to login)."""
    app.register_blueprint(bp)
    try:
        from app.auth import decorators
    except ImportError:
        return app
    probes = {
        f"session_probe.{name}"
        for name in ("set_value", "get_value", "touch_database", "regenerate", "destroy")
    }
    monkeypatch.setattr(decorators, "PUBLIC_ENDPOINTS", decorators.PUBLIC_ENDPOINTS | probes)
    return app


@pytest.fixture
def probe(store_app, monkeypatch):
    return with_probe(store_app, monkeypatch)


def set_cookie_of(response) -> SimpleCookie:
    """The session cookie this response sets, with its attributes."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME)]
    assert len(headers) == 1, headers
    cookie = SimpleCookie()
    cookie.load(headers[0])
    return cookie


def sid_of(response) -> str:
    return set_cookie_of(response)[COOKIE_NAME].value


def stored(app, sid: str) -> bool:
    """Is there a server-side record for `sid` (SQL table or Redis key)?"""
    interface = app.session_interface
    with app.app_context():
        return interface._retrieve_session_data(interface._get_store_id(sid)) is not None


def test_cookie_is_httponly_lax_host_only_and_holds_only_a_random_id(probe):
    response = probe.test_client().get("/_probe/set?name=secret-value")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME))
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in header.lower()
    assert "domain" not in attributes
    assert "secure" not in attributes  # development on http://
    sid = sid_of(response)
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", sid)
    assert "secret-value" not in header
    assert stored(probe, sid)


def test_cookie_is_secure_outside_development(make_app, monkeypatch):
    app = make_app(
        FERRY_ENV="production",
        FERRY_BASE_URL="https://ferry.example.org",
        FERRY_GLOBUS_AUTH_URL="https://auth.example.org/",
        FERRY_GLOBUS_TRANSFER_URL="https://transfer.example.org/",
    )
    response = with_probe(app, monkeypatch).test_client().get("/_probe/set?a=1")
    assert set_cookie_of(response)[COOKIE_NAME]["secure"]


def test_the_session_record_lives_in_the_store(make_app, monkeypatch):
    app = with_probe(make_app(), monkeypatch)
    sid = sid_of(app.test_client().get("/_probe/set?a=1"))
    with app.app_context():
        rows = db.session.scalars(select(SessionRecord)).all()
    assert [row.session_id for row in rows] == [sid]
    assert rows[0].expiry.tzinfo is not None


def test_unknown_session_id_from_a_client_is_never_adopted(probe):
    client = probe.test_client()
    client.set_cookie(COOKIE_NAME, "attacker-chosen-session-id-0123456789abcdef")
    response = client.get("/_probe/set?a=1")
    assert sid_of(response) != "attacker-chosen-session-id-0123456789abcdef"
    assert not stored(probe, "attacker-chosen-session-id-0123456789abcdef")


def test_regenerate_changes_the_id_and_keeps_the_data(probe):
    client = probe.test_client()
    old = sid_of(client.get("/_probe/set?user=alice"))
    new = sid_of(client.get("/_probe/regenerate"))
    assert new != old
    assert client.get("/_probe/get").json == {"user": "alice"}
    assert not stored(probe, old) and stored(probe, new)
    replay = probe.test_client()
    replay.set_cookie(COOKIE_NAME, old)
    assert replay.get("/_probe/get").json == {}


def test_destroy_removes_the_record_and_expires_the_cookie(probe):
    client = probe.test_client()
    sid = sid_of(client.get("/_probe/set?user=alice"))
    response = client.get("/_probe/destroy")
    cookie = set_cookie_of(response)[COOKIE_NAME]
    assert cookie.value == "" and ("1970" in cookie["expires"] or cookie["max-age"] == "0")
    assert not stored(probe, sid)
    replay = probe.test_client()
    replay.set_cookie(COOKIE_NAME, sid)
    assert replay.get("/_probe/get").json == {}


# app/sessions.py overrides these flask-session internals; pyproject.toml pins the exact
# version they were read from, and a new version fails here until they are checked again.
FLASK_SESSION_VERSION = "0.8.0"
FLASK_SESSION_INTERNALS = {
    "__init__": [
        "self", "app", "key_prefix", "use_signer", "permanent", "sid_length",
        "serialization_format", "cleanup_n_requests",
    ],
    "open_session": ["self", "app", "request"],
    "save_session": ["self", "app", "session", "response"],
    "_retrieve_session_data": ["self", "store_id"],
    "_delete_session": ["self", "store_id"],
    "_upsert_session": ["self", "session_lifetime", "session", "store_id"],
    "_delete_expired_sessions": ["self"],
    "_generate_sid": ["self", "session_id_length"],
    "_get_store_id": ["self", "sid"],
    "regenerate": ["self", "session"],
}  # fmt: skip


def test_flask_session_is_the_version_whose_internals_sessions_overrides():
    import inspect
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    from flask_session.base import ServerSideSession, ServerSideSessionInterface
    from flask_session.redis import RedisSessionInterface

    from app.sessions import SqlSessionInterface

    pyproject = tomllib.loads(Path(__file__).parents[2].joinpath("pyproject.toml").read_text())
    assert f"flask-session=={FLASK_SESSION_VERSION}" in pyproject["project"]["dependencies"]
    assert version("flask-session") == FLASK_SESSION_VERSION
    for name, parameters in FLASK_SESSION_INTERNALS.items():
        method = getattr(ServerSideSessionInterface, name)
        assert list(inspect.signature(method).parameters) == parameters, name
    redis_upsert = inspect.signature(RedisSessionInterface._upsert_session).parameters
    assert list(redis_upsert) == FLASK_SESSION_INTERNALS["_upsert_session"]
    assert ServerSideSessionInterface.session_class is ServerSideSession
    interface = SqlSessionInterface(Flask(__name__), key_prefix="", sid_length=32, permanent=True)
    assert (interface.sid_length, interface.permanent) == (32, True)
    assert hasattr(interface, "serializer")
