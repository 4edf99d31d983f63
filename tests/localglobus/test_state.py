"""localglobus's state file across upgrades: it has no migrations, so a state made by a
localglobus with other tables is moved aside instead of failing on a missing column."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.conftest import DEMO_PASSWORD, ROOT


def _demo(home) -> subprocess.CompletedProcess:
    env = {
        "LOCALGLOBUS_HOME": str(home),
        "LOCALGLOBUS_DEMO_PASSWORD": DEMO_PASSWORD,
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "localglobus", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_state_from_another_version_is_moved_aside_and_demo_starts_a_new_one(tmp_path):
    home = tmp_path / "lg"
    home.mkdir()
    # A state as an older localglobus left it: its identities table lacks today's columns.
    old = sqlite3.connect(home / "localglobus.db")
    old.execute("CREATE TABLE identities (id TEXT PRIMARY KEY, username TEXT)")
    old.execute("INSERT INTO identities VALUES ('x', 'old-user')")
    old.commit()
    old.close()

    result = _demo(home)

    assert result.returncode == 0, result.stderr
    assert "made by another version of localglobus" in result.stderr
    aside = [p for p in home.iterdir() if p.name.startswith("localglobus.db.outdated-")]
    assert len(aside) == 1
    kept = sqlite3.connect(aside[0]).execute("SELECT username FROM identities").fetchall()
    assert kept == [("old-user",)]
    new = sqlite3.connect(home / "localglobus.db")
    usernames = {row[0] for row in new.execute("SELECT username FROM identities")}
    assert "old-user" not in usernames and len(usernames) >= 2


def test_a_state_of_this_version_is_kept(tmp_path):
    home = tmp_path / "lg"
    home.mkdir()
    assert _demo(home).returncode == 0
    first = sqlite3.connect(home / "localglobus.db")
    ids = sorted(first.execute("SELECT id FROM identities"))
    first.close()

    again = _demo(home)

    assert again.returncode == 0, again.stderr
    assert "another version" not in again.stderr
    assert not [p for p in home.iterdir() if "outdated" in p.name]
    same = sqlite3.connect(home / "localglobus.db")
    assert sorted(same.execute("SELECT id FROM identities")) == ids
