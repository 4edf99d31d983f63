"""Portal fixtures: a clean database per test (SQLite, and PostgreSQL when
FERRY_TEST_DATABASE_URL is set), the portal app pointed at the live localglobus, its
test client, the session stores, and the Globus Auth stand-ins of helpers/fake_auth.py
(a counting one for refresh tests, a misbehaving OIDC provider for sign-in tests).

Helpers shared by several areas live in tests/portal/helpers/ (pages.py: parsing and
CSRF tokens; signin.py: signed-in clients; fake_auth.py; routes.py; files.py;
transfers.py); fixtures of one area live in that area's conftest.py.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, text

from app import create_app
from app.cli import upgrade_database
from app.globus.crypto import generate_key
from tests.portal.helpers.fake_auth import FakeAuth, FakeOIDC
from tests.portal.helpers.files import lab_root
from tests.portal.helpers.transfers import researcher

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


@pytest.fixture
def fake():
    """A misbehaving OIDC provider on loopback (tests/portal/helpers/fake_auth.py)."""
    with FakeOIDC() as provider:
        yield provider


@pytest.fixture
def fake_app(make_app, fake):
    """A portal whose Globus (Auth and Transfer) is `fake`."""
    return make_app(**fake.portal_config())


@pytest.fixture
def fake_client(fake_app):
    return fake_app.test_client()


@pytest.fixture
def fake_auth():
    """A counting Globus Auth (token and revoke endpoints) on loopback."""
    fake = FakeAuth()
    yield fake
    fake.close()


@pytest.fixture
def token_app(make_app, fake_auth):
    """A portal whose Globus Auth is the counting fake."""
    return make_app(FERRY_GLOBUS_AUTH_URL=fake_auth.url)


@pytest.fixture
def scratch(localglobus):
    """A fresh folder in Lab Storage for one test: (its collection path, its disk path)."""
    name = f"ferry-test-{uuid.uuid4().hex[:8]}"
    disk = lab_root(localglobus) / name
    disk.mkdir()
    yield f"/{name}/", disk
    shutil.rmtree(disk, ignore_errors=True)


@pytest.fixture
def demo_collections(client, localglobus):
    """The test client signed in as researcher, with consent for both mapped demo
    collections (the transfers and tasks tests): {name: DemoCollection}."""
    return researcher(client, localglobus)
