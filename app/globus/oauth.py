"""The portal as an OAuth2/OIDC confidential client of Globus Auth (authlib).

Discovery comes from FERRY_GLOBUS_AUTH_URL; the authorization-code flow always carries
a fresh state, a nonce and a PKCE S256 challenge (docs/security.md: Login).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oidc.core import CodeIDToken
from flask import current_app
from flask.sansio.app import App
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from app.errors import GlobusUnavailable, LoginRejected

log = logging.getLogger(__name__)

CLIENT_NAME = "globus"
# Globus signs with RS512; RS256 is the OIDC default. Never `none`, never HS*: an HS256
# token "signed" with our copy of the public key would otherwise verify.
ID_TOKEN_ALGORITHMS = ("RS512", "RS256")
# Clock skew tolerated on exp/iat, in seconds.
ID_TOKEN_LEEWAY = 60
# (connect, read) seconds for discovery, JWKS and token requests (docs/security.md: Reliability).
HTTP_TIMEOUT = (5, 10)


@dataclass(frozen=True)
class Authorization:
    """One authorize round: the URL to send the browser to, and the secrets it binds."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def init_oauth(app: App) -> None:
    """Register the Globus client on `app` (one OAuth registry per app: tests build many)."""
    oauth = OAuth(app)
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["FERRY_GLOBUS_CLIENT_ID"],
        client_secret=app.config["FERRY_GLOBUS_CLIENT_SECRET"],
        server_metadata_url=app.config["FERRY_GLOBUS_AUTH_URL"]
        + ".well-known/openid-configuration",
        client_kwargs={
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": HTTP_TIMEOUT,
        },
    )


def _client():
    return current_app.extensions["authlib.integrations.flask_client"].create_client(CLIENT_NAME)


def authorization(redirect_uri: str, scopes: list[str]) -> Authorization:
    """Build the URL of `GET /v2/oauth2/authorize` with fresh state, nonce and verifier."""
    state = secrets.token_urlsafe(32)  # 256 bits
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    with _talking_to_auth():
        rv = _client().create_authorization_url(
            redirect_uri,
            scope=" ".join(scopes),
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            # Globus returns refresh tokens only for offline access (docs/globus-api.md A.1).
            access_type="offline",
        )
    return Authorization(url=rv["url"], state=state, nonce=nonce, code_verifier=verifier)


def exchange_code(code: str, redirect_uri: str, code_verifier: str) -> dict:
    """`POST /v2/oauth2/token` (authorization_code grant, Basic auth, PKCE verifier)."""
    with _talking_to_auth():
        try:
            return dict(
                _client().fetch_access_token(
                    redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
                )
            )
        except OAuthError as e:
            # e.g. invalid_grant: a code already used, expired or bound to another verifier.
            raise LoginRejected(
                "Globus did not accept this sign-in. Please sign in again.",
                reason=f"token request refused: {e.error}"[:300],
            ) from e


def validate_id_token(token_response: dict, nonce: str) -> dict:
    """Verify the id_token of a token response and return its claims.

    Signature (RS512/RS256 from the discovery JWKS, refetched once for an unknown kid),
    then `iss` = the discovery issuer, `aud` = our client id, `nonce`, `exp`, `iat`.
    """
    id_token = token_response.get("id_token")
    if not id_token:
        raise LoginRejected("Globus sent no identity token.")
    client = _client()
    with _talking_to_auth():
        metadata = client.load_server_metadata()
        try:
            token = _decode(id_token, client.fetch_jwk_set())
        except InvalidKeyIdError:
            # Auth may have rotated its keys since we cached them: one refetch, no more.
            try:
                token = _decode(id_token, client.fetch_jwk_set(force=True))
            except (JoseError, ValueError) as e:
                raise _rejected("id_token signed with an unknown key", e) from e
        except (JoseError, ValueError) as e:
            raise _rejected("id_token signature or header invalid", e) from e
    # authlib checks neither iss nor aud once we pass our own options: name both.
    options = {
        "iss": {"essential": True, "values": [metadata.get("issuer")]},
        "aud": {"essential": True, "values": [client.client_id]},
        # An identity id (a UUID at Globus); the users table keys on it.
        "sub": {
            "essential": True,
            "validate": lambda _c, v: isinstance(v, str) and 0 < len(v) <= 64,
        },
        "exp": {"essential": True},
        "nonce": {"essential": True},
    }
    params = {
        "nonce": nonce,
        "client_id": client.client_id,
        "access_token": token_response.get("access_token"),
    }
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=int(time.time()), leeway=ID_TOKEN_LEEWAY)
    except JoseError as e:
        raise _rejected("id_token claims invalid", e) from e
    return dict(claims)


def _decode(id_token: str, jwks: KeySetSerialization):
    return jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=list(ID_TOKEN_ALGORITHMS))


def _rejected(reason: str, error: Exception) -> LoginRejected:
    return LoginRejected(
        "Globus's identity token could not be verified. Please sign in again.",
        reason=f"{reason}: {type(error).__name__} {error}"[:300],
    )


def tokens_of(token_response: dict, now: float | None = None) -> list[dict]:
    """Every token of a Globus token response (top level plus `other_tokens`), in the
    shape the token store saves, with `expires_at` as epoch seconds."""
    now = time.time() if now is None else now
    others = token_response.get("other_tokens")
    entries = [token_response, *(others if isinstance(others, list) else [])]
    return [
        {
            "resource_server": entry["resource_server"],
            "access_token": entry["access_token"],
            "refresh_token": entry.get("refresh_token"),
            "scope": entry.get("scope", ""),
            "expires_at": int(now + int(entry.get("expires_in", 0))),
        }
        for entry in entries
        if isinstance(entry, dict) and entry.get("resource_server") and entry.get("access_token")
    ]


@contextmanager
def _talking_to_auth() -> Iterator[None]:
    """Network failures and 5xx from Auth become "Globus is unavailable" (503), not a 500."""
    try:
        yield
    except requests.RequestException as e:
        log.warning("Globus Auth unreachable: %s", type(e).__name__)
        raise GlobusUnavailable("Globus Auth did not answer. Please try again.") from e
