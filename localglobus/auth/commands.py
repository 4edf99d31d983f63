"""`localglobus user add`, `client add` and the Auth part of `localglobus demo`."""

from __future__ import annotations

from localglobus.config import Settings


def add_commands(sub) -> None:
    """Add the Auth subcommands to the `localglobus` parser."""


def demo_auth(settings: Settings, portal_url: str | None = None) -> dict[str, str]:
    """Create demo users and the portal client; return {username: identity_id}."""
    return {}
