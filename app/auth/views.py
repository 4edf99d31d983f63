"""Sign in (login, callback, consent step-up), sign out, and the profile page."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from app.auth import pending, service
from app.auth.decorators import login_required
from app.errors import LoginRejected
from app.globus.oauth import init_oauth
from app.sessions import destroy_session, regenerate_session

bp = Blueprint("auth", __name__, url_prefix="/auth")
# Registering the blueprint gives the app its OAuth client.
bp.record_once(lambda state: init_oauth(state.app))

security_log = logging.getLogger("ferry.security")


def _redirect_uri() -> str:
    # From configuration only: Host and X-Forwarded-* are the client's to forge.
    return current_app.config["FERRY_BASE_URL"] + "/auth/callback"


def _authorize(next_url: str | None, extra_scopes: tuple[str, ...] = ()):
    url, login = service.begin_login(
        current_app.config["FERRY_SCOPES"], _redirect_uri(), next_url, extra_scopes
    )
    pending.remember(login)
    return redirect(url)


@bp.get("/login")
def login():
    """Send the browser to Globus Auth; `next` is where to land afterwards."""
    return _authorize(request.args.get("next"))


@bp.get("/consent")
@login_required
def consent():
    """Step-up: ask Globus for the base scopes plus the ones a ConsentRequired named."""
    scopes = service.required_scopes(request.args.getlist("scope"))
    return _authorize(request.args.get("next"), scopes)


@bp.get("/callback")
def callback():
    """Globus sends the browser back here with `code` and `state` (or an `error`)."""
    login = pending.take(request.args.get("state"))
    user, next_url = service.complete_login(
        request.args.to_dict(flat=False), login, _redirect_uri()
    )
    if session.get("user_id") not in (None, user.id):
        # Someone else signed in within this browser session: drop the previous user's state.
        session.clear()
    session["user_id"] = user.id
    # A fresh CSRF token and a fresh session id: nothing chosen before sign-in survives it.
    session.pop("csrf_token", None)
    regenerate_session()
    return redirect(next_url)


@bp.post("/logout")
@login_required
def logout():
    """Revoke and forget every token, destroy the session (CSRF-checked POST only)."""
    try:
        service.sign_out(g.user.id)
    finally:
        destroy_session()
    return redirect(url_for("main.home"))


@bp.get("/profile")
@login_required
def profile():
    """Who is signed in, their linked identities, and which tokens the portal holds."""
    return render_template("auth/profile.html", profile=service.profile(g.user))


@bp.app_errorhandler(LoginRejected)
def login_rejected(error: LoginRejected):
    """Every refused sign-in is a security event, and a page that offers a fresh start."""
    security_log.warning(
        "login rejected: %s (remote %s, request id %s)",
        error.reason,
        request.remote_addr,
        g.get("request_id", "-"),
    )
    page = render_template("auth/login_failed.html", error=error)
    return page, error.status
