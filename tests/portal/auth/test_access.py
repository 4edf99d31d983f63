"""Access control, first line (docs/security.md): anonymous requests to anything but home,
health, login and the callback go to sign in; state-changing routes refuse GET.

The routes come from the app's own url_map, so a page added tomorrow is tested too.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.auth.decorators import PUBLIC_ENDPOINTS
from tests.portal.helpers.fake_auth import FakeOIDC, fake_sign_in
from tests.portal.helpers.routes import portal_routes

ROUTES = portal_routes()
PROTECTED_GET = sorted(
    {
        (r.endpoint, r.path)
        for r in ROUTES
        if "GET" in r.methods and r.endpoint not in PUBLIC_ENDPOINTS
    }
)
PUBLIC_GET = sorted(
    {(r.endpoint, r.path) for r in ROUTES if "GET" in r.methods and r.endpoint in PUBLIC_ENDPOINTS}
)
STATE_CHANGING = sorted({(r.endpoint, r.path) for r in ROUTES if r.state_changing})
POST_ONLY = sorted({(r.endpoint, r.path) for r in ROUTES if r.state_changing and not r.get_answers})


def test_the_url_map_has_protected_and_state_changing_routes():
    assert ("auth.profile", "/auth/profile") in PROTECTED_GET
    assert ("auth.logout", "/auth/logout") in POST_ONLY


@pytest.mark.parametrize(("endpoint", "path"), PROTECTED_GET, ids=[p for _, p in PROTECTED_GET])
def test_anonymous_get_redirects_to_login_with_next(client, endpoint, path):
    response = client.get(path)
    assert response.status_code == 302, f"{endpoint} answered {response.status_code}"
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize(("endpoint", "path"), STATE_CHANGING, ids=[p for _, p in STATE_CHANGING])
def test_anonymous_post_redirects_to_login_without_acting(make_app, endpoint, path):
    # CSRF off: the guard alone must stop an anonymous POST (CSRF is tested on its own).
    client = make_app(WTF_CSRF_ENABLED=False).test_client()
    response = client.post(path)
    assert response.status_code == 302, f"{endpoint} answered {response.status_code}"
    assert urlsplit(response.headers["Location"]).path == "/auth/login"


@pytest.mark.parametrize(("endpoint", "path"), POST_ONLY, ids=[p for _, p in POST_ONLY])
def test_get_on_state_changing_route_is_405(client, endpoint, path):
    assert client.get(path).status_code == 405


@pytest.mark.parametrize(("endpoint", "path"), PUBLIC_GET, ids=[p for _, p in PUBLIC_GET])
def test_public_pages_answer_anonymous_users(client, endpoint, path):
    response = client.get(path)
    if endpoint == "static":
        assert response.status_code == 404  # a sample file name: served, not guarded
    elif endpoint == "auth.login":
        assert urlsplit(response.headers["Location"]).path.endswith("/v2/oauth2/authorize")
    elif endpoint == "auth.callback":
        assert response.status_code == 400  # no state: refused, not redirected to login
    else:
        assert response.status_code == 200


def test_signed_in_get_on_state_changing_routes_is_405(make_app):
    with FakeOIDC() as fake:
        client = make_app(**fake.portal_config()).test_client()
        fake_sign_in(client, fake)
        for endpoint, path in POST_ONLY:
            assert client.get(path).status_code == 405, endpoint


def test_htmx_requests_get_a_401_with_hx_redirect(client):
    response = client.get("/auth/profile", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/auth/login?next=/auth/profile"


def test_htmx_fragment_sends_the_user_back_to_its_page_not_the_fragment(client):
    """A poll of /tasks/<id>/progress from the task page returns to the task page."""
    response = client.get(
        "/tasks/abc/progress",
        headers={"HX-Request": "true", "HX-Current-URL": "http://portal.test/tasks/abc?x=1"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/auth/login?next=/tasks/abc?x%3D1"


def test_unknown_url_is_404_not_a_login_redirect(client):
    assert client.get("/no/such/page").status_code == 404
