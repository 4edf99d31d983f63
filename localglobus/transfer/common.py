"""What every Transfer route shares: the blueprint, the caller, request parsing, result
documents and the time formats of the API."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from localglobus.auth import tokens
from localglobus.db import as_utc
from localglobus.errors import TransferAPIError, request_id
from localglobus.state import get_state

bp = Blueprint("transfer", __name__, url_prefix="/v0.10")
log = logging.getLogger("localglobus.transfer")


# Every Transfer error is an application/json error document (reference B.0): globus-sdk
# parses error bodies only when they are JSON. The TransferAPIError handler is repeated
# here because a blueprint's `Exception` handler would otherwise shadow the app's.
@bp.errorhandler(TransferAPIError)
def _api_error(exc: TransferAPIError):
    return exc.response()


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return TransferAPIError(
        exc.code or 500, f"ClientError.{type(exc).__name__}", exc.description
    ).response()


@bp.errorhandler(Exception)
def _crash(exc: Exception):
    log.exception("unhandled error in %s", request.path)
    return TransferAPIError(500, "InternalError", "An internal error occurred").response()


def caller() -> tokens.Caller:
    """The authenticated caller of this request (401 ClientError.AuthenticationFailed)."""
    if "transfer_caller" not in g:
        # Looked up through the module so tests and the Auth half can swap it.
        g.transfer_caller = tokens.authenticate(tokens.TRANSFER_RS)
    return g.transfer_caller


def state():
    return get_state()


def bad_request(message: str, code: str = "ClientError.BadRequest") -> TransferAPIError:
    return TransferAPIError(400, code, message)


def body() -> dict:
    """The JSON object sent with the request."""
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise bad_request("Request body must be a JSON object")
    return data


def resource() -> str:
    path = request.path
    return path[len("/v0.10") :] if path.startswith("/v0.10") else path


def result(code: str, message: str, data_type: str = "result", status: int = 200, **extra):
    """A result document (reference B.0) as a response."""
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


def int_arg(name: str, default: int, low: int = 0, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value for {name}: {raw!r}") from None
    if value < low or (high is not None and value > high):
        raise bad_request(f"{name} must be between {low} and {high}")
    return value


def bool_value(raw, default: bool = False) -> bool:
    """Booleans as the SDK (`1|0`), the JS SDK (`true|false`) and JSON send them."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise bad_request(f"Invalid boolean {raw!r}")


def require_uuid(value, what: str = "id") -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise bad_request(f"Invalid {what}: {value!r}") from None


def iso(value: datetime | None) -> str | None:
    """Task and rule times: "2021-09-02T18:04:47+00:00"."""
    if value is None:
        return None
    return as_utc(value).replace(microsecond=0).isoformat()


def ls_time(timestamp: float) -> str:
    """File times in ls/stat: "2021-01-15 01:45:50+00:00" (a space, no T)."""
    return datetime.fromtimestamp(int(timestamp), UTC).isoformat(sep=" ")


def parse_time(text, what: str = "time") -> datetime:
    """An ISO 8601 time or "YYYY-MM-DD HH:MM:SS" (UTC unless an offset is given)."""
    if not isinstance(text, str) or not text.strip():
        raise bad_request(f"Invalid {what}: {text!r}")
    raw = text.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"Invalid {what}: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def naive(value: datetime) -> datetime:
    """How SQLite stores a UTC time."""
    return as_utc(value).replace(tzinfo=None)


def only_fields(items: list[dict]) -> list[dict]:
    """Apply the `fields` query parameter (globus-cli sends `fields=task_id`)."""
    raw = request.args.get("fields")
    if not raw:
        return items
    wanted = {f.strip() for f in raw.split(",") if f.strip()} | {"DATA_TYPE"}
    return [{k: v for k, v in item.items() if k in wanted} for item in items]
