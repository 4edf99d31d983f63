"""Who is signed in (`g.user`), and the guard that sends everyone else to sign in.

The guard is global (docs/security.md: Access control): a new page is protected the moment it
exists, without anyone remembering a decorator. `login_required` is there for clarity
and for code that runs outside the guard.
"""

from __future__ import annotations

import functools

from flask import Flask, g, request, session

from app.extensions import db
from app.models import User
from app.security import redirect_to_login

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
