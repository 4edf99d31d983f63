"""Error documents in the two shapes Globus uses (docs/globus-api.md B.0 and A.10).

Both are sent as `application/json`: globus-sdk parses 4xx/5xx bodies only then.
"""

from __future__ import annotations

import secrets
import string

from flask import jsonify, request

_ALPHABET = string.ascii_letters + string.digits


def request_id() -> str:
    """A short random id like Transfer's `7HgMVYazI`."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(9))


class TransferAPIError(Exception):
    """A Transfer error: HTTP status, Globus `code`, human `message`, and extra fields
    (e.g. `authorization_parameters`, `required_scopes` for ConsentRequired)."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self):
        resource = request.path
        if resource.startswith("/v0.10"):
            resource = resource[len("/v0.10") :]
        body = {
            "code": self.code,
            "message": self.message,
            "request_id": request_id(),
            "resource": resource,
            **self.extra,
        }
        resp = jsonify(body)
        resp.status_code = self.status
        return resp


def bad_request(message: str, code: str = "ClientError.BadRequest") -> TransferAPIError:
    return TransferAPIError(400, code, message)


class AuthAPIError(Exception):
    """An Auth error in the `errors: [...]` shape globus-sdk reads as AuthAPIError.

    OAuth token-endpoint errors (`invalid_grant` ...) use `error`/`error_description`
    at the top level as well, so both RFC 6749 clients and globus-sdk understand them.
    """

    def __init__(self, status: int, code: str, detail: str, error: str | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.error = error or code.lower()

    def response(self):
        body = {
            "errors": [
                {
                    "status": str(self.status),
                    "id": request_id(),
                    "code": self.code,
                    "detail": self.detail,
                    "title": self.code.replace("_", " ").title(),
                }
            ],
            "error": self.error,
            "error_description": self.detail,
        }
        resp = jsonify(body)
        resp.status_code = self.status
        return resp
