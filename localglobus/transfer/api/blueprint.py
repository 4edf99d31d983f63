"""The Transfer blueprint (`/v0.10`) and its error handlers: every error it answers is a
Transfer error document."""

from __future__ import annotations

import logging

from flask import Blueprint, request
from werkzeug.exceptions import HTTPException

from localglobus.errors import TransferAPIError

bp = Blueprint("transfer", __name__, url_prefix="/v0.10")
log = logging.getLogger("localglobus.transfer")


# Every Transfer error is an application/json error document (docs/globus-api.md B.0): globus-sdk
# parses error bodies only when they are JSON. The TransferAPIError handler is repeated
# here because a blueprint's `Exception` handler would otherwise shadow the app's.
@bp.errorhandler(TransferAPIError)
def _api_error(exc: TransferAPIError):
    return exc.response()


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return TransferAPIError(
        exc.code or 500, f"ClientError.{type(exc).__name__}", exc.description or ""
    ).response()


@bp.errorhandler(Exception)
def _crash(exc: Exception):
    log.exception("unhandled error in %s", request.path)
    return TransferAPIError(500, "InternalError", "An internal error occurred").response()
