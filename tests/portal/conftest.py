"""Portal fixtures: a clean database per test (SQLite, and PostgreSQL when
FERRY_TEST_DATABASE_URL is set), the portal app pointed at the live localglobus, its
test client, the session stores, and a small counting Globus Auth for refresh tests.
"""

from __future__ import annotations

import json
import os
import threading
import time
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import MetaData, create_engine, text

from app import create_app
from app.cli import upgrade_database
from app.globus.crypto import generate_key

PG_URL = os.environ.get("FERRY_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("FERRY_TEST_REDIS_URL")
REDIS_PREFIX = "ferry:session:"
DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="FERRY_TEST_DATABASE_URL is not set"),
    ),
]
STORES = [
    "sql",
    pytest.param(
        "redis", marks=pytest.mark.skipif(not REDIS_URL, reason="FERRY_TEST_REDIS_URL is not set")
    ),
]


def empty_database(url: str) -> None:
    """Drop every table (whoever made it) so each test starts from an empty schema."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path) -> str:
    """An empty database: a SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ferry.db'}"
    empty_database(PG_URL)
    return PG_URL


def build_app(instance: Path, db_url: str, **overrides):
    """A portal on `db_url` (already migrated) with test settings; `overrides` win."""
    config = {
        "INSTANCE_PATH": str(instance),
        "FERRY_DATABASE_URL": db_url,
        "FERRY_TOKEN_KEYS": [generate_key()],
        "SECRET_KEY": "test-secret",
        "FERRY_GLOBUS_CLIENT_ID": "portal-client",
        "FERRY_GLOBUS_CLIENT_SECRET": "portal-client-secret",
        "TESTING": True,
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def make_app(tmp_path, db_url):
    """Build a portal on the migrated `db_url`; keyword arguments override the config."""
    upgrade_database(db_url)
    return lambda **overrides: build_app(tmp_path / "instance", db_url, **overrides)


@pytest.fixture
def app(make_app, localglobus):
    """The portal pointed at the live localglobus, with its portal client."""
    client = localglobus.portal_client
    return make_app(
        FERRY_BASE_URL=localglobus.portal_base_url,
        FERRY_GLOBUS_AUTH_URL=localglobus.base_url,
        FERRY_GLOBUS_TRANSFER_URL=localglobus.base_url,
        FERRY_GLOBUS_CLIENT_ID=client["client_id"],
        FERRY_GLOBUS_CLIENT_SECRET=client["client_secret"],
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(params=STORES)
def store_app(request, make_app):
    """A portal whose sessions live in the SQL store, or in Redis when it is configured."""
    if request.param == "sql":
        return make_app()
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(REDIS_PREFIX + "*"):
        conn.delete(key)
    conn.close()
    return make_app(FERRY_REDIS_URL=REDIS_URL)


def make_user(app, sub: str = "3b8b9a4e-0000-4000-8000-000000000001") -> int:
    """A user row in the app's database (tokens need their user); its id."""
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = User(sub=sub, username=f"{sub[:8]}@example.org", name="Test User")
        db.session.add(user)
        db.session.commit()
        return user.id


# -- a counting Globus Auth ---------------------------------------------------------


class FakeAuth:
    """Globus Auth's token and revoke endpoints on loopback, counting refresh calls.

    Refresh tokens rotate and a used one is dead (as with Globus's rotation), so two
    refreshes with the same refresh token show up as an `invalid_grant`.
    `mode`: "ok", "invalid_grant", "error" (HTTP 500) or "slow" (sleeps `delay`).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.refresh_calls = 0
        self.refused = 0
        self.revoked: list[str] = []
        self.live_refresh_tokens: dict[str, str] = {}  # refresh token -> resource server
        self.mode = "ok"
        self.delay = 0.3
        self.issued = 0
        self.auth_headers: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accept(self, refresh_token: str, resource_server: str) -> None:
        """Make `refresh_token` valid (as if a sign-in had issued it)."""
        self.live_refresh_tokens[refresh_token] = resource_server

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _token(self, form: dict) -> tuple[int, dict]:
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        with self.lock:
            self.refresh_calls += 1
            mode = self.mode
        if mode == "slow":
            time.sleep(self.delay)
        if mode == "error":
            return 500, {"errors": [{"status": "500", "code": "INTERNAL", "detail": "boom"}]}
        time.sleep(self.delay)  # a real round trip: concurrent callers overlap
        with self.lock:
            rs = self.live_refresh_tokens.pop(form.get("refresh_token"), None)
            if mode == "invalid_grant" or rs is None:
                self.refused += 1
                return 400, {"error": "invalid_grant"}
            self.issued += 1
            new_refresh = f"refresh-{self.issued}-{os.urandom(6).hex()}"
            self.live_refresh_tokens[new_refresh] = rs
        return 200, {
            "access_token": f"access-{self.issued}-{os.urandom(6).hex()}",
            "refresh_token": new_refresh,
            "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
            "resource_server": rs,
            "expires_in": 172800,
            "token_type": "Bearer",
            "other_tokens": [],
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.auth_headers.add(self.headers.get("Authorization", ""))
                if self.path == "/v2/oauth2/token":
                    status, body = fake._token(form)
                elif self.path == "/v2/oauth2/token/revoke":
                    with fake.lock:
                        fake.revoked.append(form.get("token", ""))
                    status, body = 200, {"active": False}
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def basic_client_id(self) -> set[str]:
        """The client ids seen in Basic auth headers."""
        return {b64decode(h.split()[1]).decode().split(":")[0] for h in self.auth_headers if h}


@pytest.fixture
def fake_auth():
    fake = FakeAuth()
    yield fake
    fake.close()


@pytest.fixture
def token_app(make_app, fake_auth):
    """A portal whose Globus Auth is the counting fake."""
    return make_app(FERRY_GLOBUS_AUTH_URL=fake_auth.url)
