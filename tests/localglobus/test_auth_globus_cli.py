"""globus-cli, unchanged, against localglobus: client-identity mode and user login."""

from __future__ import annotations

import os
import re
import subprocess
import threading

import pytest

from tests.conftest import GLOBUS_CLI
from tests.localglobus.conftest import AuthBrowser, auth_register_client

GLOBUS = GLOBUS_CLI


def cli_env(lg, home, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOBUS_")}
    env.update(
        HOME=str(home),
        GLOBUS_SDK_SERVICE_URL_AUTH=lg.base_url,
        GLOBUS_SDK_SERVICE_URL_TRANSFER=lg.base_url,
        **extra,
    )
    return env


def globus(env, *args, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [GLOBUS, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_globus_whoami_in_client_identity_mode(localglobus, tmp_path):
    client = auth_register_client(localglobus, "CLI client identity")
    env = cli_env(
        localglobus,
        tmp_path,
        GLOBUS_CLI_CLIENT_ID=client["client_id"],
        GLOBUS_CLI_CLIENT_SECRET=client["client_secret"],
    )

    result = globus(env, "whoami")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{client['client_id']}@clients.auth.globus.org"


def read_authorize_url(process) -> str:
    """Read the CLI's output until the authorize URL line is complete."""
    seen = ""
    while True:
        char = process.stdout.read(1)
        if not char:
            raise AssertionError(f"globus login ended before printing a URL: {seen}")
        seen += char
        match = re.search(r"(http://\S+/v2/oauth2/authorize\?\S+)\n", seen)
        if match:
            return match.group(1)


@pytest.fixture
def logged_in_cli(localglobus, tmp_path):
    """`globus login --no-local-server` completed as researcher: the env to run as them."""
    env = cli_env(localglobus, tmp_path)
    process = subprocess.Popen(
        [GLOBUS, "login", "--no-local-server"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    timer = threading.Timer(120, process.kill)
    timer.start()
    try:
        url = read_authorize_url(process)
        assert url.startswith(localglobus.base_url)
        assert "prompt=login" in url and "access_type=offline" in url
        browser = AuthBrowser(localglobus.base_url)
        response = browser.sign_in(url)
        assert response.headers["Location"].startswith(localglobus.base_url + "v2/web/auth-code")
        output, _ = process.communicate(browser.code_from(response)["code"] + "\n", timeout=120)
    finally:
        timer.cancel()
    assert process.returncode == 0, output
    assert "You have successfully logged in" in output
    return env


def test_globus_login_then_whoami_prints_researcher(logged_in_cli):
    result = globus(logged_in_cli, "whoami")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "researcher@uni.example"


def test_globus_logout_revokes_and_deletes_the_templated_client(logged_in_cli):
    logout = globus(logged_in_cli, "logout", "--yes", "--delete-client")
    whoami = globus(logged_in_cli, "whoami")

    assert logout.returncode == 0, logout.stderr
    assert "successfully logged out" in logout.stdout
    assert whoami.returncode != 0
    assert "globus login" in whoami.stderr
