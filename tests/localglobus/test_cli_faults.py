"""globus-cli and globus-sdk, unchanged, on the faults of real tasks (issue 9, part 4):
`globus task show` and `globus task pause-info` of a paused task, `globus task show` of
an INACTIVE one, and the SDK's retries through 503s and 429s with Retry-After; the
faults made with `python -m localglobus fault ...` (docs/globus-api.md B.16)."""

from __future__ import annotations

import json
import time

import globus_sdk
import pytest
import requests

from tests.conftest import start_localglobus
from tests.localglobus.test_cli_transfer import CLI
from tests.waiting import wait_until

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """Its own localglobus (faults touch the whole server), a client mapped on the demo
    gateway that owns (so administers) the collection "Faulty", and a folder of files."""
    lg = start_localglobus(tmp_path_factory.mktemp("faults") / "home")
    made = json.loads(lg.cli("client", "add", "fault-tests", "--json").stdout.splitlines()[-1])
    lg.map_client(made["client_id"])
    root = lg.home / "faulty"
    (root / "batch").mkdir(parents=True)
    for i in range(20):
        (root / "batch" / f"part-{i:02d}.txt").write_text(f"part {i}\n")
    owner = f"{made['client_id']}@clients.auth.globus.org"
    out = lg.cli("collection", "add", "Faulty", "--root", str(root), "--owner", owner).stdout
    collection = out.split()[0]
    scope = f"{TRANSFER}[*https://auth.globus.org/scopes/{collection}/data_access]"
    auth = globus_sdk.ConfidentialAppAuthClient(
        made["client_id"], made["client_secret"], base_url=lg.base_url
    )
    token = auth.oauth2_client_credentials_tokens(requested_scopes=scope).by_resource_server[
        "transfer.api.globus.org"
    ]["access_token"]
    tc = globus_sdk.TransferClient(
        base_url=lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
    )
    cli = CLI(lg, tmp_path_factory.mktemp("cli-home"), made)
    yield lg, tc, cli, collection
    lg.stop()


def _slow_task(lg, tc, collection, dest):
    lg.cli("fault", "slow", "Faulty", "0.2")
    data = globus_sdk.TransferData(collection, collection, label=dest)
    data.add_item("/batch/", f"/{dest}/", recursive=True)
    task_id = tc.submit_transfer(data)["task_id"]
    wait_until(lambda: tc.get_task(task_id)["files_transferred"] >= 1, "the first file")
    return task_id


def test_globus_task_show_and_pause_info_of_a_task_a_pause_rule_holds(faulty):
    lg, tc, cli, collection = faulty
    task_id = _slow_task(lg, tc, collection, "paused-copy")

    rule = tc.endpoint_manager_create_pause_rule(
        {
            "DATA_TYPE": "pause_rule",
            "message": "Storage maintenance",
            "endpoint_id": collection,
            "identity_id": None,
            "start_time": None,
        }
    )
    wait_until(lambda: tc.get_task(task_id)["is_paused"], "the pause")
    shown = cli.run("task", "show", task_id).stdout
    info = cli.run("task", "pause-info", task_id).stdout

    assert "Is Paused:" in shown and "True" in shown.split("Is Paused:")[1].splitlines()[0]
    assert "PAUSED" in shown.split("Details:")[1].splitlines()[0]
    assert "The following pause rules are effective on this task" in info
    assert "Storage maintenance" in info and "write/read/delete/rename/mkdir/ls" in info

    tc.endpoint_manager_delete_pause_rule(rule["id"])
    cli.run("task", "wait", task_id, "--timeout", "60")
    assert cli.json("task", "show", task_id)["status"] == "SUCCEEDED"
    assert "is not paused" in cli.run("task", "pause-info", task_id).stdout


def test_globus_task_show_of_an_inactive_task_and_its_cancel(faulty):
    """A client identity cannot sign in again: its INACTIVE task waits for a cancel."""
    lg, tc, cli, collection = faulty
    task_id = _slow_task(lg, tc, collection, "inactive-copy")

    lg.cli("fault", "expire-credentials", task_id)
    wait_until(lambda: tc.get_task(task_id)["status"] == "INACTIVE", "INACTIVE")
    shown = cli.json("task", "show", task_id)
    listed = cli.json("task", "list", "--filter-status", "INACTIVE")["DATA"]
    cli.run("task", "cancel", task_id)

    assert shown["status"] == "INACTIVE" and shown["nice_status"] == "NO_CREDENTIALS"
    assert [t["task_id"] for t in listed] == [task_id]
    ended = tc.get_task(task_id)
    assert ended["status"] == "FAILED" and ended["fatal_error"]["code"] == "CANCELED"


def test_sdk_and_cli_retry_through_503s_and_429s_with_retry_after(faulty):
    lg, tc, cli, collection = faulty

    lg.cli("fault", "http-errors", "503", "2", "--retry-after", "1")
    started = time.monotonic()
    listing = tc.operation_ls(collection, path="/")
    took = time.monotonic() - started
    lg.cli("fault", "http-errors", "429", "1", "--retry-after", "1")
    header = tc.authorizer.get_authorization_header()
    raw = requests.get(
        lg.base_url + f"v0.10/endpoint/{collection}", headers={"Authorization": header}
    )
    lg.cli("fault", "http-errors", "503", "1")
    ls = cli.run("ls", f"{collection}:/")

    assert "batch/" in [e["name"] + "/" for e in listing if e["type"] == "dir"]
    assert took >= 2  # two answers of Retry-After: 1 waited through
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "1"
    assert raw.json()["code"] == "ClientError.RequestLimitExceeded"
    assert "batch/" in ls.stdout.split()
