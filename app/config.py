"""Configuration from the environment (twelve-factor); names are part of the product."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from app.errors import ConfigError

DEVELOPMENT = "development"
PRODUCTION = "production"

# Scopes the portal asks for at sign-in (README: "Pointing Ferry at real Globus").
BASE_SCOPES = (
    "openid",
    "profile",
    "email",
    "urn:globus:auth:scope:auth.globus.org:view_identity_set",
    "urn:globus:auth:scope:transfer.api.globus.org:all",
)


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config dict from FERRY_* / LOCALGLOBUS_* variables and `overrides`."""
    env = os.environ
    overrides = dict(overrides or {})
    instance = Path(overrides.pop("INSTANCE_PATH", env.get("FERRY_INSTANCE", "instance")))
    instance = instance.absolute()
    ferry_env = overrides.get("FERRY_ENV", env.get("FERRY_ENV", DEVELOPMENT))
    client_id = overrides.get("FERRY_GLOBUS_CLIENT_ID", env.get("FERRY_GLOBUS_CLIENT_ID"))
    lg_home = Path(env.get("LOCALGLOBUS_HOME", instance / "localglobus")).absolute()
    lg_url = "http://{}:{}/".format(
        env.get("LOCALGLOBUS_HOST", "127.0.0.1"), env.get("LOCALGLOBUS_PORT", "8765")
    )
    config = {
        "FERRY_ENV": ferry_env,
        "INSTANCE_PATH": str(instance),
        "FERRY_BASE_URL": env.get("FERRY_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "FERRY_DATABASE_URL": env.get("FERRY_DATABASE_URL", f"sqlite:///{instance / 'ferry.db'}"),
        "FERRY_REDIS_URL": env.get("FERRY_REDIS_URL") or None,
        "FERRY_GLOBUS_CLIENT_ID": client_id,
        "FERRY_GLOBUS_CLIENT_SECRET": env.get("FERRY_GLOBUS_CLIENT_SECRET"),
        "FERRY_GLOBUS_AUTH_URL": env.get(
            "FERRY_GLOBUS_AUTH_URL", "https://auth.globus.org/" if client_id else lg_url
        ),
        "FERRY_GLOBUS_TRANSFER_URL": env.get(
            "FERRY_GLOBUS_TRANSFER_URL",
            "https://transfer.api.globus.org/" if client_id else lg_url,
        ),
        "FERRY_ADMINS": _split(env.get("FERRY_ADMINS", "")),
        "FERRY_ALLOW_ANONYMOUS_WRITE": env.get("FERRY_ALLOW_ANONYMOUS_WRITE", "")
        in ("1", "true", "yes"),
        "LOCALGLOBUS_HOME": str(lg_home),
        "SECRET_KEY": env.get("FERRY_SECRET_KEY"),
        "FERRY_TOKEN_KEYS": _split(env.get("FERRY_TOKEN_KEYS", "")),
        "FERRY_SCOPES": BASE_SCOPES,
        "DEBUG": env.get("FLASK_DEBUG", "") in ("1", "true"),
    }
    config.update(overrides)
    for key in ("FERRY_GLOBUS_AUTH_URL", "FERRY_GLOBUS_TRANSFER_URL"):
        config[key] = config[key].rstrip("/") + "/"
    if config["FERRY_ENV"] == PRODUCTION:
        _check_production(config)
    else:
        _fill_development_defaults(config, instance)
    return config


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _check_production(config: dict) -> None:
    """docs/security.md: production refuses to start with DEBUG, missing secrets or http Globus."""
    problems = []
    if config["DEBUG"]:
        problems.append("DEBUG is on")
    if not config["SECRET_KEY"]:
        problems.append("FERRY_SECRET_KEY is not set")
    if not config["FERRY_TOKEN_KEYS"]:
        problems.append("FERRY_TOKEN_KEYS is not set")
    if not (config["FERRY_GLOBUS_CLIENT_ID"] and config["FERRY_GLOBUS_CLIENT_SECRET"]):
        problems.append("FERRY_GLOBUS_CLIENT_ID and FERRY_GLOBUS_CLIENT_SECRET are required")
    for key in ("FERRY_GLOBUS_AUTH_URL", "FERRY_GLOBUS_TRANSFER_URL", "FERRY_BASE_URL"):
        if not str(config[key]).startswith("https://"):
            problems.append(f"{key} must be https://")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def _fill_development_defaults(config: dict, instance: Path) -> None:
    """Generate the secrets once into instance/ and find localglobus's portal client."""
    instance.mkdir(parents=True, exist_ok=True)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _kept_secret(instance / "secret_key", lambda: secrets.token_hex(32))
    if not config["FERRY_TOKEN_KEYS"]:
        key = _kept_secret(instance / "token_key", lambda: Fernet.generate_key().decode())
        config["FERRY_TOKEN_KEYS"] = [key]
    if not config["FERRY_GLOBUS_CLIENT_ID"]:
        client_file = Path(config["LOCALGLOBUS_HOME"]) / "portal_client.json"
        if client_file.exists():
            client = json.loads(client_file.read_text())
            config["FERRY_GLOBUS_CLIENT_ID"] = client["client_id"]
            config["FERRY_GLOBUS_CLIENT_SECRET"] = client["client_secret"]


def _kept_secret(path: Path, make) -> str:
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()
