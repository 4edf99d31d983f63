"""The pages a person sees: sign-in, consent, the auth-code page, sign-out.

An authorize request waits in the (signed) session cookie under a random id while the
person signs in and answers the consent page; the id is unguessable and bound to the
browser, so a form posted from elsewhere cannot complete someone else's request.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from localglobus.auth import scopes as scope_syntax
from localglobus.auth import sessions, tokens
from localglobus.auth.identities import check_password, primary_identity, qualify
from localglobus.auth.scope_labels import collection_ids, describe
from localglobus.auth.throttle import SignInThrottle
from localglobus.models import Client, Identity
from localglobus.state import get_state

bp = Blueprint("auth_pages", __name__)

PENDING_KEY = "lg_pending"
MAX_PENDING = 3
PENDING_LIFETIME = 30 * 60


def remember_request(args: dict) -> str:
    """Keep a validated authorize request in the session; return its id."""
    pending = {
        rid: entry
        for rid, entry in session.get(PENDING_KEY, {}).items()
        if entry["created"] > time.time() - PENDING_LIFETIME
    }
    rid = secrets.token_urlsafe(16)
    pending[rid] = {"args": args, "signed_in": False, "created": time.time()}
    # The cookie must stay small: keep only the most recent requests.
    session[PENDING_KEY] = dict(list(pending.items())[-MAX_PENDING:])
    return rid


def _pending(rid: str | None) -> dict:
    entry = session.get(PENDING_KEY, {}).get(rid or "")
    if entry is None or entry["created"] < time.time() - PENDING_LIFETIME:
        abort(
            error_page(
                "This sign-in request has expired",
                "Go back to the application and start signing in again.",
                status=400,
            )
        )
    return entry


def _forget(rid: str) -> None:
    pending = dict(session.get(PENDING_KEY, {}))
    pending.pop(rid, None)
    session[PENDING_KEY] = pending


SESSION_KEY = "lg_session"


def _throttle() -> SignInThrottle:
    return get_state().extra.setdefault("sign_in_throttle", SignInThrottle())


def current_identity() -> Identity | None:
    """The primary identity of the Auth session this browser is signed in to."""
    with get_state().db.session() as db:
        row = sessions.find(db, session.get(SESSION_KEY))
        return db.get(Identity, row.identity_id) if row is not None else None


def current_session_id() -> str | None:
    """The id of this browser's live Auth session (its tokens report its sign-ins)."""
    with get_state().db.session() as db:
        row = sessions.find(db, session.get(SESSION_KEY))
        return row.id if row is not None else None


def needs_sign_in(args: dict, rid: str) -> bool:
    """Sign-in is needed without a signed-in person, for `prompt=login` (once per
    request), or when the session is not one of `session_required_identities`."""
    identity = current_identity()
    if identity is None:
        return True
    entry = session.get(PENDING_KEY, {}).get(rid, {})
    if "login" in (args.get("prompt") or "").split() and not entry.get("signed_in"):
        return True
    required = [
        v.strip().lower() for v in (args.get("session_required_identities") or "").split(",")
    ]
    required = [v for v in required if v]
    if required and not (signed_in_names() & set(required)):
        return True
    return bool(session_needs(args))


def session_needs(args: dict) -> list[str]:
    """What the request's session parameters ask that this browser's session lacks."""
    with get_state().db.session() as db:
        return sessions.unmet(db, sessions.find(db, session.get(SESSION_KEY)), args)


def signed_in_names() -> set[str]:
    """Ids and usernames of the identities that signed in during this browser session."""
    with get_state().db.session() as db:
        row = sessions.find(db, session.get(SESSION_KEY))
        ids = set(row.authentications) if row is not None else set()
        names = {i.username.lower() for i in map(lambda v: db.get(Identity, v), ids) if i}
    return ids | names


def csrf_token() -> str:
    if "lg_csrf" not in session:
        session["lg_csrf"] = secrets.token_urlsafe(32)
    return session["lg_csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), session.get("lg_csrf", "").encode()) or not sent:
        abort(error_page("This form has expired", "Reload the page and try again.", status=400))


def error_page(title: str, message: str, status: int = 400):
    return current_app.make_response(
        (render_template("auth/error.html", title=title, message=message), status)
    )


def _client(client_id: str) -> Client | None:
    with get_state().db.session() as db:
        return db.get(Client, client_id)


def _collection_names(forest) -> dict[str, str]:
    """Display names of the collections asked for, so the person knows what they allow."""
    from localglobus.transfer.models import Collection

    ids = collection_ids(forest)
    if not ids:
        return {}
    with get_state().db.session() as db:
        rows = db.query(Collection.id, Collection.display_name).filter(Collection.id.in_(ids))
        return {collection_id: name for collection_id, name in rows}


@bp.get("/v2/web/login")
def sign_in():
    entry = _pending(request.args.get("rid"))
    return _render_sign_in(request.args["rid"], entry)


def _render_sign_in(rid: str, entry: dict, error: str | None = None, status: int = 200):
    args = entry["args"]
    client = _client(args.get("client_id", ""))
    page = render_template(
        "auth/sign_in.html",
        rid=rid,
        client=client,
        session_message=args.get("session_message"),
        required=args.get("session_required_identities"),
        needs=session_needs(args),
        error=error,
        username=request.form.get("username", ""),
        csrf_token=csrf_token(),
    )
    return page, status


@bp.post("/v2/web/login")
def sign_in_post():
    rid = request.form.get("rid", "")
    entry = _pending(rid)
    _check_csrf()
    username = qualify(request.form.get("username", "").strip())
    throttle = _throttle()
    locked = throttle.admit(username)
    if locked:
        minutes = max(round(locked / 60), 1)
        message = (
            f"Too many wrong passwords for {username}. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        return _render_sign_in(rid, entry, message, status=429)
    with get_state().db.session() as db:
        identity = check_password(db, username, request.form.get("password", ""))
        if identity is not None:
            signed_in, primary_id = identity.id, primary_identity(db, identity).id
    if identity is None:
        throttle.failed(username)
        return _render_sign_in(rid, entry, "Wrong username or password.", status=401)
    throttle.succeeded(username)
    with get_state().db.session() as db:
        wants_mfa = sessions.wants_mfa(db, entry["args"])
        row = db.get(Identity, signed_in)
        secret = row.totp_secret if row is not None else None
    if wants_mfa:
        if not secret:
            return _render_sign_in(
                rid, entry, f"{username} has no second factor set up.", status=403
            )
        # The password was right; the sign-in counts once the code is.
        session[PENDING_KEY][rid]["mfa_for"] = [signed_in, primary_id]
        session.modified = True
        return _render_mfa(rid, entry, username)
    _complete_sign_in(rid, signed_in, primary_id, mfa=False)
    return redirect(url_for("auth_pages.consent", rid=rid))


def _complete_sign_in(rid: str, signed_in: str, primary_id: str, mfa: bool) -> None:
    """Signing in with another identity of the same set adds it to the session, as on
    Globus; anyone else starts a new session: nothing from before it is kept but the
    pending requests of this browser."""
    with get_state().db.session() as db:
        row = sessions.find(db, session.get(SESSION_KEY))
        if row is None or row.identity_id != primary_id:
            sessions.end(db, session.get(SESSION_KEY))
            pending = session.get(PENDING_KEY, {})
            session.clear()
            session[PENDING_KEY] = pending
            row, secret = sessions.start(db, primary_id)
            session[SESSION_KEY] = secret
        sessions.record_sign_in(row, signed_in, mfa=mfa)
    session[PENDING_KEY][rid]["signed_in"] = True
    session[PENDING_KEY][rid].pop("mfa_for", None)
    session.modified = True


def _render_mfa(rid: str, entry: dict, username: str, error: str | None = None, status=200):
    page = render_template(
        "auth/mfa.html",
        rid=rid,
        client=_client(entry["args"].get("client_id", "")),
        username=username,
        error=error,
        csrf_token=csrf_token(),
    )
    return page, status


@bp.post("/v2/web/login/mfa")
def mfa_post():
    """The second step of a sign-in that asks for MFA: the authenticator app's code."""
    rid = request.form.get("rid", "")
    entry = _pending(rid)
    _check_csrf()
    waiting = entry.get("mfa_for")
    if not waiting:
        return redirect(url_for("auth_pages.sign_in", rid=rid))
    signed_in, primary_id = waiting
    with get_state().db.session() as db:
        identity = db.get(Identity, signed_in)
        username, secret = (identity.username, identity.totp_secret) if identity else ("", None)
    throttle = _throttle()
    key = f"mfa:{username}"
    if throttle.admit(key):
        return _render_mfa(rid, entry, username, "Too many wrong codes. Try again later.", 429)
    code = request.form.get("code", "").replace(" ", "")
    if not secret or not code.isdigit() or not pyotp.TOTP(secret).verify(code, valid_window=1):
        throttle.failed(key)
        return _render_mfa(
            rid, entry, username, "That code is not right. Try the current one.", 401
        )
    throttle.succeeded(key)
    _complete_sign_in(rid, signed_in, primary_id, mfa=True)
    return redirect(url_for("auth_pages.consent", rid=rid))


@bp.get("/v2/web/consent")
def consent():
    rid = request.args.get("rid", "")
    entry = _pending(rid)
    if needs_sign_in(entry["args"], rid):
        return redirect(url_for("auth_pages.sign_in", rid=rid))
    args = entry["args"]
    forest = scope_syntax.parse(args.get("scope"))
    return render_template(
        "auth/consent.html",
        rid=rid,
        client=_client(args.get("client_id", "")),
        identity=current_identity(),
        scopes=[describe(scope, _collection_names(forest)) for scope in forest],
        csrf_token=csrf_token(),
    )


@bp.post("/v2/web/consent")
def consent_post():
    """Allow: record the consents and send the code; deny: `error=access_denied`."""
    from localglobus.auth.oauth import authorize_error, server

    rid = request.form.get("rid", "")
    entry = _pending(rid)
    _check_csrf()
    identity = current_identity()
    # needs_sign_in is true without a signed-in identity; the check repeats it for mypy.
    if identity is None or needs_sign_in(entry["args"], rid):
        return redirect(url_for("auth_pages.sign_in", rid=rid))
    try:
        # Validate again: the client or its redirect URIs may have changed meanwhile.
        grant = server().get_consent_grant(request=entry["args"], end_user=identity)
    except OAuth2Error as error:
        return authorize_error(error)
    _forget(rid)
    allowed = request.form.get("decision") == "allow"
    if allowed:
        with get_state().db.session() as db:
            forest = scope_syntax.parse(entry["args"].get("scope"))
            tokens.record_consents(db, identity.id, entry["args"]["client_id"], forest)
    return server().create_authorization_response(
        request=grant.request, grant_user=identity if allowed else None, grant=grant
    )


@bp.get("/v2/web/auth-code")
def auth_code():
    """Where native apps (and `globus login --no-local-server`) send the browser: the
    code is shown for the person to paste into the application."""
    return render_template(
        "auth/auth_code.html",
        code=request.args.get("code"),
        error=request.args.get("error"),
    )


@bp.route("/v2/web/logout", methods=["GET", "POST"])
def sign_out():
    if request.method == "POST":
        _check_csrf()
        with get_state().db.session() as db:
            sessions.end(db, session.get(SESSION_KEY))
        session.clear()
        return render_template("auth/signed_out.html")
    return render_template(
        "auth/sign_out.html", identity=current_identity(), csrf_token=csrf_token()
    )
