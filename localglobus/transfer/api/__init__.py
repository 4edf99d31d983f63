"""The HTTP side of Transfer: one module of `/v0.10` routes per resource (endpoints,
operations, tasks, endpoint_manager, access, roles, bookmarks) and the helpers they share.
Routes write tasks to the database and hand them to the engine; they never copy files."""

from __future__ import annotations

from flask import Blueprint, Flask, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from localglobus.errors import TransferAPIError


def register(app: Flask) -> None:
    """Register the Transfer routes (`/v0.10/...`)."""
    # Importing the route modules attaches their routes to the blueprint.
    from localglobus.transfer.api import (  # noqa: F401
        access,
        bookmarks,
        endpoint_manager,
        endpoints,
        faults,
        operations,
        pauses,
        roles,
        tasks,
    )
    from localglobus.transfer.api.blueprint import bp

    if "transfer" not in app.blueprints:
        app.register_blueprint(bp)
    _json_errors(app, bp)


def _json_errors(app: Flask, bp: Blueprint) -> None:
    """Unknown /v0.10 URLs and wrong methods never reach the blueprint's handlers: answer
    them with a Transfer error document at the app level, and leave other paths to
    whichever handler was there before."""
    for status, exc_class, code in (
        (404, NotFound, "ClientError.NotFound"),
        (405, MethodNotAllowed, "ClientError.MethodNotAllowed"),
    ):
        previous = app.error_handler_spec.get(None, {}).get(status, {}).get(exc_class)

        def handler(exc, previous=previous, status=status, code=code):
            if request.path.startswith("/v0.10/"):
                return TransferAPIError(status, code, exc.description).response()
            return previous(exc) if previous else exc

        app.register_error_handler(status, handler)
