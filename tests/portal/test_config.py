"""Configuration: production refuses unsafe settings; development keeps its secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app import create_app
from app.config import load_config
from app.errors import ConfigError
from app.globus.crypto import Keyring, generate_key
from tests.portal.test_migrations import ROOT

PRODUCTION = {
    "FERRY_ENV": "production",
    "DEBUG": False,
    "SECRET_KEY": "a-real-secret",
    "FERRY_TOKEN_KEYS": [generate_key()],
    "FERRY_GLOBUS_CLIENT_ID": "client",
    "FERRY_GLOBUS_CLIENT_SECRET": "secret",
    "FERRY_BASE_URL": "https://ferry.example.org",
    "FERRY_GLOBUS_AUTH_URL": "https://auth.globus.org/",
    "FERRY_GLOBUS_TRANSFER_URL": "https://transfer.api.globus.org/",
}


def test_complete_production_config_loads(tmp_path):
    config = load_config({**PRODUCTION, "INSTANCE_PATH": str(tmp_path)})
    assert config["FERRY_ENV"] == "production"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"DEBUG": True}, "DEBUG"),
        ({"SECRET_KEY": None}, "FERRY_SECRET_KEY"),
        ({"FERRY_TOKEN_KEYS": []}, "FERRY_TOKEN_KEYS"),
        ({"FERRY_GLOBUS_AUTH_URL": "http://auth.globus.org/"}, "FERRY_GLOBUS_AUTH_URL"),
        ({"FERRY_GLOBUS_TRANSFER_URL": "http://t.example/"}, "FERRY_GLOBUS_TRANSFER_URL"),
    ],
)
def test_production_refuses_to_start(tmp_path, change, complaint):
    with pytest.raises(ConfigError, match=complaint):
        create_app({**PRODUCTION, **change, "INSTANCE_PATH": str(tmp_path)})


def test_development_generates_its_secrets_once(tmp_path, monkeypatch):
    for name in ("FERRY_SECRET_KEY", "FERRY_TOKEN_KEYS", "FERRY_ENV"):
        monkeypatch.delenv(name, raising=False)
    first = load_config({"INSTANCE_PATH": str(tmp_path)})
    again = load_config({"INSTANCE_PATH": str(tmp_path)})
    assert first["SECRET_KEY"] and first["SECRET_KEY"] == again["SECRET_KEY"]
    assert first["FERRY_TOKEN_KEYS"] == again["FERRY_TOKEN_KEYS"]
    Keyring(first["FERRY_TOKEN_KEYS"])  # a usable AES key
    assert oct((tmp_path / "token_key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("bad", ["not-a-key", generate_key()[:-8]])
def test_malformed_token_key_fails_at_start_without_echoing_it(tmp_path, bad):
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "FERRY_TOKEN_KEYS": [bad]})
    assert bad not in str(raised.value)


def test_gen_token_key_prints_a_new_usable_key():
    run = [sys.executable, "-m", "app.cli", "gen-token-key"]
    keys = [
        subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(2)
    ]
    assert keys[0] != keys[1]
    assert Keyring(keys).encrypt("x", "aad").startswith("v1.")


def test_cli_rekey_tokens_reencrypts_with_the_newest_key(make_app, tmp_path):
    from tests.portal.conftest import make_user
    from tests.portal.globus.test_tokens import RS, save

    old, new = generate_key(), generate_key()
    app = make_app(FERRY_TOKEN_KEYS=[old])
    user = make_user(app)
    save(app, user)
    env = {
        **os.environ,
        "FERRY_DATABASE_URL": app.config["FERRY_DATABASE_URL"],
        "FERRY_TOKEN_KEYS": f"{new},{old}",
        "FERRY_INSTANCE": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "rekey-tokens"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1 token rows" in done.stdout
    from app.globus import tokens

    with make_app(FERRY_TOKEN_KEYS=[new]).app_context():
        assert tokens.list_tokens(user)[0].resource_server == RS
        assert tokens.get_access_token(user, RS)
