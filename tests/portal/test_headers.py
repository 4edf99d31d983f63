"""Security headers on every response (docs/security.md: Sessions, CSRF, headers)."""

from __future__ import annotations

import pytest

from tests.portal.test_config import PRODUCTION

PATHS = ["/", "/health", "/no-such-page"]


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def dev_client(make_app):
    return make_app().test_client()


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(dev_client, path):
    response = dev_client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    script = csp.get("script-src", csp.get("default-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", PATHS)
def test_no_hsts_in_development(dev_client, path):
    assert "Strict-Transport-Security" not in dev_client.get(path).headers


@pytest.mark.parametrize("path", PATHS)
def test_hsts_in_production(make_app, path):
    client = make_app(**PRODUCTION).test_client()
    hsts = client.get(path).headers["Strict-Transport-Security"]
    assert "max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000


def test_static_files_are_cacheable(dev_client):
    response = dev_client.get("/static/htmx.min.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
