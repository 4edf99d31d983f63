"""The localglobus WSGI application: Auth (`/v2/...`, `/.well-known/...`, `/jwk.json`)
and Transfer (`/v0.10/...`) on one origin, as globus-sdk allows (docs/globus-api.md C.1)."""

from __future__ import annotations

import os
import secrets

from flask import Flask, request

from localglobus.config import Settings
from localglobus.db import Database
from localglobus.errors import AuthAPIError, TransferAPIError
from localglobus.state import State


def create_app(settings: Settings | None = None, *, start_engine: bool = True) -> Flask:
    """Build the app for one localglobus home; start the task engine unless told not to."""
    settings = settings or Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        # The portal runs on the same host: a distinct cookie name keeps the two sessions
        # from overwriting each other in the middle of a sign-in (docs/architecture.md).
        SESSION_COOKIE_NAME="localglobus_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        JSON_SORT_KEYS=False,
    )
    db = Database(settings.db_path)
    db.create_all()
    state = State(settings=settings, db=db)
    app.extensions["localglobus"] = state

    from localglobus.auth import register as register_auth
    from localglobus.transfer import register as register_transfer

    register_auth(app)
    register_transfer(app)

    app.register_error_handler(TransferAPIError, lambda e: e.response())
    app.register_error_handler(AuthAPIError, lambda e: e.response())
    app.after_request(_security_headers)

    if start_engine:
        from localglobus.transfer import start_engine as _start

        _start(app)
    return app


PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http: https:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _security_headers(response):
    """On every page and JSON answer, as the portal's (docs/security.md): no framing (the
    consent page must not be clickjacked), no sniffing, no referrer (the auth-code page's
    URL holds a code), and no caching of anything but the stylesheet."""
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _secret_key(settings: Settings) -> str:
    """A signing key for localglobus's own login-page session, made once and kept."""
    path = settings.home / "secret_key"
    if not path.exists():
        # Created 0600 so the key is never readable by others, even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
