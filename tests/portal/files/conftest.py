"""The file manager tests' fixtures: a signed-in researcher with consent for the mapped
demo collections, a collection nobody has consented to, and a Globus that must not be
called. (`scratch`, shared with the home page tests, is in tests/portal/conftest.py.)
"""

from __future__ import annotations

import uuid

import pytest

from tests.portal.helpers.files import ARCHIVE, LAB, browse
from tests.portal.helpers.signin import sign_in


@pytest.fixture
def researcher(client, localglobus):
    """The test client signed in as `researcher`, with data_access consent for the demo
    mapped collections given through the portal's step-up."""
    sign_in(client, localglobus)
    browse(client, localglobus, LAB)
    browse(client, localglobus, ARCHIVE)
    return client


@pytest.fixture
def fresh_collection(localglobus):
    """A new mapped collection nobody has consented to yet: (its id, its root on disk)."""
    from localglobus.db import Database
    from localglobus.transfer.commands import create_collection

    root = localglobus.home / f"fresh-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    (root / "inside.txt").write_text("hello")
    with Database(localglobus.home / "localglobus.db").session() as session:
        collection = create_collection(session, f"Fresh {root.name}", root=str(root))
        collection_id = collection.id
    return collection_id, root


@pytest.fixture
def no_globus(monkeypatch):
    """Record (and refuse) any call the boundary would make to Globus."""
    from app.globus import client as globus_client
    from app.globus import collections, files

    calls = []

    def refuse(user_id):
        calls.append(user_id)
        raise AssertionError("called Globus")

    for module in (collections, files, globus_client):
        monkeypatch.setattr(module, "transfer_client", refuse)
    return calls
