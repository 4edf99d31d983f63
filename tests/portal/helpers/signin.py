"""Signing in from tests, for real: the portal's test client plus a browser-like
`requests.Session` that talks to the live localglobus.

    from tests.portal.helpers.signin import sign_in

    def test_something(client, localglobus):
        sign_in(client, localglobus)                    # as "researcher"
        sign_in(client, localglobus, "admin")           # or another demo user
        sign_in(client, localglobus, next="/files/")    # lands on /files/ afterwards

`sign_in` drives /auth/login on the Flask test client, follows the redirect to
localglobus's authorize URL, fills in its sign-in and consent forms (parsed with
BeautifulSoup, whatever their field names), takes `code` and `state` from the redirect
back to the portal and calls /auth/callback on the test client. It fails with a readable
message when any step does not go as a browser would see it.

Lower-level pieces for tests of the flow itself: `authorize_url` (start a login or a
consent step-up and return where the portal sends the browser), `globus_round_trip`
(sign in and consent at localglobus, return the callback path), `callback`.

`FakeOIDC` is a deliberately misbehaving OIDC provider on loopback (discovery, JWKS,
token and revoke endpoints) for the id_token and callback rejection tests:

    @pytest.fixture
    def fake():
        with FakeOIDC() as provider:
            yield provider

    @pytest.fixture
    def fake_app(make_app, fake):
        return make_app(**fake.portal_config())

    def test_x(fake, fake_app):
        client = fake_app.test_client()
        fake_sign_in(client, fake, name="Changed Name")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from bs4 import BeautifulSoup
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.exceptions import MethodNotAllowed

from tests.conftest import DEMO_PASSWORD

CALLBACK_PATH = "/auth/callback"
# Button labels that mean "yes" on a sign-in or consent page, and those that mean "no".
_YES = re.compile(r"allow|approve|accept|consent|continue|sign ?in|log ?in|yes|submit", re.I)
_NO = re.compile(r"deny|decline|cancel|reject|\bno\b", re.I)
MAX_STEPS = 10


def authorize_url(client, path: str = "/auth/login", **params) -> str:
    """GET `path` (login or consent step-up) on the portal; return the authorize URL."""
    response = client.get(path + ("?" + urlencode(params, doseq=True) if params else ""))
    assert response.status_code == 302, f"{path} answered {response.status_code}, not 302"
    return response.headers["Location"]


def globus_round_trip(
    url: str,
    lg,
    username: str = "researcher",
    password: str = DEMO_PASSWORD,
    *,
    approve: bool = True,
) -> str:
    """Act as the browser at localglobus from `url` (its authorize URL): sign in as
    `username`, consent (or refuse with approve=False), and return the portal callback
    path with its query (`/auth/callback?code=...&state=...`)."""
    browser = requests.Session()
    callback_prefix = lg.portal_base_url.rstrip("/") + CALLBACK_PATH
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(callback_prefix):
                parts = urlsplit(location)
                return parts.path + ("?" + parts.query if parts.query else "")
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, _describe(response, "unexpected status")
        response = _submit(browser, response, username, password, approve)
    raise AssertionError(f"no redirect to {callback_prefix} after {MAX_STEPS} steps")


def callback(client, path: str):
    """Deliver the callback to the portal, as the browser would after Globus."""
    return client.get(path)


def sign_in(
    client,
    lg,
    username: str = "researcher",
    *,
    password: str = DEMO_PASSWORD,
    next: str | None = None,  # noqa: A002 - the portal's parameter name
):
    """Sign `username` in on the test `client` through the live localglobus `lg`.

    Returns the portal's callback response (a 302 to `next`, or to "/").
    """
    url = authorize_url(client, **({"next": next} if next is not None else {}))
    response = callback(client, globus_round_trip(url, lg, username, password))
    if response.status_code != 302:
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        heading = page.find("h1")
        message = page.find(class_="error-message")
        raise AssertionError(
            f"sign-in of {username!r} failed: {response.status_code} "
            f"{heading.get_text(strip=True) if heading else ''}: "
            f"{message.get_text(strip=True) if message else ''}"
        )
    return response


def _submit(browser: requests.Session, page: requests.Response, username, password, approve):
    """Fill in and post the one form of the page that moves the flow on."""
    soup = BeautifulSoup(page.text, "html.parser")
    forms = soup.find_all("form")
    assert forms, _describe(page, "a page with no form and no redirect")
    form = next((f for f in forms if f.find("input", attrs={"type": "password"})), None)
    button = None
    if form is None:
        form, button = _pick_button(forms, approve)
    elif (buttons := _buttons(form)) and len(buttons) > 1:
        _, button = _pick_button([form], approve)
    data = _fields(form, username, password)
    if button is not None and button.get("name"):
        data[button["name"]] = button.get("value", "")
    action = urljoin(page.url, form.get("action") or page.url)
    method = (form.get("method") or "get").lower()
    if method == "post":
        return browser.post(action, data=data, allow_redirects=False, timeout=10)
    return browser.get(action, params=data, allow_redirects=False, timeout=10)


def _buttons(form):
    return form.find_all(["button", "input"], attrs={"type": ["submit", None]}) or []


def _pick_button(forms, approve):
    """The form and button whose label says yes (or no when approve is False)."""
    wanted = _YES if approve else _NO
    for form in forms:
        for button in _buttons(form):
            if button.name == "input" and button.get("type") != "submit":
                continue
            label = " ".join(
                filter(
                    None,
                    [button.get_text(" ", strip=True), button.get("value"), button.get("name")],
                )
            )
            if wanted.search(label) and (approve is False or not _NO.search(label)):
                return form, button
    raise AssertionError(f"no {'approve' if approve else 'deny'} button among {len(forms)} forms")


def _fields(form, username: str, password: str) -> dict[str, str]:
    data = {}
    for field in form.find_all(["input", "select", "textarea"]):
        name = field.get("name")
        kind = (field.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "reset"):
            continue
        if kind == "password":
            data[name] = password
        elif kind in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data[name] = field.get("value", "on")
        elif kind in ("text", "email") and re.search(r"user|login|email|name", name, re.I):
            data[name] = field.get("value") or username
        elif field.name == "select":
            option = field.find("option", selected=True) or field.find("option")
            data[name] = option.get("value", option.get_text()) if option else ""
        else:
            data[name] = field.get("value", field.get_text() if field.name == "textarea" else "")
    return data


def _describe(response: requests.Response, what: str) -> str:
    soup = BeautifulSoup(response.text, "html.parser")
    title = soup.find(["h1", "title"])
    text = title.get_text(strip=True) if title else response.text[:200]
    return f"{what}: {response.status_code} at {response.url}: {text}"


# -- a misbehaving OpenID provider -----------------------------------------------------


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
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

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


# -- the portal's routes, for tests parametrized over every page -------------------------

# Sample values for URL converters: the guard and CSRF answer before any view reads them.
_SAMPLES = {
    "UUIDConverter": uuid.UUID("3b8b9a4e-0000-4000-8000-00000000abcd"),
    "IntegerConverter": 1,
    "FloatConverter": 1.0,
    "PathConverter": "a/b",
}
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Route:
    """One url_map rule, with a concrete path to request."""

    endpoint: str
    path: str
    methods: frozenset[str]  # this rule's, without HEAD and OPTIONS
    get_answers: bool  # whether any rule answers GET on `path`

    @property
    def state_changing(self) -> bool:
        return bool(self.methods & _STATE_CHANGING)


def portal_routes() -> list[Route]:
    """Every rule of a freshly built portal (reading the url_map needs no database), so
    that a page added tomorrow is covered by today's parametrized tests."""
    from app import create_app
    from app.globus.crypto import generate_key

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "INSTANCE_PATH": tmp,
                "FERRY_DATABASE_URL": f"sqlite:///{tmp}/routes.db",
                "FERRY_GLOBUS_CLIENT_ID": "routes",
                "FERRY_GLOBUS_CLIENT_SECRET": "routes",
                "FERRY_TOKEN_KEYS": [generate_key()],
                "SECRET_KEY": "routes",
            }
        )
        adapter = app.url_map.bind("localhost")
        routes = []
        for rule in app.url_map.iter_rules():
            values = {name: _sample(conv) for name, conv in rule._converters.items()}
            path = adapter.build(rule.endpoint, values)
            methods = frozenset(rule.methods - {"HEAD", "OPTIONS"})
            routes.append(Route(rule.endpoint, path, methods, _answers_get(adapter, path)))
        return routes


def _sample(converter):
    if type(converter).__name__ == "AnyConverter":
        return sorted(converter.items)[0]
    return _SAMPLES.get(type(converter).__name__, "x")


def _answers_get(adapter, path: str) -> bool:
    # A POST-only rule may share its path with a GET page (list + create).
    try:
        adapter.match(path, method="GET")
    except MethodNotAllowed:
        return False
    return True
