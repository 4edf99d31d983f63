"""globus-cli, unchanged, on a high-assurance GCSv5 collection (issue 9, part 3): a
session too old is refused with the authorization parameters, `globus session update`
signs in again, `globus session show` lists the sign-in, and the same `globus ls` then
works (docs/globus-api.md A.4, B.15)."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.conftest import start_localglobus
from tests.localglobus.test_cli_transfer import CLI, _login


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    """Its own localglobus with a high-assurance gateway (uni.example, a sign-in at most
    60 minutes old) and a collection "Secure Data" on it."""
    lg = start_localglobus(tmp_path_factory.mktemp("sessions") / "home")
    gateway = lg.cli(
        "storage-gateway",
        "add",
        "Secure gateway",
        "--domain",
        "uni.example",
        "--high-assurance",
        "--authentication-timeout-mins",
        "60",
    ).stdout.split()[0]
    root = lg.home / "secure"
    root.mkdir()
    (root / "results.csv").write_text("a,b\n")
    out = lg.cli("collection", "add", "Secure Data", "--root", str(root), "--gateway", gateway)
    yield lg, out.stdout.split()[0]
    lg.stop()


def _age_sign_ins(lg, seconds: int) -> None:
    """Make every sign-in recorded so far `seconds` older, as time passing would."""
    with sqlite3.connect(lg.home / "localglobus.db") as db:
        for session_id, raw in db.execute("SELECT id, authentications FROM auth_sessions"):
            auths = json.loads(raw)
            for auth in auths.values():
                auth["auth_time"] -= seconds
            db.execute(
                "UPDATE auth_sessions SET authentications = ? WHERE id = ?",
                (json.dumps(auths), session_id),
            )
    db.close()


@pytest.mark.slow
def test_session_update_then_ls_on_a_high_assurance_collection(secure, tmp_path):
    lg, collection = secure
    cli = CLI(lg, tmp_path)
    _login(cli, lg, "login")
    assert "results.csv" in cli.run("ls", f"{collection}:/").stdout.split()

    _age_sign_ins(lg, 2 * 3600)
    refused = cli.run("ls", f"{collection}:/", check=False)
    before = time.time()
    _login(cli, lg, "session", "update", "researcher@uni.example")
    shown = cli.run("session", "show").stdout
    info = cli.json("session", "show")
    again = cli.run("ls", f"{collection}:/")

    assert refused.returncode == 4
    assert "globus session update uni.example" in refused.stdout + refused.stderr
    (line,) = [row for row in shown.splitlines() if "researcher@uni.example" in row]
    assert time.strftime("%Y-%m-%d") in line  # the sign-in's time, as globus-cli prints it
    times = [a["auth_time"] for a in info["authentications"].values()]
    assert times and min(times) >= int(before) - 1  # the new session's sign-in, not the old
    assert "results.csv" in again.stdout.split()
