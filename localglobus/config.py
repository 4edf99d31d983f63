"""localglobus settings, read from the environment once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Where localglobus listens and keeps its state."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 8765
    demo_password: str | None = None
    # Access tokens live as long as real Globus's (172800 s); tests shorten it.
    token_lifetime: int = 172800
    # How many tasks of one user run at once; the rest wait (ACTIVE, nice_status "Queued").
    tasks_per_user: int = 3
    # How long a task waits before trying again a collection that refused it (a fault);
    # Globus backs off for minutes, demos and tests want seconds.
    fault_retry_seconds: float = 10.0

    def __post_init__(self):
        object.__setattr__(self, "home", Path(self.home).absolute())

    @property
    def base_url(self) -> str:
        """The public origin, with the trailing slash globus-cli needs."""
        return f"http://{self.host}:{self.port}/"

    @property
    def issuer(self) -> str:
        """The id_token `iss`: the origin without a trailing slash, as Globus does."""
        return self.base_url.rstrip("/")

    @property
    def db_path(self) -> Path:
        return self.home / "localglobus.db"

    @property
    def portal_client_file(self) -> Path:
        """Where `localglobus demo` writes the portal's client id and secret for development."""
        return self.home / "portal_client.json"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Read LOCALGLOBUS_* variables; keyword arguments win."""
        values: dict[str, Any] = {
            "home": Path(os.environ.get("LOCALGLOBUS_HOME", "instance/localglobus")).absolute(),
            "host": os.environ.get("LOCALGLOBUS_HOST", "127.0.0.1"),
            "port": int(os.environ.get("LOCALGLOBUS_PORT", "8765")),
            "demo_password": os.environ.get("LOCALGLOBUS_DEMO_PASSWORD") or None,
            "token_lifetime": int(os.environ.get("LOCALGLOBUS_TOKEN_LIFETIME", "172800")),
            "fault_retry_seconds": float(os.environ.get("LOCALGLOBUS_FAULT_RETRY_SECONDS", "10")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["home"] = Path(values["home"]).absolute()
        return cls(**values)
