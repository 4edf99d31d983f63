"""`localglobus collection add|list` and the Transfer part of `localglobus demo`."""

from __future__ import annotations

from localglobus.config import Settings


def add_commands(sub) -> None:
    """Add the Transfer subcommands to the `localglobus` parser."""


def demo_transfer(settings: Settings, identities: dict[str, str]) -> None:
    """Create the demo collections with sample files (idempotent)."""
