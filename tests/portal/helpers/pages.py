"""Reading the portal's HTML in tests: parse a response, find the session's CSRF token.

from tests.portal.helpers.pages import csrf_token, forget_cached_csrf_token, page

soup = page(client.get("/"))
client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
"""

from __future__ import annotations

from bs4 import BeautifulSoup


def page(response) -> BeautifulSoup:
    """The parsed HTML of a Flask test-client response."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def forget_cached_csrf_token() -> None:
    """pytest-flask keeps one app context pushed for the whole test, so every test-client
    request shares its `g`, where flask-wtf caches the CSRF token. The sign-in callback
    gives the session a fresh one, and another client has its own: drop the stale copy as
    a new request would."""
    from flask import g, has_app_context

    if has_app_context():
        g.pop("csrf_token", None)


def csrf_token(client, path: str = "/", *, form: str | None = None) -> str:
    """The CSRF token of `client`'s own session, as a browser finds it on the page at
    `path` (every page's sign-out form has it); with `form`, the token inside the form
    whose action is `form`."""
    forget_cached_csrf_token()
    soup = page(client.get(path))
    forget_cached_csrf_token()
    scope = soup
    if form is not None:
        scope = soup.find("form", action=form)
        assert scope is not None, f"no form posting to {form} on {path}"
    field = scope.find("input", attrs={"name": "csrf_token"})
    assert field is not None, f"no csrf_token on {path}"
    return field["value"]
