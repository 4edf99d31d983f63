"""Who is signed in (`g.user`), and the guard that sends everyone else to sign in.

The guard is global (docs/security.md: Access control): a new page is protected the moment it
exists, without anyone remembering a decorator. `login_required` is there for clarity
and for code that runs outside the guard.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask, g, redirect, request, session, url_for

from app.extensions import db
from app.models import User
from app.security import safe_next

# Everything else needs a signed-in user.
PUBLIC_ENDPOINTS = frozenset({"main.home", "main.health", "auth.login", "auth.callback", "static"})
# Answered without touching the user table (load balancers, assets).
_NO_USER_NEEDED = frozenset({"main.health", "static"})


def load_user() -> None:
    """Set `g.user` from `session["user_id"]` (None when signed out)."""
    g.user = None
    if request.endpoint in _NO_USER_NEEDED:
        return
    user_id = session.get("user_id")
    if user_id is None:
        return
    g.user = db.session.get(User, user_id)
    if g.user is None:
        # The account is gone (deleted): this session signs nobody in any more.
        session.pop("user_id", None)


def require_login():
    """before_request: anonymous requests to non-public endpoints go to sign in.

    Unmatched URLs (endpoint None) fall through to their 404/405.
    """
    if g.get("user") is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.endpoint is None:
        return None
    return redirect_to_login()


def current_page() -> str | None:
    """The page the user is on: for htmx, the page that holds the fragment (coming back
    to a bare fragment URL would show it without its page); for a GET, this URL."""
    if request.headers.get("HX-Request") and request.headers.get("HX-Current-URL"):
        parts = urlsplit(request.headers["HX-Current-URL"])
        return parts.path + (f"?{parts.query}" if parts.query else "") or None
    return request.full_path.rstrip("?") if request.method == "GET" else None


def redirect_to_login():
    """Send the browser to /auth/login, coming back here afterwards (GET only)."""
    target = url_for("auth.login", next=safe_next(current_page()))
    if request.headers.get("HX-Request"):
        # htmx would follow a 302 inside the page fragment; ask it to navigate instead.
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def login_required(view):
    """Decorator: the view runs only for a signed-in user."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect_to_login()
        return view(*args, **kwargs)

    return wrapped


def register_guards(app: Flask) -> None:
    """Load the user, then guard; after CSRF (registered earlier) so that a forged POST
    fails with 400 before anything else happens."""
    app.before_request(load_user)
    app.before_request(require_login)
