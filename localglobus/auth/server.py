"""authlib's authorization server, adapted to localglobus: client adapter, requests built
from Flask or from a stored authorize request, and Globus's error and response shapes."""

from __future__ import annotations

from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request
from flask import Response, json
from flask import request as flask_request
from werkzeug.datastructures import MultiDict

from localglobus.auth.identities import verify_secret
from localglobus.errors import request_id
from localglobus.models import Client

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_CONFIDENTIAL_GRANTS = {
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:globus:auth:grant_type:dependent_token",
}


class OAuthClient(ClientMixin):
    """A registered client as authlib sees it."""

    def __init__(self, row: Client, auth_code_page: str):
        self.row = row
        self.client_id = row.id
        self._auth_code_page = auth_code_page

    def get_client_id(self):
        return self.row.id

    def get_default_redirect_uri(self):
        # Globus requires redirect_uri on every authorize request.
        return None

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        if redirect_uri in (self.row.redirect_uris or []):
            return True
        if self.row.is_confidential and self.row.template_id is None:
            return False
        # Native apps and their templated instances (globus-cli) may show the code on the
        # auth-code page, or receive it on any loopback port (RFC 8252 section 7.3).
        if redirect_uri == self._auth_code_page:
            return True
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in _LOOPBACK and not parts.fragment

    def check_client_secret(self, client_secret):
        return verify_secret(self.row.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.row.is_confidential:
            return method in ("client_secret_basic", "client_secret_post")
        return method == "none"

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        if self.row.is_confidential:
            return grant_type in _CONFIDENTIAL_GRANTS
        return grant_type in ("authorization_code", "refresh_token")


class LocalPayload(OAuth2Payload):
    def __init__(self, values: MultiDict):
        self._values = values

    @property
    def data(self):
        return self._values

    @property
    def datalist(self):
        return {key: self._values.getlist(key) for key in self._values}


class LocalOAuth2Request(OAuth2Request):
    """An OAuth2 request from the current Flask request or from stored authorize args."""

    def __init__(self, method: str, uri: str, headers, args: MultiDict, form: MultiDict):
        # authlib refuses plain http off loopback; localglobus speaks http on purpose
        # (docs/globus-api.md C.1), whatever LOCALGLOBUS_HOST is, so give it a placeholder to check.
        super().__init__(method, "https://localglobus.invalid/", headers=headers)
        self.uri = uri
        self._args = args
        self._form = form
        values = MultiDict(args)
        for key, value in form.items(multi=True):
            values.add(key, value)
        self.payload = LocalPayload(values)

    @property
    def args(self):
        return self._args

    @property
    def form(self):
        return self._form


class LocalAuthorizationServer(AuthorizationServer):
    """authlib's Flask server with Globus's shapes."""

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        if isinstance(request, dict):
            # A stored authorize request, replayed when the user answers the consent page.
            args = MultiDict(request)
            return LocalOAuth2Request("GET", flask_request.url, {}, args, MultiDict())
        return LocalOAuth2Request(
            flask_request.method,
            flask_request.url,
            flask_request.headers,
            flask_request.args,
            flask_request.form,
        )

    def handle_response(self, status_code, payload, headers):
        # The dependent-token grant answers a JSON array (docs/globus-api.md A.2).
        if isinstance(payload, dict | list):
            payload = json.dumps(payload)
        return Response(payload, status=status_code, headers=headers)

    def handle_error_response(self, request, error):
        if error.redirect_uri:
            return super().handle_error_response(request, error)
        return oauth_error_response(error.status_code, error.error, error.description)


_DESCRIPTIONS = {
    "invalid_grant": (
        "The code or refresh token is invalid, expired, revoked, already used, "
        "or was issued to another client."
    ),
    "invalid_client": "Client authentication failed.",
}


def oauth_error_response(status: int, error: str, description: str | None) -> Response:
    """An OAuth error with Globus's `errors[]` beside RFC 6749's `error`.

    `detail` carries the OAuth error code: globus-cli recognises an expired login by
    `message == "invalid_grant"` (its invalidrefresh hook), and the SDK reads `detail`.
    """
    description = description or _DESCRIPTIONS.get(error) or error.replace("_", " ")
    body = {
        "error": error,
        "error_description": description,
        "errors": [
            {
                "status": str(status),
                "id": request_id(),
                "code": error.upper(),
                "title": description,
                "detail": error,
            }
        ],
    }
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="localglobus"'
    return response
