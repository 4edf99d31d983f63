"""The project's promises to a newcomer, checked by what things do: `make help`, the README's
configuration table against the code, its links, CI's script and the pre-commit hooks.
`make run` itself is tests/test_make_run.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# The configuration contract of docs/architecture.md: variables the code must honour.
CONTRACT_VARIABLES = {
    "FERRY_GLOBUS_CLIENT_ID",
    "FERRY_GLOBUS_CLIENT_SECRET",
    "FERRY_GLOBUS_AUTH_URL",
    "FERRY_GLOBUS_TRANSFER_URL",
    "FERRY_DATABASE_URL",
    "FERRY_REDIS_URL",
    "FERRY_SECRET_KEY",
    "FERRY_TOKEN_KEYS",
    "FERRY_BASE_URL",
    "FERRY_ADMINS",
    "FERRY_ENV",
    "FERRY_ALLOW_ANONYMOUS_WRITE",
    "LOCALGLOBUS_HOST",
    "LOCALGLOBUS_PORT",
    "LOCALGLOBUS_HOME",
    "LOCALGLOBUS_DEMO_PASSWORD",
    "LOCALGLOBUS_TOKEN_LIFETIME",
}

# A read of an environment variable: os.environ["X"], os.environ.get("X"), os.getenv("X"),
# env.get("X") where env is os.environ, environ.setdefault/pop("X").
_ENV_READ = re.compile(
    r"\b(?:environ|env|getenv)\s*(?:\.\s*(?:get|pop|setdefault)\s*)?[(\[]\s*"
    r"[\"']((?:FERRY|LOCALGLOBUS)_[A-Z0-9_]+)[\"']"
)


def variables_read_by_code() -> dict[str, list[str]]:
    """{variable: [files]} for every FERRY_*/LOCALGLOBUS_* the portal or localglobus reads."""
    found: dict[str, list[str]] = {}
    for package in ("app", "localglobus"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _ENV_READ.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def readme_configuration_variables() -> set[str]:
    """The variables in the first column of the tables under README's `## Configuration`."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README has no '## Configuration' section"
    names = set()
    for line in match.group(1).splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`((?:FERRY|LOCALGLOBUS)_[A-Z0-9_]+)`", first_cell))
    return names


def make(*args: str) -> str:
    """`make ARGS` in the repository (none of these runs a recipe that installs)."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def make_help_targets() -> dict[str, str]:
    """{target: description} as `make help` prints them."""
    targets = {}
    for line in make("help").splitlines():
        name, _, description = line.strip().partition(" ")
        targets[name] = description.strip()
    return targets


def make_phony_targets() -> set[str]:
    """The .PHONY targets in make's own database of the Makefile (`make -p`, nothing run)."""
    database = subprocess.run(
        ["make", "--no-print-directory", "-pRrq", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    phony = re.search(r"^\.PHONY: (.*)$", database, re.M)
    assert phony, "make's database has no .PHONY line"
    return set(phony.group(1).split())


def test_make_help_describes_every_target_of_the_makefile_and_no_other():
    targets = make_help_targets()
    assert set(targets) == make_phony_targets()
    assert all(targets.values()), targets
    for target in ("run", "test", "e2e", "bench", "lint", "format", "venv", "screenshot"):
        assert target in targets


def test_every_relative_link_and_image_in_the_readme_resolves():
    text = README.read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.*)$", text, re.M)
    }
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert "docs/screenshot.png" in targets, "the README shows no screenshot"
    for target in targets:
        url = urlsplit(target)
        if url.scheme:
            continue
        if url.path:
            assert (ROOT / unquote(url.path)).exists(), f"README links to missing {target}"
        elif url.fragment:
            assert url.fragment in anchors, f"README links to missing section {target}"


def test_the_variable_scan_finds_what_localglobus_reads():
    # Guards the regular expression: a scan that finds nothing would pass every test below.
    assert {"LOCALGLOBUS_HOME", "LOCALGLOBUS_PORT"} <= set(variables_read_by_code())


def test_every_variable_the_code_reads_is_in_the_readme_configuration_table():
    documented = readme_configuration_variables()
    missing = {
        name: files for name, files in variables_read_by_code().items() if name not in documented
    }
    assert not missing, f"add these to README's configuration table: {missing}"


def test_the_code_reads_every_contract_variable():
    # With the two tests above, the README's table documents each of them.
    unread = CONTRACT_VARIABLES - set(variables_read_by_code())
    assert not unread, f"nothing reads these variables of the contract: {sorted(unread)}"


def test_every_variable_in_the_readme_configuration_table_is_read_by_the_code():
    stale = readme_configuration_variables() - set(variables_read_by_code())
    assert not stale, f"README documents variables nothing reads: {sorted(stale)}"


# ---------------------------------------------------------------------------- CI

# Stand-ins for the commands .ci/run calls, each logging `name args` (and, for make, the
# test variables) to $CALLS; PSQL_STATUS and MAKE_STATUS choose their exit status.
FAKE_COMMANDS = {
    "pg_isready": "exit 0",
    "redis-cli": "exit 0",
    "psql": 'exit "${PSQL_STATUS:-0}"',
    "make": 'echo "env $FERRY_TEST_DATABASE_URL $FERRY_TEST_REDIS_URL" >>"$CALLS"; '
    'exit "${MAKE_STATUS:-0}"',
    "sudo": 'shift; exec "$@"',
    "apt-get": "exit 0",
}


def run_ci(tmp_path: Path, **status: str) -> tuple[int, list[str]]:
    """.ci/run with the fake commands first in PATH: (exit status, the calls it made)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in FAKE_COMMANDS.items():
        fake = bin_dir / name
        fake.write_text(f'#!/bin/sh\necho "{name} $*" >>"$CALLS"\n{body}\n')
        fake.chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FERRY_TEST_")},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        **status,
    }
    result = subprocess.run(
        [str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    return result.returncode, calls.read_text().splitlines()


def test_ci_gives_make_test_a_fresh_database_and_redis_and_passes_on_its_status(tmp_path):
    status, calls = run_ci(tmp_path, MAKE_STATUS="3")
    assert status == 3, calls
    make_at = calls.index("make test")
    before = calls[:make_at]
    assert any(c.startswith("psql") and "DROP DATABASE IF EXISTS ferry_test" in c for c in before)
    assert any(c.startswith("psql") and "CREATE DATABASE ferry_test" in c for c in before)
    assert any(c.startswith("redis-cli") and "-n 15 flushdb" in c for c in before)
    database_url, redis_url = calls[make_at + 1].split()[1:]
    assert urlsplit(database_url).path == "/ferry_test"
    assert urlsplit(redis_url).path == "/15"


def test_ci_stops_at_the_first_failing_step(tmp_path):
    status, calls = run_ci(tmp_path, PSQL_STATUS="2")
    assert status == 2
    assert "make test" not in calls


# ---------------------------------------------------------------------------- pre-commit


def pre_commit_entries() -> dict[str, list[str]]:
    """{hook id: its command}, with the project's .venv/bin as the venv running the tests."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    venv_bin = str(Path(sys.executable).parent)
    return {
        hook["id"]: [
            venv_bin + part[len(".venv/bin") :] if part.startswith(".venv/bin/") else part
            for part in hook["entry"].split()
        ]
        for repo in config["repos"]
        for hook in repo["hooks"]
    }


def run_hooks(path: Path) -> dict[str, int]:
    """Each hook run on `path` as pre-commit runs it (the file name appended): exit status."""
    return {
        hook: subprocess.run(
            [*entry, str(path)], cwd=ROOT, capture_output=True, timeout=60
        ).returncode
        for hook, entry in pre_commit_entries().items()
    }


def test_pre_commit_hooks_pass_clean_code_and_catch_lint_and_formatting(tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_text('"""Clean."""\n\nVALUE = 1\n')
    assert set(run_hooks(clean).values()) == {0}
    assert clean.read_text() == '"""Clean."""\n\nVALUE = 1\n'

    unused_import = tmp_path / "lint.py"
    unused_import.write_text("import os\n")
    assert any(run_hooks(unused_import).values()), "no hook fails on an unused import"

    unformatted = tmp_path / "format.py"
    unformatted.write_text("VALUE=[1,2]\n")
    run_hooks(unformatted)
    # pre-commit fails a hook that changes a file.
    assert unformatted.read_text() == "VALUE = [1, 2]\n", "no hook formats the code"
