"""A transfer survives SIGKILL of localglobus: after a restart it resumes and ends with
the right files, checksums, counters and events (docs/security.md, localglobus)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal

import globus_sdk
import pytest

from tests.conftest import start_localglobus
from tests.waiting import wait_until

FILES = 1200
SMALL = 48 * 1024
BIG = 80 << 20


def _make_source(root) -> dict[str, str]:
    rng = random.Random(7)
    digests = {}
    (root / "kill" / "parts").mkdir(parents=True)
    for i in range(FILES):
        data = rng.randbytes(SMALL)
        (root / "kill" / "parts" / f"p{i:04d}.bin").write_bytes(data)
        digests[f"parts/p{i:04d}.bin"] = hashlib.sha256(data).hexdigest()
    big = rng.randbytes(BIG)
    (root / "kill" / "big.bin").write_bytes(big)
    digests["big.bin"] = hashlib.sha256(big).hexdigest()
    return digests


def _client(lg, lab: str, made: dict) -> globus_sdk.TransferClient:
    """A TransferClient acting as the client identity `made`, with data_access on `lab`."""
    auth = globus_sdk.ConfidentialAppAuthClient(
        made["client_id"], made["client_secret"], base_url=lg.base_url
    )
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{lab}/data_access]"
    )
    tokens = auth.oauth2_client_credentials_tokens(requested_scopes=scope)
    token = tokens.by_resource_server["transfer.api.globus.org"]["access_token"]
    return globus_sdk.TransferClient(
        base_url=lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
    )


@pytest.mark.slow
def test_transfer_resumes_after_sigkill(tmp_path):
    lg = start_localglobus(tmp_path / "home")
    try:
        lab = [
            line.split("\t")[0]
            for line in lg.cli("collection", "list").stdout.splitlines()
            if line.split("\t")[2] == "Lab Storage"
        ][0]
        root = lg.home / "collections" / "lab-storage"
        digests = _make_source(root)
        made = lg.cli("client", "add", "restart", "--json").stdout.strip().splitlines()[-1]
        made = json.loads(made)
        lg.map_client(made["client_id"])
        tc = _client(lg, lab, made)
        data = globus_sdk.TransferData(lab, lab, label="survivor", verify_checksum=True)
        data.add_item("/kill/", "/copy/", recursive=True)
        task_id = tc.submit_transfer(data)["task_id"]

        def a_quarter_done_or_ended():
            task = tc.get_task(task_id)
            if task["files_transferred"] >= FILES // 4 or task["status"] != "ACTIVE":
                return task
            return None

        task = wait_until(
            a_quarter_done_or_ended, "a quarter of the files", timeout=60, interval=0.02
        )
        assert task["status"] == "ACTIVE", "the transfer ended before it could be killed"
        lg.stop(signal.SIGKILL)
        done_before = len(os.listdir(root / "copy" / "parts"))
        assert 0 < done_before < FILES

        lg.start()
        tc = _client(lg, lab, made)
        assert tc.task_wait(task_id, timeout=120, polling_interval=1)
        task = tc.get_task(task_id)
        assert task["status"] == "SUCCEEDED", task
        assert task["files"] == FILES + 1 and task["files_transferred"] == FILES + 1
        assert task["bytes_transferred"] == FILES * SMALL + BIG
        assert task["subtasks_pending"] == 0
        assert task["subtasks_succeeded"] == task["subtasks_total"]

        copied = {
            rel: hashlib.sha256((root / "copy" / rel).read_bytes()).hexdigest() for rel in digests
        }
        assert copied == digests
        leftovers = [
            n for _, _, names in os.walk(root / "copy") for n in names if n.startswith(".")
        ]
        assert leftovers == []

        done = list(tc.paginated.task_successful_transfers(task_id).items())
        assert len(done) == FILES + 1
        assert len({d["destination_path"] for d in done}) == FILES + 1
        for entry in done:
            rel = entry["destination_path"][len("/copy/") :]
            assert entry["checksum"] == digests[rel] and entry["checksum_algorithm"] == "SHA256"
        events = [e["code"] for e in tc.paginated.task_event_list(task_id).items()]
        assert events == ["SUCCEEDED", "STARTED"]
    finally:
        lg.stop(signal.SIGKILL)
