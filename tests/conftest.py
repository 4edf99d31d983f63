"""Fixtures every test area shares: a real localglobus on loopback, and the test settings.

Area fixtures live in tests/<area>/conftest.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
# Real Globus responses recorded by globus-cli's tests (provenance: tests/fixtures/README.md).
RECORDED = ROOT / "tests" / "fixtures" / "globus-cli-recorded"
# The globus-cli of the environment running the tests.
GLOBUS_CLI = str(Path(sys.executable).parent / "globus")
DEMO_PASSWORD = "demo-password-for-tests"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalGlobus:
    """A running localglobus process and what the tests need to talk to it."""

    base_url: str  # with trailing slash
    home: Path
    port: int
    portal_base_url: str  # the FERRY_BASE_URL its portal client is registered for
    password: str
    process: subprocess.Popen | None = None
    # Per demo user, a browser signed in at this server (tests/portal/helpers/signin.py).
    browsers: dict = field(default_factory=dict, repr=False)

    @property
    def portal_client(self) -> dict:
        """{"client_id", "client_secret", ...} written by `localglobus demo`."""
        return json.loads((self.home / "portal_client.json").read_text())

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LOCALGLOBUS_HOME": str(self.home),
            "LOCALGLOBUS_PORT": str(self.port),
            "LOCALGLOBUS_HOST": "127.0.0.1",
            "LOCALGLOBUS_DEMO_PASSWORD": self.password,
            "FERRY_BASE_URL": self.portal_base_url,
        }

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `python -m localglobus ARGS` against this home."""
        return subprocess.run(
            [sys.executable, "-m", "localglobus", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def map_client(self, client_id: str, account: str = "researcher") -> None:
        """Let a client identity log in to the demo gateway's collections as `account`: as
        on GCSv5, the storage gateway must allow clients.auth.globus.org and map it."""
        self.cli(
            "storage-gateway",
            "update",
            "localglobus POSIX gateway",
            "--add-domain",
            "clients.auth.globus.org",
            "--map",
            f"{client_id}@clients.auth.globus.org={account}",
        )

    def start(self) -> None:
        log = open(self.home / "server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localglobus", "serve"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(self.base_url + ".well-known/openid-configuration", self.process)

    def stop(self, sig: int | None = None) -> None:
        if self.process is None:
            return
        if sig is None:
            self.process.terminate()
        else:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def wait_for_http(url: str, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    """Wait until `url` answers 200, failing early if the process died."""

    def answers() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, f"{url} to answer", timeout=timeout, interval=0.1)
    except AssertionError:
        raise RuntimeError(f"{url} did not answer within {timeout}s") from None


def start_localglobus(home: Path, portal_base_url: str | None = None) -> LocalGlobus:
    """Create demo data in `home` and start a localglobus server on a free port."""
    port = free_port()
    lg = LocalGlobus(
        base_url=f"http://127.0.0.1:{port}/",
        home=home,
        port=port,
        portal_base_url=portal_base_url or f"http://127.0.0.1:{free_port()}",
        password=DEMO_PASSWORD,
    )
    home.mkdir(parents=True, exist_ok=True)
    lg.cli("demo")
    lg.start()
    return lg


@pytest.fixture(scope="session")
def localglobus(tmp_path_factory) -> LocalGlobus:
    """One localglobus for the whole run, with the demo users, clients and collections."""
    lg = start_localglobus(tmp_path_factory.mktemp("localglobus"))
    yield lg
    lg.stop()
