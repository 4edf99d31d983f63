"""The one object a running localglobus shares between requests and the task engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from localglobus.config import Settings
from localglobus.db import Database


@dataclass
class State:
    settings: Settings
    db: Database
    # Set by the Transfer half when the task engine starts (localglobus.transfer.engine).
    engine: Any = None
    extra: dict = field(default_factory=dict)


def get_state() -> State:
    """The State of the app handling the current request."""
    return current_app.extensions["localglobus"]
