"""Fixtures of the localglobus tests. Transfer fixtures are prefixed `transfer_`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from tests.waiting import wait_until

ADMIN_ID = "a0000000-0000-4000-8000-00000000ad01"
RESEARCHER_ID = "a0000000-0000-4000-8000-00000000be02"
OUTSIDER_ID = "a0000000-0000-4000-8000-00000000cf03"
# Rosalind's partner identity, linked with her university one (one identity set).
PARTNER_ID = "a0000000-0000-4000-8000-00000000be04"
USERS = {
    "admin@uni.example": ADMIN_ID,
    "researcher@uni.example": RESEARCHER_ID,
    "outsider@uni.example": OUTSIDER_ID,
    "researcher@partner.example": PARTNER_ID,
}


@dataclass
class TransferHarness:
    """An in-process localglobus (Flask test client, real engine threads, real files)
    whose bearer-token check is replaced: tests pick the caller and its consents."""

    app: object
    home: Path
    collections: dict[str, str]
    caller: object = None
    users: dict[str, str] = field(default_factory=dict)

    @property
    def client(self):
        return self.app.test_client()

    def root(self, name: str) -> Path:
        from localglobus.transfer.models import Collection

        state = self.app.extensions["localglobus"]
        with state.db.session() as session:
            return Path(session.get(Collection, self.collections[name]).root_path)

    def act_as(self, username: str, consent: bool = True, client_id: str = "test-client"):
        """Call as `username` (a bare name is of uni.example), with the identity set the
        state database gives it, as a real token would carry."""
        from localglobus.auth.identities import qualify
        from localglobus.auth.tokens import Caller, data_access_scope, identity_set_of

        username = qualify(username)
        consents = (
            frozenset(data_access_scope(c) for c in self.collections.values())
            if consent
            else frozenset()
        )
        with self.app.extensions["localglobus"].db.session() as session:
            identity_set = identity_set_of(session, self.users[username])
        self.caller = Caller(
            self.users[username],
            username,
            client_id,
            frozenset(),
            consents,
            identity_set=identity_set,
        )
        return self

    def wait(self, task_id: str, timeout: float = 30) -> dict:
        def ended() -> dict | None:
            doc = self.client.get(f"/v0.10/task/{task_id}").json
            return doc if doc["status"] not in ("ACTIVE", "INACTIVE") else None

        return wait_until(ended, f"task {task_id} to end", timeout=timeout)

    def submit(self, kind: str, doc: dict) -> dict:
        sid = self.client.get("/v0.10/submission_id").json["value"]
        resp = self.client.post(f"/v0.10/{kind}", json={"submission_id": sid, **doc})
        assert resp.status_code == 202, resp.json
        return resp.json


@pytest.fixture(scope="session")
def transfer_template(tmp_path_factory) -> Path:
    """A localglobus home with three users and the demo collections, made once."""
    from localglobus.app import create_app
    from localglobus.config import Settings
    from localglobus.db import Database
    from localglobus.models import Identity
    from localglobus.transfer.commands import demo_transfer

    home = tmp_path_factory.mktemp("transfer-template") / "home"
    settings = Settings(home=home)
    db = Database(settings.db_path)
    db.create_all()
    with db.session() as session:
        for username, identity_id in USERS.items():
            linked = RESEARCHER_ID if identity_id == PARTNER_ID else None
            name = username.partition("@")[0].title()
            session.add(Identity(id=identity_id, username=username, name=name, primary_id=linked))
    demo_transfer(
        settings, {"admin@uni.example": ADMIN_ID, "researcher@uni.example": RESEARCHER_ID}
    )
    db.engine.dispose()
    # Build the app once so the copies inherit its one-time setup (signing keys...).
    app = create_app(settings, start_engine=False)
    app.extensions["localglobus"].db.engine.dispose()
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copies skip the -wal file
    conn.close()
    return home


def _copy_home(template: Path, home: Path) -> None:
    """Copy a home; the big read-only sample folders are hard-linked to save time (the
    engine never writes in place: it writes a new file and renames it)."""

    def link_or_copy(src, dst):
        if f"{os.sep}large{os.sep}" in src or f"{os.sep}many{os.sep}" in src:
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(
        template,
        home,
        symlinks=True,
        copy_function=link_or_copy,
        ignore=shutil.ignore_patterns("*-wal", "*-shm"),
    )


@pytest.fixture
def transfer_harness(transfer_template, tmp_path, monkeypatch) -> TransferHarness:
    """A copy of the template home served in process; researcher signed in with every
    data_access consent."""
    from localglobus.app import create_app
    from localglobus.auth import tokens
    from localglobus.config import Settings

    home = tmp_path / "home"
    _copy_home(transfer_template, home)
    with sqlite3.connect(home / "localglobus.db") as conn:
        # The copy's collections must point at the copied directories.
        conn.execute(
            "UPDATE transfer_collections SET root_path = replace(root_path, ?, ?)",
            (str(transfer_template), str(home)),
        )
        rows = conn.execute("SELECT display_name, id FROM transfer_collections").fetchall()
    conn.close()
    settings = Settings(home=home, tasks_per_user=2, fault_retry_seconds=0.3)
    app = create_app(settings)
    harness = TransferHarness(app=app, home=home, collections=dict(rows), users=dict(USERS))
    monkeypatch.setattr(tokens, "authenticate", lambda resource_server=None: harness.caller)
    harness.act_as("researcher")
    yield harness
    engine = app.extensions["localglobus"].engine
    if engine is not None:
        engine.stop()


# --- Auth fixtures (prefixed `auth_`): drive the live localglobus's sign-in pages. ---


@dataclass
class AuthBrowser:
    """A browser on localglobus's sign-in and consent pages (requests + BeautifulSoup)."""

    base_url: str
    session: object = None

    def __post_init__(self):
        import requests

        self.session = requests.Session()

    def submit(self, page, **fields):
        """Post the page's form with its hidden fields plus `fields`; no redirects."""
        from urllib.parse import urljoin

        from bs4 import BeautifulSoup

        form = BeautifulSoup(page.text, "html.parser").find("form")
        assert form is not None, page.text
        data = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
        data.update(fields)
        return self.session.post(
            urljoin(page.url, form["action"]), data=data, allow_redirects=False
        )

    def follow(self, response):
        from urllib.parse import urljoin

        return self.session.get(urljoin(response.url, response.headers["Location"]))

    def sign_in(self, authorize_url, username="researcher", password=None, decision="allow"):
        """Open the authorize URL, sign in if asked, answer the consent page; return the
        final redirect response (its Location goes back to the client)."""
        from tests.conftest import DEMO_PASSWORD

        page = self.session.get(authorize_url)
        if "/v2/web/login" in page.url:
            response = self.submit(page, username=username, password=password or DEMO_PASSWORD)
            assert response.status_code == 302, response.text
            page = self.follow(response)
        assert "/v2/web/consent" in page.url, (page.url, page.text)
        response = self.submit(page, decision=decision)
        assert response.status_code == 302, response.text
        return response

    def code_from(self, response) -> dict:
        """The query parameters the redirect sends back to the client."""
        from urllib.parse import parse_qs, urlsplit

        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


@pytest.fixture
def auth_browser(localglobus) -> AuthBrowser:
    """A fresh browser (no localglobus session cookie yet)."""
    return AuthBrowser(localglobus.base_url)


def auth_register_client(lg, name="Test app", *, native=False, redirect_uris=()) -> dict:
    """`localglobus client add` on `lg`; {"client_id", "client_secret"?, "redirect_uri"}."""
    import json

    args = ["client", "add", name, "--json"]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    if native:
        args.append("--native")
    created = json.loads(lg.cli(*args).stdout)
    created["redirect_uri"] = redirect_uris[0] if redirect_uris else None
    return created


@pytest.fixture(scope="session")
def auth_confidential_client(localglobus) -> dict:
    """A confidential client with one redirect URI, registered once for the run."""
    return auth_register_client(
        localglobus, "Confidential test app", redirect_uris=["http://127.0.0.1:9/callback"]
    )


@pytest.fixture(scope="session")
def auth_native_client(localglobus) -> dict:
    """A native (public) client, registered once; it may use the auth-code page."""
    return auth_register_client(localglobus, "Native test app", native=True)


@pytest.fixture(scope="session")
def auth_short_lived(tmp_path_factory):
    """A second localglobus, with the demo data, whose access tokens live 2 seconds."""
    from tests.conftest import DEMO_PASSWORD, LocalGlobus, free_port

    class ShortLived(LocalGlobus):
        def env(self):
            return {**super().env(), "LOCALGLOBUS_TOKEN_LIFETIME": "2"}

    port = free_port()
    lg = ShortLived(
        base_url=f"http://127.0.0.1:{port}/",
        home=tmp_path_factory.mktemp("localglobus-short-lived"),
        port=port,
        portal_base_url=f"http://127.0.0.1:{free_port()}",
        password=DEMO_PASSWORD,
    )
    lg.cli("demo")
    lg.start()
    yield lg
    lg.stop()


# -- a live localglobus (the session one from tests/conftest.py) ---------------------------

TRANSFER_REDIRECT = "http://127.0.0.1:9/transfer-tests/callback"


@dataclass
class LiveTransfer:
    """The shared live localglobus plus a confidential client of the Transfer tests
    (its own client, so the consents its users grant touch no other test)."""

    lg: object
    client_id: str
    client_secret: str
    collections: dict[str, str]

    def auth_client(self):
        import globus_sdk

        return globus_sdk.ConfidentialAppAuthClient(
            self.client_id, self.client_secret, base_url=self.lg.base_url
        )

    def user_token(self, username: str = "researcher", consent_to=("Lab Storage", "Archive")):
        """A transfer access token for `username`, signed in through the real sign-in and
        consent pages, with data_access consent for the collections named."""
        import requests
        from bs4 import BeautifulSoup

        deps = " ".join(
            f"*https://auth.globus.org/scopes/{self.collections[n]}/data_access" for n in consent_to
        )
        scope = "urn:globus:auth:scope:transfer.api.globus.org:all"
        auth = self.auth_client()
        auth.oauth2_start_flow(TRANSFER_REDIRECT, [f"{scope}[{deps}]" if deps else scope])
        browser = requests.Session()
        response = browser.get(auth.oauth2_get_authorize_url(), allow_redirects=False)
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(TRANSFER_REDIRECT):
                    code = parse_qs(urlsplit(location).query)
                    tokens = auth.oauth2_exchange_code_for_tokens(code["code"][0])
                    return tokens.by_resource_server["transfer.api.globus.org"]["access_token"]
                response = browser.get(location, allow_redirects=False)
                continue
            assert response.status_code == 200, response.text
            form = BeautifulSoup(response.text, "html.parser").find("form")
            fields = {
                i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")
            }
            if "password" in fields:
                fields.update(username=username, password=self.lg.password)
            button = form.find("button", attrs={"name": True})
            if button is not None:
                fields[button["name"]] = "allow"
            action = urljoin(response.url, form.get("action") or response.url)
            response = browser.post(action, data=fields, allow_redirects=False)
        raise AssertionError("sign-in did not come back to the redirect URI")

    def with_new_client(self) -> LiveTransfer:
        """The same server through a client no user has consented to yet."""
        made = _cli_json(
            self.lg, "client", "add", "transfer-tests-2", "--redirect-uri", TRANSFER_REDIRECT
        )
        return LiveTransfer(self.lg, made["client_id"], made["client_secret"], self.collections)

    def transfer_client(self, token: str):
        import globus_sdk

        return globus_sdk.TransferClient(
            base_url=self.lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
        )

    def root(self, name: str) -> Path:
        folder = {"Lab Storage": "lab-storage", "Archive": "archive"}[name]
        return self.lg.home / "collections" / folder


def _cli_json(lg, *args) -> dict:
    out = lg.cli(*args, "--json").stdout.strip().splitlines()[-1]
    return json.loads(out)


@pytest.fixture(scope="session")
def transfer_live(localglobus) -> LiveTransfer:
    client = _cli_json(
        localglobus, "client", "add", "transfer-tests", "--redirect-uri", TRANSFER_REDIRECT
    )
    rows = localglobus.cli("collection", "list").stdout.strip().splitlines()
    collections = {line.split("\t")[2]: line.split("\t")[0] for line in rows}
    return LiveTransfer(localglobus, client["client_id"], client["client_secret"], collections)
