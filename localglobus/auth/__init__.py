"""Globus Auth, locally: OAuth2/OIDC authorization server (authlib), identities, clients."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the Auth routes on the app. (Filled in by the Auth half.)"""
