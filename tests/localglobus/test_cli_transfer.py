"""globus-cli 3.43 against the live localglobus, in client-identity mode (docs/globus-api.md C.2a)
and after a real `globus login --no-local-server` (C.2b)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from tests.conftest import GLOBUS_CLI

GLOBUS = GLOBUS_CLI


class CLI:
    def __init__(self, lg, home: Path, client: dict | None = None):
        self.env = {
            **os.environ,
            "HOME": str(home),
            "GLOBUS_SDK_SERVICE_URL_AUTH": lg.base_url,
            "GLOBUS_SDK_SERVICE_URL_TRANSFER": lg.base_url,
        }
        self.env.pop("GLOBUS_CLI_CLIENT_ID", None)
        self.env.pop("GLOBUS_CLI_CLIENT_SECRET", None)
        if client:
            self.env["GLOBUS_CLI_CLIENT_ID"] = client["client_id"]
            self.env["GLOBUS_CLI_CLIENT_SECRET"] = client["client_secret"]

    def run(self, *args: str, check: bool = True, stdin: str | None = None):
        proc = subprocess.run(
            [GLOBUS, *args], env=self.env, capture_output=True, text=True, timeout=90, input=stdin
        )
        if check:
            assert proc.returncode == 0, f"globus {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-F", "json").stdout)


@pytest.fixture(scope="module")
def client_cli(transfer_live, tmp_path_factory):
    lg = transfer_live.lg
    made = json.loads(
        lg.cli("client", "add", "cli-tests", "--json").stdout.strip().splitlines()[-1]
    )
    lg.map_client(made["client_id"])
    return CLI(lg, tmp_path_factory.mktemp("cli-home"), made), made


def test_files_and_tasks_in_client_mode(transfer_live, client_cli):
    cli, _ = client_cli
    lab, archive = transfer_live.collections["Lab Storage"], transfer_live.collections["Archive"]
    name = f"cli-{uuid.uuid4().hex[:8]}"
    # The first call meets ConsentRequired; the CLI asks Auth for the scope and retries.
    assert "README.txt" in cli.run("ls", f"{lab}:/~/").stdout.split()
    cli.run("mkdir", f"{lab}:/~/{name}")
    again = cli.run("mkdir", f"{lab}:/~/{name}", check=False)
    assert again.returncode == 1 and "ExternalError.MkdirFailed.Exists" in again.stderr
    cli.run("rename", lab, f"/~/{name}", f"/~/{name}-r")
    assert cli.json("stat", f"{lab}:/~/{name}-r")["type"] == "dir"
    assert "Nothing found" in cli.run("stat", f"{lab}:/~/{name}").stdout

    task = cli.json(
        "transfer",
        f"{lab}:/~/data/",
        f"{archive}:/~/{name}/",
        "--recursive",
        "--sync-level",
        "checksum",
        "--label",
        "cli copy",
    )
    cli.run("task", "wait", task["task_id"], "--timeout", "60")
    shown = cli.json("task", "show", task["task_id"])
    assert shown["status"] == "SUCCEEDED" and shown["label"] == "cli copy"
    # globus-cli sends `label:~CLI*`: the whole label, ignoring case, `*` for any text.
    by_label = cli.json("task", "list", "--filter-label", "CLI*")["DATA"]
    assert task["task_id"] in [t["task_id"] for t in by_label]
    assert cli.json("task", "list", "--filter-label", "cli")["DATA"] == []
    assert shown["files_transferred"] == 3
    dst = transfer_live.root("Archive") / name / "raw/run-001/measurements.csv"
    assert (
        dst.read_bytes()
        == (transfer_live.root("Lab Storage") / "data/raw/run-001/measurements.csv").read_bytes()
    )
    (transfer_live.root("Archive") / name / "stale.txt").write_text("x")
    task = cli.json(
        "transfer",
        f"{lab}:/~/data/",
        f"{archive}:/~/{name}/",
        "--recursive",
        "--sync-level",
        "size",
        "--delete-destination-extra",
    )
    cli.run("task", "wait", task["task_id"], "--timeout", "60")
    second = cli.json("task", "show", task["task_id"])
    assert second["files_skipped"] == 3 and second["files_transferred"] == 0
    assert not (transfer_live.root("Archive") / name / "stale.txt").exists()
    events = cli.json("task", "event-list", task["task_id"])["DATA"]
    assert [e["code"] for e in events] == ["SUCCEEDED", "STARTED"]
    listed = cli.json("task", "list")["DATA"]
    assert task["task_id"] in [t["task_id"] for t in listed]

    cli.run("rm", "-r", f"{archive}:/~/{name}")
    assert not (transfer_live.root("Archive") / name).exists()
    deleted = cli.json("delete", f"{lab}:/~/{name}-r", "-r", "--ignore-missing")
    cli.run("task", "wait", deleted["task_id"], "--timeout", "30")
    assert not (transfer_live.root("Lab Storage") / f"{name}-r").exists()

    big = cli.json("transfer", f"{lab}:/~/many/", f"{lab}:/~/{name}-many/", "-r")
    canceled = cli.run("task", "cancel", big["task_id"]).stdout
    assert "cancel" in canceled.lower() or "completed" in canceled.lower()


def test_endpoints_permissions_roles_bookmarks_in_client_mode(transfer_live, client_cli):
    cli, made = client_cli
    lg = transfer_live.lg
    lab = transfer_live.collections["Lab Storage"]
    folder = f"guest-{uuid.uuid4().hex[:8]}"
    (transfer_live.root("Lab Storage") / folder / "sub").mkdir(parents=True)
    owner = f"{made['client_id']}@clients.auth.globus.org"
    guest = lg.cli(
        "collection",
        "add",
        f"CLI guest {folder}",
        "--type",
        "guest",
        "--owner",
        owner,
        "--host",
        lab,
        "--host-path",
        f"/{folder}/",
    ).stdout.strip()

    found = cli.json("endpoint", "search", "Lab")["DATA"]
    assert lab in [e["id"] for e in found]
    shown = cli.run("endpoint", "show", lab, check=False)
    assert shown.returncode == 3  # the CLI sends GCSv5 collections to `gcs collection show`
    assert "Mapped Collection" in shown.stderr + shown.stdout

    created = cli.json(
        "endpoint",
        "permission",
        "create",
        f"{guest}:/sub/",
        "--permissions",
        "r",
        "--identity",
        "researcher@uni.example",
    )
    rule_id = created["access_id"]
    rules = cli.json("endpoint", "permission", "list", guest)["DATA"]
    assert [r["path"] for r in rules if r["id"] == rule_id] == ["/sub/"]
    assert any(r["id"] is None and r["role_type"] == "administrator" for r in rules)
    cli.run("endpoint", "permission", "update", guest, rule_id, "--permissions", "rw")
    assert cli.json("endpoint", "permission", "show", guest, rule_id)["permissions"] == "rw"
    cli.run("endpoint", "permission", "delete", guest, rule_id)
    assert rule_id not in [
        r["id"] for r in cli.json("endpoint", "permission", "list", guest)["DATA"]
    ]

    role = cli.json(
        "endpoint",
        "role",
        "create",
        guest,
        "--identity",
        "researcher@uni.example",
        "--role",
        "activity_monitor",
    )
    roles = cli.json("endpoint", "role", "list", guest)["DATA"]
    assert {r["role"] for r in roles} == {"administrator", "activity_monitor"}
    cli.run("endpoint", "role", "delete", guest, role["id"])
    assert len(cli.json("endpoint", "role", "list", guest)["DATA"]) == 1

    cli.run("bookmark", "create", f"{lab}:/data/", f"bm-{folder}")
    assert f"bm-{folder}" in cli.run("bookmark", "list").stdout
    cli.run("bookmark", "rename", f"bm-{folder}", f"bm2-{folder}")
    assert cli.run("bookmark", "show", f"bm2-{folder}").stdout.strip() == f"{lab}:/data/"
    cli.run("bookmark", "delete", f"bm2-{folder}")
    assert f"bm2-{folder}" not in cli.run("bookmark", "list").stdout


def _browser_code(url: str, lg, username: str) -> str:
    """Sign in and consent at localglobus; return the code the auth-code page shows."""
    browser = requests.Session()
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if "/v2/web/auth-code" in location:
                return parse_qs(urlsplit(location).query)["code"][0]
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        form = BeautifulSoup(response.text, "html.parser").find("form")
        fields = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
        if "password" in fields:
            fields.update(username=username, password=lg.password)
        button = form.find("button", attrs={"name": True})
        if button is not None:
            fields[button["name"]] = "allow"
        response = browser.post(
            urljoin(response.url, form.get("action")),
            data=fields,
            allow_redirects=False,
            timeout=10,
        )
    raise AssertionError("no auth-code redirect")


def _login(cli: CLI, lg, *args: str, username: str = "researcher"):
    """Run an interactive CLI login command, answering its prompt like a user would."""
    proc = subprocess.Popen(
        [GLOBUS, *args, "--no-local-server"],
        env=cli.env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = None
    while url is None:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        if "/v2/oauth2/authorize" in line:
            url = line.strip()
    out, err = proc.communicate(_browser_code(url, lg, username) + "\n", timeout=60)
    assert proc.returncode == 0, out + err
    return out


@pytest.mark.slow
def test_user_login_mode_with_consent_step_up(transfer_live, tmp_path):
    lg = transfer_live.lg
    cli = CLI(lg, tmp_path)
    _login(cli, lg, "login")
    assert cli.run("whoami").stdout.strip() == "researcher@uni.example"
    lab = transfer_live.collections["Lab Storage"]
    first = cli.run("ls", f"{lab}:/~/", check=False)
    assert first.returncode == 4 and "globus session consent" in first.stdout + first.stderr
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{lab}/data_access]"
    )
    _login(cli, lg, "session", "consent", scope)
    assert "README.txt" in cli.run("ls", f"{lab}:/~/").stdout.split()
    shared = transfer_live.collections["Shared Results"]
    assert "notes.md" in cli.run("ls", f"{shared}:/").stdout.split()
    denied = cli.run("mkdir", f"{shared}:/nope", check=False)
    assert denied.returncode == 1
