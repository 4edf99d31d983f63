"""Portal errors, and the one place that turns them into pages.

The Globus boundary (`app.globus.errors`) maps every API error to one of these.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class PortalError(Exception):
    """Base class: a status, a title and a message a user can read."""

    status = 500
    title = "Something went wrong"

    def __init__(self, message: str = "", *, request_id: str | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.request_id = request_id


class NotFound(PortalError):
    status = 404
    title = "Not found"


class PermissionDenied(PortalError):
    status = 403
    title = "Permission denied"


class BadInput(PortalError):
    status = 400
    title = "Check your input"


class AlreadyExists(BadInput):
    """mkdir or rename onto a name that is taken (ExternalError.MkdirFailed.Exists)."""

    status = 409
    title = "Already exists"


class GlobusUnavailable(PortalError):
    status = 503
    title = "Globus is unavailable, try again"


class LoginRequired(PortalError):
    """The stored tokens are gone or no longer valid: sign in again and come back."""

    status = 401
    title = "Please sign in again"


class ConsentRequired(PortalError):
    """Globus needs more consent (e.g. a collection's data_access scope)."""

    status = 403
    title = "This collection needs your consent"

    def __init__(self, message: str = "", *, required_scopes: list[str], **kwargs):
        super().__init__(message, **kwargs)
        self.required_scopes = required_scopes


class LoginRejected(PortalError):
    """The sign-in cannot be completed safely; the user starts again. `reason` is for the
    security log, `message` for the page."""

    status = 400
    title = "Sign-in failed"

    def __init__(self, message: str = "", *, reason: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.reason = reason or self.message


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted: unknown key, tampered, or moved to another row."""


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the portal refuses to start."""


def register_error_handlers(app: Flask) -> None:
    """Every error becomes a page with a request id; never a traceback."""

    @app.before_request
    def _request_id():
        g.request_id = secrets.token_hex(6)

    # Imported here: app.security needs app.inputs, which needs this module's BadInput.
    from app.security import redirect_to_login

    @app.errorhandler(LoginRequired)
    def _login_required(error: LoginRequired):
        return redirect_to_login()

    @app.errorhandler(ConsentRequired)
    def _consent_required(error: ConsentRequired):
        target = url_for("auth.consent", scope=error.required_scopes, next=_return_path())
        if request.headers.get("HX-Request"):
            # htmx would render the redirect inside the fragment; navigate the page instead.
            return "", 403, {"HX-Redirect": target}
        return redirect(target)

    @app.errorhandler(PortalError)
    def _portal_error(error: PortalError):
        return _page(error.status, error.title, error.message, error.request_id)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return _page(error.code or 500, error.name, error.description or "")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error (request id %s)", getattr(g, "request_id", "-"))
        return _page(500, "Something went wrong", "The error was logged.")


def _return_path() -> str:
    """Where to come back after a consent round trip: the page, or for a POST the page
    that sent it (the pending action itself is kept by the service that raised)."""
    from app.security import current_page  # see register_error_handlers

    if request.method == "GET":
        return current_page() or "/"
    return request.form.get("return_to") or request.referrer or "/"


def _page(status: int, title: str, message: str, upstream_request_id: str | None = None):
    body = render_template(
        "errors/error.html",
        status=status,
        title=title,
        message=message,
        request_id=getattr(g, "request_id", None),
        upstream_request_id=upstream_request_id,
    )
    return body, status


class ServiceUnavailable(PortalError):
    """The portal's own database or session store is down; nothing was lost."""

    status = 503
    title = "Ferry is unavailable, try again"
