"""The database or Redis goes down: a clear 503 page, no lost session or token, and the
first request after recovery works (docs/security.md: Reliability)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from app.cli import upgrade_database
from app.extensions import db
from app.globus import tokens
from tests.conftest import free_port
from tests.portal.conftest import PG_URL, REDIS_URL, build_app, empty_database, make_user
from tests.portal.test_sessions import with_probe

RS = "transfer.api.globus.org"


class TcpProxy:
    """A loopback TCP forwarder that can be taken down (listener and live connections
    closed, as when a server dies) and brought back on the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def up(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def proxied(url: str, proxy: TcpProxy) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def token_for(app) -> int:
    user = make_user(app)
    with app.app_context():
        tokens.save_token_response(
            user,
            [
                {
                    "resource_server": RS,
                    "access_token": "kept-access",
                    "refresh_token": "kept-refresh",
                    "scope": "",
                    "expires_at": int(time.time()) + 3600,
                }
            ],
        )
    return user


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def outage(request, tmp_path, monkeypatch):
    """(app, down, up): a portal whose session store (its database, or Redis) we can stop."""
    return make_outage(request.param, request, tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_outage(request, tmp_path, monkeypatch):
    """(app, down, up): a portal whose database we can stop."""
    return make_outage(request.param, request, tmp_path, monkeypatch)


def make_outage(kind, request, tmp_path, monkeypatch):
    if kind == "sqlite":
        folder = tmp_path / "db"
        folder.mkdir()
        url = f"sqlite:///{folder / 'ferry.db'}"
        upgrade_database(url)
        app = build_app(tmp_path, url)

        def down():
            folder.rename(tmp_path / "db-gone")
            with app.app_context():
                db.engine.dispose()  # open SQLite files would keep working

        def up():
            (tmp_path / "db-gone").rename(folder)

        return with_probe(app, monkeypatch), down, up
    if kind == "postgresql":
        if not PG_URL:
            pytest.skip("FERRY_TEST_DATABASE_URL is not set")
        target = make_url(PG_URL)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        proxy.up()
        empty_database(PG_URL)
        upgrade_database(PG_URL)
        app = build_app(tmp_path, proxied(PG_URL, proxy))
        request.addfinalizer(proxy.down)
        return with_probe(app, monkeypatch), proxy.down, proxy.up
    if not REDIS_URL:
        pytest.skip("FERRY_TEST_REDIS_URL is not set")
    target = make_url(REDIS_URL)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 6379)
    proxy.up()
    request.addfinalizer(proxy.down)
    url = f"sqlite:///{tmp_path / 'ferry.db'}"
    upgrade_database(url)
    app = build_app(tmp_path, url, FERRY_REDIS_URL=proxied(REDIS_URL, proxy))
    return with_probe(app, monkeypatch), proxy.down, proxy.up


def test_store_down_shows_a_503_page_and_the_first_request_after_recovery_works(outage):
    app, down, up = outage
    user = token_for(app)
    client = app.test_client()
    assert client.get("/_probe/set?user=alice").status_code == 200
    down()
    response = client.get("/_probe/get")
    assert response.status_code == 503
    assert b"Ferry is unavailable, try again" in response.data
    assert not [h for h in response.headers.getlist("Set-Cookie") if "ferry_session" in h]
    up()
    assert client.get("/_probe/get").json == {"user": "alice"}
    with app.app_context():
        assert [t.resource_server for t in tokens.list_tokens(user)] == [RS]


def test_database_down_during_a_request_shows_a_503_page(database_outage):
    app, down, up = database_outage
    client = app.test_client()
    assert client.get("/_probe/db").status_code == 200
    down()
    try:
        response = client.get("/_probe/db")
        assert response.status_code == 503
        assert b"Ferry is unavailable, try again" in response.data
        assert client.get("/health").status_code == 503
    finally:
        up()
    assert client.get("/_probe/db").status_code == 200
    assert client.get("/health").status_code == 200
