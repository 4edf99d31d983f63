"""Globus Transfer API v0.10, locally: collections on directories, tasks, ACLs, roles.

`api/` holds the HTTP routes, `engine/` the worker threads that run tasks; the data
model (`models`), paths, policy, documents and time formats are shared by both sides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def register(app: Flask) -> None:
    """Register the Transfer routes (`/v0.10/...`)."""
    from localglobus.transfer.api import register as register_api

    register_api(app)


def start_engine(app: Flask) -> None:
    """Start the task engine's worker threads; unfinished tasks resume."""
    from localglobus.transfer.engine.scheduler import Engine

    state = app.extensions["localglobus"]
    if state.engine is None:
        state.engine = Engine(state.settings, state.db)
        state.engine.start()
