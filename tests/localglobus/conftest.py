"""Fixtures of the localglobus tests. Transfer fixtures are prefixed `transfer_`."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ADMIN_ID = "a0000000-0000-4000-8000-00000000ad01"
RESEARCHER_ID = "a0000000-0000-4000-8000-00000000be02"
OUTSIDER_ID = "a0000000-0000-4000-8000-00000000cf03"
USERS = {"admin": ADMIN_ID, "researcher": RESEARCHER_ID, "outsider": OUTSIDER_ID}


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
        from localglobus.auth.tokens import Caller, data_access_scope

        consents = (
            frozenset(data_access_scope(c) for c in self.collections.values())
            if consent
            else frozenset()
        )
        self.caller = Caller(self.users[username], username, client_id, frozenset(), consents)
        return self

    def wait(self, task_id: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            doc = self.client.get(f"/v0.10/task/{task_id}").json
            if doc["status"] not in ("ACTIVE", "INACTIVE"):
                return doc
            time.sleep(0.05)
        raise AssertionError(f"task {task_id} still active: {doc}")

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
            session.add(Identity(id=identity_id, username=username, name=username.title()))
    demo_transfer(settings, {"admin": ADMIN_ID, "researcher": RESEARCHER_ID})
    db.engine.dispose()
    # Build the app once so the copies inherit its one-time setup (signing keys...).
    app = create_app(settings, start_engine=False)
    app.extensions["localglobus"].db.engine.dispose()
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
    settings = Settings(home=home, tasks_per_user=2)
    app = create_app(settings)
    harness = TransferHarness(app=app, home=home, collections=dict(rows), users=dict(USERS))
    monkeypatch.setattr(tokens, "authenticate", lambda resource_server=None: harness.caller)
    harness.act_as("researcher")
    yield harness
    engine = app.extensions["localglobus"].engine
    if engine is not None:
        engine.stop()
