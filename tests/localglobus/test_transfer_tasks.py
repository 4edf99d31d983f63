"""Transfer and delete tasks through the API, in process, checking the files on disk."""

from __future__ import annotations

import hashlib
import os
import time

from tests.waiting import wait_until


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_recursive_transfer_copies_every_byte_and_records_checksums(transfer_harness):
    h = transfer_harness
    lab, archive = h.collections["Lab Storage"], h.collections["Archive"]
    sub = h.submit(
        "transfer",
        {
            "DATA_TYPE": "transfer",
            "source_endpoint": lab,
            "destination_endpoint": archive,
            "verify_checksum": True,
            "preserve_timestamp": True,
            "label": "copy data",
            "DATA": [
                {"source_path": "/~/data/", "destination_path": "/~/in/data/", "recursive": True},
                {"source_path": "/large/sample-2.bin", "destination_path": "/in/big.bin"},
            ],
        },
    )
    assert sub["code"] == "Accepted" and sub["DATA_TYPE"] == "transfer_result"
    task = h.wait(sub["task_id"])
    assert task["status"] == "SUCCEEDED", task
    src, dst = h.root("Lab Storage"), h.root("Archive")
    for rel in ("data/raw/run-001/measurements.csv", "data/processed/summary.json"):
        assert _sha256(src / rel) == _sha256(dst / "in" / rel)
    assert _sha256(src / "large/sample-2.bin") == _sha256(dst / "in/big.bin")
    assert int(os.stat(dst / "in/big.bin").st_mtime) == int(
        os.stat(src / "large/sample-2.bin").st_mtime
    )
    assert task["files"] == 4 and task["files_transferred"] == 4
    assert task["directories"] == 5
    assert task["bytes_transferred"] == sum(
        (src / p).stat().st_size
        for p in (
            "data/raw/run-001/measurements.csv",
            "data/raw/run-002/measurements.csv",
            "data/processed/summary.json",
            "large/sample-2.bin",
        )
    )
    assert task["subtasks_pending"] == 0 and task["subtasks_total"] == task["subtasks_succeeded"]
    assert task["completion_time"] and task["nice_status"] is None
    done = h.client.get(f"/v0.10/task/{sub['task_id']}/successful_transfers").json
    big = [d for d in done["DATA"] if d["destination_path"] == "/in/big.bin"][0]
    assert big["checksum"] == _sha256(src / "large/sample-2.bin")
    assert big["checksum_algorithm"] == "SHA256"
    assert done["next_marker"] is None
    assert not [n for n in os.listdir(dst / "in") if n.startswith(".lgpart")]


def test_submission_id_used_again_returns_the_same_task(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    sid = h.client.get("/v0.10/submission_id").json["value"]
    doc = {
        "DATA_TYPE": "transfer",
        "submission_id": sid,
        "source_endpoint": lab,
        "destination_endpoint": lab,
        "DATA": [{"source_path": "/README.txt", "destination_path": "/README.copy"}],
    }
    first = h.client.post("/v0.10/transfer", json=doc)
    second = h.client.post("/v0.10/transfer", json=doc)
    assert first.status_code == 202 and first.json["code"] == "Accepted"
    assert second.status_code == 200 and second.json["code"] == "Duplicate"
    assert first.json["task_id"] == second.json["task_id"]
    listed = h.client.get("/v0.10/task_list").json
    assert listed["total"] == 1


def test_sync_level_skips_unchanged_files_and_delete_extra(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    item = {"source_path": "/data/", "destination_path": "/mirror/", "recursive": True}
    first = h.wait(
        h.submit("transfer", {"source_endpoint": lab, "destination_endpoint": lab, "DATA": [item]})[
            "task_id"
        ]
    )
    assert first["files_transferred"] == 3
    root = h.root("Lab Storage")
    (root / "mirror/extra.txt").write_text("not in the source")
    (root / "data/processed/summary.json").write_text('{"runs": 3}\n')
    second = h.wait(
        h.submit(
            "transfer",
            {
                "source_endpoint": lab,
                "destination_endpoint": lab,
                "sync_level": 3,
                "delete_destination_extra": True,
                "DATA": [item],
            },
        )["task_id"]
    )
    assert second["status"] == "SUCCEEDED"
    assert second["files_transferred"] == 1 and second["files_skipped"] == 2
    assert not (root / "mirror/extra.txt").exists()
    assert (root / "mirror/processed/summary.json").read_text() == '{"runs": 3}\n'


def test_missing_source_fails_or_is_skipped(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    items = [
        {"source_path": "/no-such-file", "destination_path": "/x"},
        {"source_path": "/README.txt", "destination_path": "/y"},
    ]
    failed = h.wait(
        h.submit("transfer", {"source_endpoint": lab, "destination_endpoint": lab, "DATA": items})[
            "task_id"
        ]
    )
    assert failed["status"] == "FAILED"
    assert failed["fatal_error"] == {"code": "FILE_NOT_FOUND", "description": "file not found"}
    assert failed["faults"] == 1
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "skip_source_errors": True,
            "DATA": items,
        },
    )
    skipped = h.wait(sub["task_id"])
    assert skipped["status"] == "SUCCEEDED" and skipped["subtasks_skipped_errors"] == 1
    errors = h.client.get(f"/v0.10/task/{sub['task_id']}/skipped_errors").json["DATA"]
    assert errors[0]["error_code"] == "FILE_NOT_FOUND"
    assert errors[0]["source_path"] == "/no-such-file"
    assert (h.root("Lab Storage") / "y").read_bytes() == (
        h.root("Lab Storage") / "README.txt"
    ).read_bytes()


def test_delete_task_with_globs_and_ignore_missing(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    root = h.root("Lab Storage")
    sub = h.submit(
        "delete",
        {
            "DATA_TYPE": "delete",
            "endpoint": lab,
            "recursive": True,
            "interpret_globs": True,
            "ignore_missing": True,
            "DATA": [{"path": "/many/file-00*"}, {"path": "/data/"}, {"path": "/gone"}],
        },
    )
    assert sub["DATA_TYPE"] == "delete_result"
    task = h.wait(sub["task_id"])
    assert task["status"] == "SUCCEEDED" and task["type"] == "DELETE"
    assert task["destination_endpoint_id"] is None
    assert not (root / "data").exists()
    assert len(os.listdir(root / "many")) == 900


def test_tasks_are_private_to_their_owner(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "DATA": [{"source_path": "/README.txt", "destination_path": "/z"}],
        },
    )
    h.wait(sub["task_id"])
    h.act_as("outsider")
    resp = h.client.get(f"/v0.10/task/{sub['task_id']}")
    assert resp.status_code == 404 and resp.json["code"] == "TaskNotFound"
    assert h.client.get("/v0.10/task_list").json["total"] == 0
    assert h.client.post(f"/v0.10/task/{sub['task_id']}/cancel").status_code == 404


def test_cancel_stops_a_running_task_within_a_second(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "verify_checksum": True,
            "DATA": [{"source_path": "/many/", "destination_path": "/m2/", "recursive": True}],
        },
    )

    def running():
        doc = h.client.get(f"/v0.10/task/{sub['task_id']}").json
        return doc if doc["files_transferred"] >= 1 or doc["status"] != "ACTIVE" else None

    # Running: its first file copied, and (1,000 checksummed files) far from done.
    assert wait_until(running, "the task to start copying")["status"] == "ACTIVE"
    started = time.monotonic()
    resp = h.client.post(f"/v0.10/task/{sub['task_id']}/cancel")
    assert time.monotonic() - started < 1.0
    assert resp.json["code"] == "Canceled"
    task = h.client.get(f"/v0.10/task/{sub['task_id']}").json
    assert task["status"] == "FAILED"
    assert task["fatal_error"]["code"] == "CANCELED"
    events = h.client.get(f"/v0.10/task/{sub['task_id']}/event_list").json["DATA"]
    assert events[0]["code"] == "CANCELED"
    again = h.client.post(f"/v0.10/task/{sub['task_id']}/cancel").json
    assert again["code"] == "TaskComplete"
