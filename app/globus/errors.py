"""One mapping from Globus API errors to portal errors (app.errors)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import globus_sdk
import globus_sdk.gare  # a lazy submodule: globus_sdk.gare is not set until imported
import requests

from app.errors import (
    BadInput,
    ConsentRequired,
    GlobusUnavailable,
    LoginRequired,
    NotFound,
    PermissionDenied,
    PortalError,
)

log = logging.getLogger(__name__)

_NOT_FOUND = {
    "NotFound",
    "ClientError.NotFound",
    "EndpointNotFound",
    "EndpointDeleted",
    "TaskNotFound",
    "BookmarkNotFound",
    "AccessRuleNotFound",
    "RoleNotFound",
}


def map_globus_error(error: Exception) -> PortalError:
    """Turn a globus-sdk or network error into the portal error a page can show."""
    if isinstance(error, PortalError):
        return error
    if isinstance(error, globus_sdk.GlobusAPIError):
        return _map_api_error(error)
    if isinstance(error, globus_sdk.NetworkError | requests.RequestException):
        log.warning("Globus unreachable: %s", type(error).__name__)
        return GlobusUnavailable("Globus did not answer in time. Please try again.")
    raise error


def _map_api_error(error: globus_sdk.GlobusAPIError) -> PortalError:
    code = error.code or ""
    message = error.message or code or f"Globus answered {error.http_status}"
    request_id = getattr(error, "request_id", None)
    gare = globus_sdk.gare.to_gare(error)
    if gare is not None and gare.authorization_parameters.required_scopes:
        return ConsentRequired(
            message,
            required_scopes=list(gare.authorization_parameters.required_scopes),
            request_id=request_id,
        )
    status = error.http_status
    if status == 401:
        return LoginRequired(message, request_id=request_id)
    if status == 404 or code in _NOT_FOUND:
        return NotFound(message, request_id=request_id)
    if status == 403:
        return PermissionDenied(message, request_id=request_id)
    if status in (429, 500, 503, 504) and not code.startswith(("ExternalError", "EndpointError")):
        return GlobusUnavailable(
            "Globus is unavailable right now. Please try again.", request_id=request_id
        )
    # 400, 409 and the ExternalError.* family (e.g. MkdirFailed.Exists) are the user's to fix.
    return BadInput(message, request_id=request_id)


@contextmanager
def calling_globus() -> Iterator[None]:
    """Wrap every Globus call: API and network errors leave as portal errors."""
    try:
        yield
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError, requests.RequestException) as e:
        raise map_globus_error(e) from e
