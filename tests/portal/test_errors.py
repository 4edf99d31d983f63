"""Unexpected errors (docs/security.md, Reliability): a page with a request id for the
person, the traceback in the log for the operator, never in the page."""

from __future__ import annotations

import logging
import re

import pytest

from app.auth import decorators
from app.cli import upgrade_database
from tests.portal.conftest import build_app
from tests.portal.helpers.pages import page

SECRET_DETAIL = "the database password is hunter2"


@pytest.fixture
def failing_app(tmp_path, monkeypatch):
    """A portal with one public page that fails with an exception nobody expected."""
    url = f"sqlite:///{tmp_path / 'ferry.db'}"
    upgrade_database(url)
    app = build_app(tmp_path, url)

    @app.get("/_boom")
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(decorators, "PUBLIC_ENDPOINTS", decorators.PUBLIC_ENDPOINTS | {"boom"})
    return app


def test_an_unexpected_error_shows_a_page_with_a_request_id_never_a_traceback(failing_app, caplog):
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/_boom")
    assert response.status_code == 500
    soup = page(response)
    assert soup.find("h1").get_text(strip=True) == "Something went wrong"
    request_id = soup.find("code").get_text(strip=True)
    assert re.fullmatch(r"[0-9a-f]{12}", request_id)
    assert SECRET_DETAIL not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    # The operator finds the error by the id the person reads out.
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info[1].args == (SECRET_DETAIL,)
