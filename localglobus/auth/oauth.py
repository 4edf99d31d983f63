"""OAuth2 endpoints: authorize, token, revoke, introspect, validate, and discovery."""

from __future__ import annotations

from typing import Literal, overload

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, jsonify, redirect, request, url_for

from localglobus.auth import pages, sessions, tokens
from localglobus.auth.identities import identity_set
from localglobus.auth.server import LocalAuthorizationServer, OAuthClient, oauth_error_response
from localglobus.db import as_utc
from localglobus.models import Identity
from localglobus.state import get_state

bp = Blueprint("auth_oauth", __name__)


def server() -> LocalAuthorizationServer:
    return current_app.extensions["localglobus_auth_server"]


@bp.get("/v2/oauth2/authorize")
def authorize():
    """Validate the request, then send the browser to sign-in or consent."""
    try:
        server().get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return authorize_error(error)
    args = request.args.to_dict()
    rid = pages.remember_request(args)
    if pages.needs_sign_in(args, rid):
        return redirect(url_for("auth_pages.sign_in", rid=rid))
    return redirect(url_for("auth_pages.consent", rid=rid))


def authorize_error(error: OAuth2Error):
    """Back to the client when its redirect_uri is known good; otherwise an error page:
    an unknown client or unregistered redirect_uri must never get a redirect (open
    redirector, RFC 6749 section 4.1.2.1)."""
    if error.redirect_uri:
        return server().handle_error_response(None, error)
    return pages.error_page(
        "This sign-in request is not valid",
        error.description or error.error,
        status=400,
    )


@bp.post("/v2/oauth2/token")
def token():
    return server().create_token_response()


@overload
def _authenticated_client(required: Literal[True]) -> OAuthClient: ...
@overload
def _authenticated_client(required: bool) -> OAuthClient | None: ...
def _authenticated_client(required: bool) -> OAuthClient | None:
    """The confidential client of a Basic (or form) authenticated request.

    Raises OAuth2Error (401 invalid_client) on bad credentials, or when none are sent and
    `required`."""
    sent = "Authorization" in request.headers or "client_secret" in request.form
    if not sent and not required:
        return None
    oauth_request = server().create_oauth2_request(None)
    return server().authenticate_client(
        oauth_request, ["client_secret_basic", "client_secret_post"], endpoint="introspection"
    )


def _token_endpoint(view):
    """Answer OAuth2Errors of the small token endpoints in the token endpoint's shape."""

    def wrapped():
        try:
            return view()
        except OAuth2Error as error:
            return oauth_error_response(error.status_code, error.error, error.description)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@bp.post("/v2/oauth2/token/revoke")
@_token_endpoint
def revoke():
    """Revoke an access or refresh token. A public client (globus-cli's logout sends the
    native template's id only) may revoke any token it holds: holding it is the proof."""
    client = _authenticated_client(required=False)
    value = request.form.get("token")
    if not value:
        return oauth_error_response(400, "invalid_request", "Missing 'token' in request.")
    with get_state().db.session() as session:
        row = tokens.find_any_token(session, value)
        if row is not None and (client is None or row.client_id == client.get_client_id()):
            row.revoked = True
    return jsonify({"active": False})


@bp.post("/v2/oauth2/token/introspect")
@_token_endpoint
def introspect():
    """Token details for its client or its resource server (docs/globus-api.md A.4)."""
    client = _authenticated_client(required=True)
    value = request.form.get("token", "")
    include = set(request.form.get("include", "").replace(",", " ").split())
    settings = get_state().settings
    with get_state().db.session() as session:
        row, identity = _active_row(session, value)
        if row is None or client.get_client_id() not in (row.client_id, row.resource_server):
            return jsonify({"active": False})
        issued = int(as_utc(row.issued_at).timestamp())
        body = {
            "active": True,
            "token_type": "Bearer",
            "scope": row.scope,
            "client_id": row.client_id,
            "username": identity.username,
            "name": identity.name or None,
            "email": identity.email or None,
            "exp": int(as_utc(row.expires_at).timestamp()),
            "iat": issued,
            "nbf": issued,
            "sub": identity.id,
            "aud": list(dict.fromkeys([row.resource_server, row.client_id])),
            "iss": settings.issuer,
        }
        if "identity_set" in include:
            body["identity_set"] = [i.id for i in identity_set(session, identity)]
        if "session_info" in include:
            body["session_info"] = sessions.session_info(session, row.session_id)
    return jsonify(body)


@bp.post("/v2/oauth2/token/validate")
@_token_endpoint
def validate():
    """Is this token (globus-cli sends its refresh token) still good for this client?"""
    client = _authenticated_client(required=True)
    with get_state().db.session() as session:
        row, _identity = _active_row(session, request.form.get("token", ""))
        active = row is not None and row.client_id == client.get_client_id()
    return jsonify({"active": active})


def _active_row(session, value: str):
    """(row, identity) when `value` is an active access token or unrevoked refresh token."""
    if not value:
        return None, None
    row = tokens.find_access_token(session, value) or tokens.find_refresh_token(session, value)
    identity = session.get(Identity, row.identity_id) if row is not None else None
    return (row, identity) if identity is not None else (None, None)


@bp.get("/.well-known/openid-configuration")
def openid_configuration():
    """Discovery, every URL absolute and pointing at this server (docs/globus-api.md A.8)."""
    base = get_state().settings.base_url
    return jsonify(
        {
            "issuer": get_state().settings.issuer,
            "authorization_endpoint": base + "v2/oauth2/authorize",
            "userinfo_endpoint": base + "v2/oauth2/userinfo",
            "token_endpoint": base + "v2/oauth2/token",
            "revocation_endpoint": base + "v2/oauth2/token/revoke",
            "introspection_endpoint": base + "v2/oauth2/token/introspect",
            "jwks_uri": base + "jwk.json",
            "response_types_supported": ["code"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:globus:auth:grant_type:dependent_token",
            ],
            "id_token_signing_alg_values_supported": ["RS512"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "at_hash",
                "aud",
                "email",
                "exp",
                "name",
                "nonce",
                "preferred_username",
                "iat",
                "iss",
                "sub",
            ],
            "subject_types_supported": ["public"],
        }
    )


@bp.get("/jwk.json")
def jwks():
    return jsonify(get_state().extra["auth_signing_key"].jwks())
