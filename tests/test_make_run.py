"""`make run`: the Procfile under honcho, and every way of stopping it.

Each test runs the real `make run` from the repository in the background, in its own
session, with its own ports, instance folder and localglobus home, and with the virtual
environment running these tests (`INSTALL=no`: nothing is installed). Its processes are
found by a token in their environment, which every one of them inherits, whichever
session honcho puts it in.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port, wait_for_http

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent
TOKEN_VARIABLE = "MAKE_RUN_TEST_TOKEN"
STOP_WITHIN = 10  # seconds: the promise for every way of stopping it


def port_is_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def processes_with(token: str, session: int) -> dict[int, str]:
    """{pid: command line} of the live processes carrying `token` or in `session`."""
    found = {}
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the command name, which is in parentheses: state, ppid, pgrp, session.
            state, _ppid, _pgrp, sid = stat.rsplit(")", 1)[1].split()[:4]
            if state in ("Z", "X"):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
            if needle in environ or int(sid) == session:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(entry.name)] = cmdline.decode(errors="replace").strip()
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return None


class MakeRun:
    """`make run` in the background, in its own session, its output kept in a file."""

    def __init__(self, tmp: Path, name: str, ignore_sigint: bool = False):
        self.portal_port = free_port()
        self.localglobus_port = free_port()
        while self.localglobus_port == self.portal_port:
            self.localglobus_port = free_port()
        self.portal_url = f"http://127.0.0.1:{self.portal_port}"
        self.localglobus_url = f"http://127.0.0.1:{self.localglobus_port}/"
        self.token = uuid.uuid4().hex
        self.log = tmp / f"{name}.log"
        assert (VENV / "bin" / "python").exists(), VENV
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FERRY_", "LOCALGLOBUS_"))
        }
        env.update(
            {
                "FERRY_BASE_URL": self.portal_url,
                "FERRY_INSTANCE": str(tmp / name),
                "FERRY_DATABASE_URL": f"sqlite:///{tmp / name / 'ferry.db'}",
                "LOCALGLOBUS_PORT": str(self.localglobus_port),
                "LOCALGLOBUS_HOME": str(tmp / name / "lg"),
                "LOCALGLOBUS_DEMO_PASSWORD": f"password-of-{name}",
                TOKEN_VARIABLE: self.token,
            }
        )

        def preexec() -> None:
            # ignore_sigint: what a script's `make run &` gets from a shell without job
            # control; otherwise what a terminal's foreground job gets, whatever this test
            # run inherited (started in the background, it would have SIGINT ignored).
            signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else signal.SIG_DFL)

        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run", f"VENV={VENV}", "INSTALL=no"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def processes(self) -> dict[int, str]:
        return processes_with(self.token, self.process.pid)

    def wait_until_up(self, timeout: float = 180) -> str:
        """Both servers answer and the banner is out; the output up to then."""
        try:
            wait_for_http(self.portal_url + "/health", self.process, timeout=timeout)
            wait_for_http(
                self.localglobus_url + ".well-known/openid-configuration",
                self.process,
                timeout=timeout,
            )
        except RuntimeError as error:
            pytest.fail(f"{error}\n{self.output()}")
        deadline = time.monotonic() + 30
        while "Ctrl-C stops every server." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no banner (make exit status {self.process.poll()}):\n{self.output()}")
            time.sleep(0.1)
        return self.output()

    def process_pid(self, command_end: str, parent: int | None = None) -> int:
        """The one process of this run whose command line ends so (and with this parent)."""
        found = [
            pid
            for pid, cmdline in self.processes().items()
            if cmdline.endswith(command_end) and parent in (None, parent_of(pid))
        ]
        assert len(found) == 1, (command_end, self.processes())
        return found[0]

    def server_pid(self, module: str) -> int:
        return self.process_pid(f"-m {module} serve")

    def wait_until_gone(self, since: float, timeout: float = STOP_WITHIN) -> float:
        """Seconds from `since` until make has exited, none of its processes is left and
        both ports are free; fails after `timeout`."""
        deadline = since + timeout
        while True:
            left = self.processes()
            ports = [p for p in (self.portal_port, self.localglobus_port) if port_is_open(p)]
            if self.process.poll() is not None and not left and not ports:
                return time.monotonic() - since
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{timeout}s on: make exit status {self.process.poll()}, processes left "
                    f"{left}, ports still open {ports}\n{self.output()}"
                )
            time.sleep(0.1)

    def kill_everything(self) -> None:
        """Whatever a failed test left behind."""
        for pid in [self.process.pid, *self.processes()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture
def make_run(tmp_path):
    """Start `make run` instances; whatever is left of them is killed at the end."""
    started: list[MakeRun] = []

    def start(name: str, **kwargs) -> MakeRun:
        run = MakeRun(tmp_path, name, **kwargs)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill_everything()


@pytest.mark.parametrize(
    ("how", "ignore_sigint"),
    [
        # Ctrl-C in a terminal: SIGINT to the foreground process group.
        ("sigint-group", False),
        # A script's `make run &` ignores SIGINT; SIGINT to its group still stops it.
        ("sigint-group", True),
        # `kill -INT <make>`: make alone gets it and passes it on to nobody; honcho sees it.
        ("sigint-make", False),
        # `kill $!` from a script: SIGTERM to make, which passes it to honcho.
        ("sigterm-make", False),
        ("sigterm-group", False),
        # `kill -9 $!`: honcho notices that make died (PR_SET_PDEATHSIG) and stops all.
        ("sigkill-make", False),
        # Killed hard, all but the servers (in sessions of their own): they notice.
        ("sigkill-group", False),
        ("sigkill-honcho", False),
    ],
)
def test_make_run_stops_every_process_and_frees_its_ports(make_run, how, ignore_sigint):
    run = make_run("run", ignore_sigint=ignore_sigint)
    output = run.wait_until_up()
    assert output.count("Ferry is running at") == 1
    servers = {run.server_pid("localglobus"), run.server_pid("app.cli")}
    assert servers <= set(run.processes())

    sig = {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}[
        how.split("-")[0]
    ]
    honcho = run.process_pid("tools/procfile_runner.py Procfile", parent=run.process.pid)
    since = time.monotonic()
    if how.endswith("-group"):
        os.killpg(run.process.pid, sig)
    else:
        os.kill(honcho if how.endswith("-honcho") else run.process.pid, sig)
    elapsed = run.wait_until_gone(since)
    print(f"make run stopped by {how} (SIGINT ignored: {ignore_sigint}) in {elapsed:.1f}s")
    if sig != signal.SIGKILL:
        assert run.process.returncode != 0
        assert f"{signal.Signals(sig).name} received" in run.output()


@pytest.mark.parametrize(
    ("sig", "how"),
    [
        (signal.SIGKILL, "killed by SIGKILL"),
        # localglobus leaves cleanly on SIGTERM (exit status 0): make run still fails.
        (signal.SIGTERM, "exit status 0"),
    ],
)
def test_when_a_server_dies_the_others_stop_and_make_run_fails_naming_it(make_run, sig, how):
    run = make_run("dies")
    run.wait_until_up()
    since = time.monotonic()
    os.kill(run.server_pid("localglobus"), sig)
    elapsed = run.wait_until_gone(since)
    print(f"make run stopped after localglobus got {sig.name} in {elapsed:.1f}s")
    output = run.output()
    assert run.process.returncode != 0, output
    last_lines = output.strip().splitlines()[-3:]
    assert any(f"*** localglobus stopped ({how})" in line for line in last_lines), last_lines
    assert "sending SIGTERM to portal.1" in output


def test_two_instances_side_by_side_print_their_url_and_sign_ins_and_stop_apart(make_run):
    first, second = make_run("a"), make_run("b")
    for run in (first, second):
        banner = run.wait_until_up().rsplit("Ferry is running at", 1)[1]
        assert banner.startswith(f"  {run.portal_url}/")
        assert run.localglobus_url in banner
        assert "researcher@uni.example / password-of-" in banner
        assert "admin@uni.example / password-of-" in banner
        discovery = requests.get(
            run.localglobus_url + ".well-known/openid-configuration", timeout=10
        )
        assert discovery.json()["issuer"] == run.localglobus_url.rstrip("/")

    since = time.monotonic()
    os.killpg(first.process.pid, signal.SIGINT)
    first.wait_until_gone(since)
    # The other instance is untouched.
    assert requests.get(second.portal_url + "/health", timeout=10).status_code == 200
    assert second.process.poll() is None
