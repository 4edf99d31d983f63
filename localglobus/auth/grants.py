"""The four token grants, on authlib's grant classes: authlib does the standard checks
(client authentication, code binding, redirect_uri, PKCE); the responses have Globus's
shape (one token per resource server, `other_tokens`, docs/globus-api.md 0.4 and A.2)."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import CursorResult, update

from localglobus.auth import scopes as scope_syntax
from localglobus.auth import tokens
from localglobus.auth.oidc import id_token
from localglobus.auth.pages import current_session_id
from localglobus.db import as_utc, utcnow
from localglobus.models import AuthorizationCode, Identity, Token
from localglobus.state import get_state

CODE_LIFETIME = timedelta(minutes=10)
SECRET_AUTH = ["client_secret_basic", "client_secret_post"]


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only: `plain` (or a challenge with no method, which means plain)
    lets whoever sees the authorize URL redeem the code (RFC 9700 section 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


def parse_requested_scope(text: str | None) -> list[scope_syntax.Scope]:
    """The requested scope forest; an empty or malformed scope is `invalid_scope`."""
    try:
        forest = scope_syntax.parse(text)
    except scope_syntax.ScopeSyntaxError as exc:
        raise InvalidScopeError(str(exc).replace("'", "")) from exc
    if not forest:
        raise InvalidScopeError("A scope is required.")
    return forest


def token_set(entries: list[dict], *, state: str | None = None, id_token: str | None = None):
    """The Globus token response: first token at the top, the rest in `other_tokens`."""
    if state is not None:
        for entry in entries:
            entry["state"] = state
    top, *others = entries
    body = {**top, "other_tokens": others}
    if id_token:
        body["id_token"] = id_token
    return body


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_AUTH, "none"]

    def validate_requested_scope(self):
        parse_requested_scope(self.request.payload.scope)

    def save_authorization_code(self, code, request):
        data = request.payload.data
        with get_state().db.session() as session:
            # Codes are single-use and short-lived; drop the dead ones as new ones arrive.
            session.query(AuthorizationCode).filter(
                AuthorizationCode.expires_at < utcnow() - CODE_LIFETIME
            ).delete()
            session.add(
                AuthorizationCode(
                    code=tokens.digest(code),
                    client_id=request.client.get_client_id(),
                    identity_id=request.user.id,
                    redirect_uri=data.get("redirect_uri") or "",
                    scope=data.get("scope") or "",
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    access_type=data.get("access_type") or "online",
                    state=data.get("state"),
                    session_id=current_session_id(),
                    expires_at=utcnow() + CODE_LIFETIME,
                )
            )

    def query_authorization_code(self, code, client):
        hashed = tokens.digest(code)
        with get_state().db.session() as session:
            row = session.get(AuthorizationCode, hashed)
            if row is None or row.client_id != client.get_client_id():
                return None
            if row.used:
                # A replayed code may be stolen: revoke what it gave (RFC 6749 section 4.1.2).
                session.execute(
                    update(Token).where(Token.code_digest == hashed).values(revoked=True)
                )
                return None
            if as_utc(row.expires_at) < utcnow():
                return None
            return row

    def delete_authorization_code(self, authorization_code):
        """Codes are marked used in create_token_response, and kept to spot replays."""

    def authenticate_user(self, authorization_code):
        with get_state().db.session() as session:
            return session.get(Identity, authorization_code.identity_id)

    def create_token_response(self):
        code = self.request.authorization_code
        client_id = self.request.client.get_client_id()
        state = get_state()
        forest = scope_syntax.parse(code.scope)
        with state.db.session() as session:
            # An UPDATE's result is a CursorResult (it has a rowcount); the stubs say Result.
            claimed = cast(
                CursorResult,
                session.execute(
                    update(AuthorizationCode)
                    .where(AuthorizationCode.code == code.code, AuthorizationCode.used.is_(False))
                    .values(used=True)
                ),
            )
            if claimed.rowcount != 1:  # two redemptions racing: only one wins
                raise InvalidGrantError("The code was already used.")
            identity = session.get(Identity, code.identity_id)
            if identity is None:
                raise InvalidGrantError("The identity no longer exists.")
            entries = tokens.issue_for_forest(
                session,
                state.settings,
                client_id=client_id,
                identity_id=identity.id,
                forest=forest,
                offline=code.access_type == "offline",
                code_digest=code.code,
                session_id=code.session_id,
            )
        names = [scope.name for scope in forest]
        signed = None
        if "openid" in names:
            signed = id_token(identity, client_id, entries[0]["access_token"], names, code.nonce)
        body = token_set(entries, state=code.state, id_token=signed)
        return 200, body, self.TOKEN_RESPONSE_HEADER


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Refresh one resource server's token; the refresh token rotates (docs/globus-api.md 0.4:
    globus-cli stores the response wholesale, so it must carry the new refresh token)."""

    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_AUTH, "none"]

    def authenticate_refresh_token(self, refresh_token):
        with get_state().db.session() as session:
            row = tokens.find_refresh_token(session, refresh_token)
            return _RefreshCredential(row) if row is not None else None

    def authenticate_user(self, refresh_token):
        with get_state().db.session() as session:
            return session.get(Identity, refresh_token.row.identity_id)

    def revoke_old_credential(self, refresh_token):
        """Done inside create_token_response, atomically with issuing the new one."""

    def create_token_response(self):
        credential = self.request.refresh_token
        state = get_state()
        with state.db.session() as session:
            old = session.get(Token, credential.row.id)
            # Compare-and-swap on the digest: of two refreshes racing with one refresh
            # token, only one gets a new token.
            if old is None or old.refresh_digest != credential.row.refresh_digest:
                raise InvalidGrantError("The refresh token is no longer valid.")
            if session.get(Identity, old.identity_id) is None:
                raise InvalidGrantError("The identity no longer exists.")
            entry = tokens.rotate(session, state.settings, old)
        return 200, token_set([entry]), self.TOKEN_RESPONSE_HEADER


class _RefreshCredential:
    """A token row as authlib's refresh grant wants it."""

    def __init__(self, row: Token):
        self.row = row

    def check_client(self, client):
        return self.row.client_id == client.get_client_id()

    def get_scope(self):
        return self.row.scope


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """Tokens for the client's own identity. The scopes, dependencies included, are
    recorded as that identity's consents: globus-cli's ConsentRequired retry in client
    mode asks for the scope again and then re-sends with the same token (docs/globus-api.md B)."""

    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_AUTH

    def validate_requested_scope(self):
        parse_requested_scope(self.request.payload.scope)

    def create_token_response(self):
        client_id = self.request.client.get_client_id()
        forest = parse_requested_scope(self.request.payload.scope)
        state = get_state()
        with state.db.session() as session:
            identity = session.get(Identity, client_id)
            if identity is None:
                raise InvalidGrantError("The client has no identity.")
            tokens.record_consents(session, client_id, client_id, forest)
            entries = tokens.issue_for_forest(
                session,
                state.settings,
                client_id=client_id,
                identity_id=client_id,
                forest=forest,
                offline=False,
            )
        names = [scope.name for scope in forest]
        signed = None
        if "openid" in names:
            signed = id_token(identity, client_id, entries[0]["access_token"], names)
        return 200, token_set(entries, id_token=signed), self.TOKEN_RESPONSE_HEADER


class DependentTokenGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """A resource server trades a token it received for tokens to the services it
    depends on, as the user approved them under its scope. Answers a JSON array."""

    GRANT_TYPE = "urn:globus:auth:grant_type:dependent_token"
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_AUTH

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        self.request.client = client
        value = self.request.form.get("token")
        if not value:
            raise InvalidRequestError("Missing 'token' in request.")
        with get_state().db.session() as session:
            row = tokens.find_access_token(session, value)
        # Only the resource server the token was issued for may exchange it.
        if row is None or row.resource_server != client.get_client_id():
            raise InvalidGrantError("The token is not active or not issued to this client.")
        self.request.credential = row

    def create_token_response(self):
        row = self.request.credential
        client_id = self.request.client.get_client_id()
        forest = scope_syntax.parse(row.dependent_scope)
        wanted = self.request.form.get("scope")
        if wanted:
            names = set(wanted.split())
            if not names <= {scope.name for scope in forest}:
                raise InvalidScopeError("A requested scope was not approved as a dependency.")
            forest = [scope for scope in forest if scope.name in names]
        if not forest:
            return 200, [], self.TOKEN_RESPONSE_HEADER
        state = get_state()
        with state.db.session() as session:
            tokens.record_consents(session, row.identity_id, client_id, forest)
            entries = tokens.issue_for_forest(
                session,
                state.settings,
                client_id=client_id,
                identity_id=row.identity_id,
                forest=forest,
                offline=self.request.form.get("access_type") == "offline",
            )
        return 200, entries, self.TOKEN_RESPONSE_HEADER


def register_grants(server) -> None:
    """Register every grant on the authorization server."""
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DependentTokenGrant)
