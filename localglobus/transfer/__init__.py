"""Globus Transfer API v0.10, locally: collections on directories, tasks, ACLs, roles."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from localglobus.errors import TransferAPIError


def register(app: Flask) -> None:
    """Register the Transfer routes (`/v0.10/...`)."""
    # Importing the route modules attaches their routes to the blueprint.
    from localglobus.transfer import (  # noqa: F401
        access,
        bookmarks,
        endpoints,
        manager,
        operations,
        roles,
        tasks,
    )
    from localglobus.transfer.common import bp

    if "transfer" not in app.blueprints:
        app.register_blueprint(bp)
    _json_errors(app, bp)


def _json_errors(app: Flask, bp) -> None:
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


def start_engine(app: Flask) -> None:
    """Start the task engine's worker threads; unfinished tasks resume."""
    from localglobus.transfer.engine import Engine

    state = app.extensions["localglobus"]
    if state.engine is None:
        state.engine = Engine(state.settings, state.db)
        state.engine.start()
