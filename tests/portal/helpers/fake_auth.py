"""Globus Auth stand-ins on loopback, for tests that need Auth to misbehave or to count.

`FakeAuth` answers the token and revoke endpoints and counts refreshes (fixture
`fake_auth` in tests/portal/conftest.py). `FakeOIDC` is a deliberately misbehaving OIDC
provider (discovery, JWKS, token and revoke) for the id_token and callback rejection
tests (fixtures `fake`, `fake_app`, `fake_client`):

    def test_x(fake, fake_app):
        client = fake_app.test_client()
        fake_sign_in(client, fake, name="Changed Name")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.portal.helpers.signin import CALLBACK_PATH, authorize_url

# How often serve_forever looks for a shutdown request: its default (0.5 s) would make
# every test that starts a fake wait up to half a second in its teardown.
SHUTDOWN_POLL = 0.01


class FakeAuth:
    """Globus Auth's token and revoke endpoints on loopback, counting refresh calls.

    Refresh tokens rotate and a used one is dead (as with Globus's rotation), so two
    refreshes with the same refresh token show up as an `invalid_grant`.
    `mode`: "ok", "invalid_grant", "error" (HTTP 500) or "slow" (sleeps `delay`).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.refresh_calls = 0
        self.refused = 0
        self.revoked: list[str] = []
        self.live_refresh_tokens: dict[str, str] = {}  # refresh token -> resource server
        self.mode = "ok"
        self.delay = 0.3
        self.issued = 0
        self.auth_headers: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(
            target=self.server.serve_forever, args=(SHUTDOWN_POLL,), daemon=True
        ).start()

    def accept(self, refresh_token: str, resource_server: str) -> None:
        """Make `refresh_token` valid (as if a sign-in had issued it)."""
        self.live_refresh_tokens[refresh_token] = resource_server

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _token(self, form: dict) -> tuple[int, dict]:
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        with self.lock:
            self.refresh_calls += 1
            mode = self.mode
        if mode == "slow":
            time.sleep(self.delay)  # the behaviour under test: a slow Globus Auth
        if mode == "error":
            return 500, {"errors": [{"status": "500", "code": "INTERNAL", "detail": "boom"}]}
        # Network latency, simulated (what the fake serves, not how a test orders its
        # threads): a real round trip takes time, so concurrent callers overlap.
        time.sleep(self.delay)
        with self.lock:
            rs = self.live_refresh_tokens.pop(form.get("refresh_token"), None)
            if mode == "invalid_grant" or rs is None:
                self.refused += 1
                return 400, {"error": "invalid_grant"}
            self.issued += 1
            new_refresh = f"refresh-{self.issued}-{os.urandom(6).hex()}"
            self.live_refresh_tokens[new_refresh] = rs
        return 200, {
            "access_token": f"access-{self.issued}-{os.urandom(6).hex()}",
            "refresh_token": new_refresh,
            "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
            "resource_server": rs,
            "expires_in": 172800,
            "token_type": "Bearer",
            "other_tokens": [],
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.auth_headers.add(self.headers.get("Authorization", ""))
                if self.path == "/v2/oauth2/token":
                    status, body = fake._token(form)
                elif self.path == "/v2/oauth2/token/revoke":
                    with fake.lock:
                        fake.revoked.append(form.get("token", ""))
                    status, body = 200, {"active": False}
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def basic_client_id(self) -> set[str]:
        """The client ids seen in Basic auth headers."""
        return {b64decode(h.split()[1]).decode().split(":")[0] for h in self.auth_headers if h}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeOIDC:
    """A tiny OIDC provider on loopback that issues whatever id_token a test crafts.

    Serves `/.well-known/openid-configuration`, `/jwk.json` (counted in `jwks_fetches`),
    `POST /v2/oauth2/token` (each request kept in `token_requests`) and
    `POST /v2/oauth2/token/revoke`. Set `id_token` to a string, or to a function of the
    nonce the portal sent (see `authorize`), before the portal redeems a code.
    """

    client_id = "fake-portal-client"
    client_secret = "fake-portal-secret"

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.jwks_keys = [self.key]
        self.jwks_fetches = 0
        self.token_requests: list[dict] = []
        self.revocations: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.id_token = None
        # (status, body) to answer token requests with instead of tokens.
        self.token_error: tuple[int, dict] | None = None
        self.nonce: str | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self.issuer = self.base_url.rstrip("/")
        threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL,), daemon=True
        ).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOIDC:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def portal_config(self) -> dict:
        """`make_app(**fake.portal_config())`: a portal whose Globus (Auth and Transfer)
        is this fake; Transfer calls get a 404 and are counted in `requests`."""
        return {
            "FERRY_GLOBUS_AUTH_URL": self.base_url,
            "FERRY_GLOBUS_TRANSFER_URL": self.base_url,
            "FERRY_GLOBUS_CLIENT_ID": self.client_id,
            "FERRY_GLOBUS_CLIENT_SECRET": self.client_secret,
            "FERRY_BASE_URL": "http://portal.test",
        }

    # crafting id_tokens

    def claims(self, **overrides) -> dict:
        """Valid claims for the portal's pending login (the nonce seen in `authorize`)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "11111111-2222-3333-4444-555555555555",
            "preferred_username": "fake@example.org",
            "name": "Fake Person",
            "email": "fake@example.org",
            "nonce": self.nonce,
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict, key: RSAKey | None = None, alg: str = "RS512") -> str:
        key = key or self.key
        return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])

    @staticmethod
    def unsigned(claims: dict) -> str:
        """`alg: none`, no signature."""
        header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{header}.{b64url(json.dumps(claims).encode())}."

    def hs256_with_public_key(self, claims: dict) -> str:
        """The classic key-confusion forgery: HMAC keyed with the public key's PEM."""
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.key.kid}).encode())
        signing_input = f"{header}.{b64url(json.dumps(claims).encode())}"
        secret = self.key.as_pem(private=False)
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"

    def authorize(self, url: str) -> dict:
        """Read the portal's authorize URL (state, nonce, ...) and remember its nonce."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self.nonce = params.get("nonce")
        return params

    # the HTTP side

    def _token_response(self) -> dict:
        id_token = self.id_token(self.nonce) if callable(self.id_token) else self.id_token
        response = {
            "access_token": "fake-auth-access-token",
            "refresh_token": "fake-auth-refresh-token",
            "scope": "openid profile email",
            "resource_server": "auth.globus.org",
            "expires_in": 172800,
            "token_type": "Bearer",
            "other_tokens": [
                {
                    "access_token": "fake-transfer-access-token",
                    "refresh_token": "fake-transfer-refresh-token",
                    "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
                    "resource_server": "transfer.api.globus.org",
                    "expires_in": 172800,
                    "token_type": "Bearer",
                }
            ],
        }
        if id_token is not None:
            response["id_token"] = id_token
        return response

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = urlsplit(self.path).path
                fake.requests.append(("GET", path))
                if path == "/.well-known/openid-configuration":
                    base = fake.base_url
                    return self._json(
                        {
                            "issuer": fake.issuer,
                            "authorization_endpoint": base + "v2/oauth2/authorize",
                            "token_endpoint": base + "v2/oauth2/token",
                            "revocation_endpoint": base + "v2/oauth2/token/revoke",
                            "userinfo_endpoint": base + "v2/oauth2/userinfo",
                            "jwks_uri": base + "jwk.json",
                            "response_types_supported": ["code"],
                            # A lying provider: the portal must not trust this list.
                            "id_token_signing_alg_values_supported": ["RS512", "none", "HS256"],
                        }
                    )
                if path == "/jwk.json":
                    fake.jwks_fetches += 1
                    return self._json({"keys": [k.as_dict(private=False) for k in fake.jwks_keys]})
                return self._json({"error": "not_found"}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlsplit(self.path).path
                fake.requests.append(("POST", path))
                if path == "/v2/oauth2/token":
                    fake.token_requests.append(
                        {**form, "authorization": self.headers.get("Authorization")}
                    )
                    if fake.token_error is not None:
                        return self._json(fake.token_error[1], fake.token_error[0])
                    return self._json(fake._token_response())
                if path == "/v2/oauth2/token/revoke":
                    fake.revocations.append(form.get("token", ""))
                    return self._json({"active": False})
                return self._json({"error": "not_found"}, 404)

            def _other(self):
                fake.requests.append((self.command, urlsplit(self.path).path))
                return self._json({"error": "not_found"}, 404)

            do_PUT = do_PATCH = do_DELETE = _other

        return Handler


def fake_sign_in(client, fake: FakeOIDC, next: str | None = None, **claims):  # noqa: A002
    """Sign in through `fake`, with a valid id_token carrying `claims` overrides.
    Returns the callback response."""
    url = authorize_url(client, **({"next": next} if next is not None else {}))
    params = fake.authorize(url)
    fake.id_token = lambda nonce: fake.sign(fake.claims(**claims))
    return client.get(f"{CALLBACK_PATH}?code=fake-code&state={params['state']}")
