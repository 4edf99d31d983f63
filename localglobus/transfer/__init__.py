"""Globus Transfer API v0.10, locally: collections on directories, tasks, ACLs, roles."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the Transfer routes (`/v0.10/...`). (Filled in by the Transfer half.)"""


def start_engine(app: Flask) -> None:
    """Start the task engine's worker threads and resume unfinished tasks."""
