"""Result documents (docs/globus-api.md B.0): what a Transfer route answers when it has done
something rather than fetched something."""

from __future__ import annotations

from flask import jsonify, request

from localglobus.errors import request_id


def resource() -> str:
    path = request.path
    return path[len("/v0.10") :] if path.startswith("/v0.10") else path


def result(code: str, message: str, data_type: str = "result", status: int = 200, **extra):
    """A result document (docs/globus-api.md B.0) as a response."""
    doc = {
        "DATA_TYPE": data_type,
        "code": code,
        "message": message,
        "request_id": request_id(),
        "resource": resource(),
        **extra,
    }
    resp = jsonify(doc)
    resp.status_code = status
    return resp
