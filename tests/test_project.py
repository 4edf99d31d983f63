"""The project's promises to a newcomer: the README, the Makefile, `make run` and CI."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# The configuration contract of ARCHITECTURE.md: documented whatever the code does today.
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


def make_targets() -> dict[str, str]:
    """{target: description} as `make help` prints them."""
    out = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    targets = {}
    for line in out.splitlines():
        name, _, description = line.strip().partition(" ")
        targets[name] = description.strip()
    return targets


def test_make_help_lists_every_target_a_newcomer_needs():
    targets = make_targets()
    for target in ("run", "test", "e2e", "bench", "lint", "format", "venv", "screenshot"):
        assert targets.get(target), f"`make help` does not describe `{target}`"


def test_readme_starts_with_make_run_and_make_test():
    top = README.read_text(encoding="utf-8").splitlines()[:6]
    assert any(line.startswith("make run") for line in top), top
    assert any(line.startswith("make test") for line in top), top


def test_readme_has_the_screenshot_line():
    assert "![Ferry](docs/screenshot.png)" in README.read_text(encoding="utf-8")


def test_the_variable_scan_finds_what_localglobus_reads():
    # Guards the regular expression: a scan that finds nothing would pass every test below.
    assert {"LOCALGLOBUS_HOME", "LOCALGLOBUS_PORT"} <= set(variables_read_by_code())


def test_every_variable_the_code_reads_is_in_the_readme_configuration_table():
    documented = readme_configuration_variables()
    missing = {
        name: files for name, files in variables_read_by_code().items() if name not in documented
    }
    assert not missing, f"add these to README's configuration table: {missing}"


def test_every_contract_variable_is_in_the_readme_configuration_table():
    assert CONTRACT_VARIABLES <= readme_configuration_variables()


def test_every_variable_in_the_readme_configuration_table_is_read_by_the_code():
    stale = readme_configuration_variables() - set(variables_read_by_code())
    assert not stale, f"README documents variables nothing reads: {sorted(stale)}"


def test_ci_script_is_strict_bash_and_runs_make_test():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run is not executable"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    lines = [
        line.strip()
        for line in script.read_text(encoding="utf-8").splitlines()
        if not line.strip().startswith("#")
    ]
    assert "set -euo pipefail" in lines
    assert any(re.search(r"\bmake test\b", line) for line in lines)
    for variable in ("FERRY_TEST_DATABASE_URL", "FERRY_TEST_REDIS_URL"):
        assert any(line.startswith(f"export {variable}=") for line in lines), variable


def test_pre_commit_runs_ruff_lint_and_format():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    entries = [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]
    assert any(entry.split()[:2] == [".venv/bin/ruff", "check"] for entry in entries), entries
    assert any(entry.split()[:2] == [".venv/bin/ruff", "format"] for entry in entries), entries


# ---------------------------------------------------------------------------- make run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class MakeRun:
    """`make run` in its own session, as a terminal would run it, with its output kept."""

    def __init__(self, tmp: Path, name: str):
        self.portal_port = _free_port()
        self.localglobus_port = _free_port()
        self.portal_url = f"http://127.0.0.1:{self.portal_port}"
        self.localglobus_url = f"http://127.0.0.1:{self.localglobus_port}/"
        self.log = tmp / f"{name}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FERRY_", "LOCALGLOBUS_"))
        }
        env.update(
            FERRY_BASE_URL=self.portal_url,
            FERRY_INSTANCE=str(tmp / name),
            FERRY_DATABASE_URL=f"sqlite:///{tmp / name / 'ferry.db'}",
            LOCALGLOBUS_PORT=str(self.localglobus_port),
            LOCALGLOBUS_HOME=str(tmp / name / "lg"),
            LOCALGLOBUS_DEMO_PASSWORD=f"password-of-{name}",
        )
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_banner(self, timeout: float = 180) -> str:
        """The output once `make run` has printed its last line ("Ctrl-C stops both")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Ctrl-C stops both" in self.output():
                return self.output()
            if self.process.poll() is not None:
                pytest.fail(f"make run exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"make run printed no banner in {timeout}s:\n{self.output()}")

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the foreground process group; the exit status of make."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise


@pytest.fixture
def make_run(tmp_path):
    """Start `make run` instances; each is interrupted at the end whatever happens."""
    started: list[MakeRun] = []

    def start(name: str) -> MakeRun:
        run = MakeRun(tmp_path, name)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.process.poll() is None:
            run.interrupt()


@pytest.mark.slow
def test_two_make_run_instances_side_by_side_print_their_url_and_sign_ins_and_stop_on_ctrl_c(
    make_run,
):
    first, second = make_run("a"), make_run("b")
    for run in (first, second):
        banner = run.wait_for_banner().split("Ctrl-C stops both")[0].rsplit("=" * 20, 1)[-1]
        assert f"Ferry is running at  {run.portal_url}/" in banner
        assert run.localglobus_url in banner
        assert "researcher" in banner and "admin" in banner

    for run in (first, second):
        assert requests.get(run.portal_url + "/health", timeout=10).status_code == 200
        discovery = requests.get(
            run.localglobus_url + ".well-known/openid-configuration", timeout=10
        )
        assert discovery.json()["issuer"] == run.localglobus_url.rstrip("/")

    first.interrupt()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (
        _port_is_open(first.portal_port) or _port_is_open(first.localglobus_port)
    ):
        time.sleep(0.2)
    assert not _port_is_open(first.portal_port), "the portal outlived Ctrl-C"
    assert not _port_is_open(first.localglobus_port), "localglobus outlived Ctrl-C"
    # The other instance is untouched.
    assert requests.get(second.portal_url + "/health", timeout=10).status_code == 200
