"""Sign-in and sign-out use cases: start an authorize round, finish it, forget everything."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from app.auth.pending import PendingLogin
from app.db import utcnow
from app.errors import BadInput, LoginRejected
from app.extensions import db
from app.globus import oauth, tokens
from app.inputs import has_control
from app.models import User
from app.security import safe_next

security_log = logging.getLogger("ferry.security")

# Longer callback parameters are not from Globus (codes and our states are ~40-90 chars).
MAX_PARAM_LENGTH = 1024
# Scope strings as Globus writes them, dependency syntax included (docs/globus-api.md A.9).
_SCOPE = re.compile(r"^[A-Za-z0-9:/._\-*\[\] ]{1,1024}$")
MAX_EXTRA_SCOPES = 10
# Where a "next" must never point: back into the sign-in machinery (a login loop).
# /auth/consent may: signing in first, then asking for the consent, is the right order.
_NO_RETURN = ("/auth/login", "/auth/callback", "/auth/logout")
# Identity fields shown on the profile page; anything else in identity_set is dropped.
_IDENTITY_FIELDS = ("sub", "username", "name", "email", "identity_provider_display_name")


class LoginCancelled(LoginRejected):
    """The user said no at Globus (`?error=access_denied`)."""

    title = "Login cancelled"


@dataclass(frozen=True)
class Profile:
    """What the profile page shows: the user, their linked identities, their tokens."""

    user: User
    identities: list[dict]
    tokens: list


def return_path(target: str | None) -> str:
    """A portal path to come back to after signing in (never off-site, never a loop)."""
    path = safe_next(target)
    return "/" if path.startswith(_NO_RETURN) else path


def scopes_with(base: Sequence[str], extra: Iterable[str] = ()) -> list[str]:
    """`base` plus `extra`; a dependency form (`transfer:all[*...]`) replaces its plain
    root, so Auth is never asked for the same scope twice."""
    scopes = list(base)
    for scope in extra:
        root = scope.split("[", 1)[0].strip()
        scopes = [s for s in scopes if s != root and s != scope] + [scope]
    return scopes


def required_scopes(values: list[str]) -> tuple[str, ...]:
    """Check the `scope` values of a consent step-up (they arrive in a URL)."""
    if not values or len(values) > MAX_EXTRA_SCOPES:
        raise BadInput("The consent request names no scope, or too many.")
    for value in values:
        if not _SCOPE.match(value) or value.count("[") != value.count("]"):
            raise BadInput("The consent request names an invalid scope.")
    return tuple(dict.fromkeys(values))


def begin_login(
    base_scopes: Sequence[str], redirect_uri: str, next_url: str | None, extra_scopes=()
) -> tuple[str, PendingLogin]:
    """Start an authorize round; return the Globus URL and what the callback will need."""
    round_ = oauth.authorization(redirect_uri, scopes_with(base_scopes, extra_scopes))
    pending = PendingLogin(
        state=round_.state,
        nonce=round_.nonce,
        code_verifier=round_.code_verifier,
        next=return_path(next_url),
        extra_scopes=tuple(extra_scopes),
    )
    return round_.url, pending


def complete_login(
    args: Mapping[str, list[str]], pending: PendingLogin | None, redirect_uri: str
) -> tuple[User, str]:
    """Check the callback, then (only then) redeem the code, verify the id_token and sign
    the user in; returns the user and the page the sign-in started from. Every refusal
    raises LoginRejected before any token request."""
    params = _callback_params(args)
    if "error" in params:
        if params["error"] == "access_denied":
            raise LoginCancelled(
                "You cancelled the sign-in at Globus. Nothing was changed.",
                reason="access_denied at Auth",
            )
        # error_description is attacker-controllable text: logged by code only, never shown.
        raise LoginRejected(
            "Globus could not complete the sign-in.", reason=f"Auth error {params['error']!r}"
        )
    if not params.get("state"):
        raise LoginRejected(_START_AGAIN, reason="callback without state")
    if pending is None:
        raise LoginRejected(_START_AGAIN, reason="unknown, foreign or reused state")
    if pending.expired():
        raise LoginRejected(_START_AGAIN, reason="expired state")
    if not params.get("code"):
        raise LoginRejected(_START_AGAIN, reason="callback without code")
    token_response = oauth.exchange_code(params["code"], redirect_uri, pending.code_verifier)
    claims = oauth.validate_id_token(token_response, pending.nonce)
    return sign_in(claims, token_response), pending.next


_START_AGAIN = "This sign-in link is not valid (any more) in this browser. Please sign in again."


def _callback_params(args: Mapping[str, list[str]]) -> dict[str, str]:
    """One value per name, short, printable: anything else was not sent by Globus."""
    params = {}
    for name, values in args.items():
        if len(values) != 1:
            raise LoginRejected(_START_AGAIN, reason=f"repeated callback parameter {name!r}"[:80])
        value = values[0]
        if len(name) + len(value) > MAX_PARAM_LENGTH:
            raise LoginRejected(_START_AGAIN, reason="oversized callback parameter")
        if has_control(name) or has_control(value):
            raise LoginRejected(_START_AGAIN, reason="control character in callback")
        params[name] = value
    return params


def sign_in(claims: dict, token_response: dict) -> User:
    """Upsert the user by `sub` (never by email) and store every token of the response."""
    user = db.session.scalar(select(User).where(User.sub == claims["sub"]))
    if user is None:
        user = User(sub=claims["sub"])
        db.session.add(user)
    user.username = _text(claims.get("preferred_username")) or claims["sub"]
    user.name = _text(claims.get("name"))
    user.email = _text(claims.get("email"))
    user.identity_set = _identity_set(claims)
    user.last_login_at = utcnow()
    db.session.flush()
    tokens.save_token_response(user.id, oauth.tokens_of(token_response))
    db.session.commit()
    security_log.info("sign-in user=%s sub=%s", user.id, user.sub)
    return user


def _text(value) -> str | None:
    """A display claim as the users table holds it (255 characters at most)."""
    return str(value)[:255] if value else None


def _identity_set(claims: dict) -> list[dict]:
    identities = claims.get("identity_set")
    if not isinstance(identities, list):
        return []
    return [
        {key: str(identity[key])[:255] for key in _IDENTITY_FIELDS if identity.get(key)}
        for identity in identities[:50]
        if isinstance(identity, dict)
    ]


def sign_out(user_id: int) -> None:
    """Revoke every stored token at Globus Auth and delete the rows (even if Auth is down)."""
    try:
        tokens.revoke_and_delete_all(user_id)
    finally:
        security_log.info("sign-out user=%s", user_id)


def profile(user: User) -> Profile:
    """The signed-in user, their linked identities and the tokens held (never the tokens)."""
    return Profile(
        user=user, identities=list(user.identity_set or []), tokens=tokens.list_tokens(user.id)
    )
