"""Fixtures of the localglobus tests. Transfer fixtures are prefixed `transfer_`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ADMIN_ID = "a0000000-0000-4000-8000-00000000ad01"
RESEARCHER_ID = "a0000000-0000-4000-8000-00000000be02"
OUTSIDER_ID = "a0000000-0000-4000-8000-00000000cf03"


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


@pytest.fixture
def transfer_harness(tmp_path, monkeypatch) -> TransferHarness:
    """Demo collections in a temporary home, researcher signed in with every consent."""
    from localglobus.app import create_app
    from localglobus.auth import tokens
    from localglobus.config import Settings
    from localglobus.db import Database
    from localglobus.models import Identity
    from localglobus.transfer.commands import demo_transfer
    from localglobus.transfer.models import Collection

    settings = Settings(home=tmp_path / "home", tasks_per_user=2)
    db = Database(settings.db_path)
    db.create_all()
    users = {"admin": ADMIN_ID, "researcher": RESEARCHER_ID, "outsider": OUTSIDER_ID}
    with db.session() as session:
        for username, identity_id in users.items():
            session.add(Identity(id=identity_id, username=username, name=username.title()))
    demo_transfer(settings, {"admin": ADMIN_ID, "researcher": RESEARCHER_ID})
    with db.session() as session:
        collections = {c.display_name: c.id for c in session.query(Collection)}
    db.engine.dispose()
    app = create_app(settings)
    harness = TransferHarness(app=app, home=settings.home, collections=collections, users=users)
    monkeypatch.setattr(tokens, "authenticate", lambda resource_server=None: harness.caller)
    harness.act_as("researcher")
    yield harness
    engine = app.extensions["localglobus"].engine
    if engine is not None:
        engine.stop()
