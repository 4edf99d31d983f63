"""Task engine rules, in process: queueing per user, deadlines, filter rules, sync levels,
checksums, task updates and listing filters."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

from tests.waiting import wait_until


def _wait_status(h, task_id, status, timeout=20):
    def reached() -> dict | None:
        doc = h.client.get(f"/v0.10/task/{task_id}").json
        return doc if doc["status"] == status else None

    return wait_until(reached, f"task {task_id} to be {status}", timeout=timeout)


def test_a_user_runs_a_few_tasks_at_once_and_the_rest_wait(transfer_harness):
    h = transfer_harness  # tasks_per_user=2
    lab = h.collections["Lab Storage"]
    engine = h.app.extensions["localglobus"].engine
    engine.stop()  # hold the queue still while we submit
    ids = [
        h.submit(
            "transfer",
            {
                "source_endpoint": lab,
                "destination_endpoint": lab,
                "DATA": [
                    {"source_path": "/many/", "destination_path": f"/q{i}/", "recursive": True}
                ],
            },
        )["task_id"]
        for i in range(3)
    ]
    queued = h.client.get(f"/v0.10/task/{ids[0]}").json
    assert queued["status"] == "ACTIVE" and queued["nice_status"] == "Queued"
    assert queued["is_ok"] is True and queued["completion_time"] is None
    engine.stopping.clear()
    engine.dispatch()
    running = [r.owner_id for r in engine.runners.values()]
    assert len(running) == 2
    engine.start()
    for task_id in ids:
        assert h.wait(task_id)["status"] == "SUCCEEDED"


def test_deadline_expires_a_task(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    engine = h.app.extensions["localglobus"].engine
    engine.stop()
    soon_at = datetime.now(UTC) + timedelta(seconds=1)
    soon = soon_at.isoformat()
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "deadline": soon,
            "DATA": [{"source_path": "/README.txt", "destination_path": "/e"}],
        },
    )
    # The deadline passing is the behaviour under test: wait for the clock, not a guess.
    wait_until(lambda: datetime.now(UTC) > soon_at, "the deadline to pass", timeout=10)
    engine.stopping.clear()
    engine.dispatch()
    task = h.client.get(f"/v0.10/task/{sub['task_id']}").json
    assert task["status"] == "FAILED" and task["fatal_error"]["code"] == "EXPIRED"
    assert task["subtasks_expired"] == 1 and task["subtasks_pending"] == 0
    past = h.client.post(
        "/v0.10/transfer",
        json={
            "submission_id": h.client.get("/v0.10/submission_id").json["value"],
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "deadline": "2001-01-01 00:00:00",
            "DATA": [{"source_path": "/README.txt", "destination_path": "/e"}],
        },
    )
    assert past.status_code == 400


def test_filter_rules_and_preserved_timestamps(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    root = h.root("Lab Storage")
    os.utime(root / "data/raw/run-001/measurements.csv", (1_000_000_000, 1_000_000_000))
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "preserve_timestamp": True,
            "filter_rules": [
                {"DATA_TYPE": "filter_rule", "method": "exclude", "name": "run-002", "type": "dir"},
                {"DATA_TYPE": "filter_rule", "method": "exclude", "name": "*.json", "type": "file"},
            ],
            "DATA": [{"source_path": "/data/", "destination_path": "/f/", "recursive": True}],
        },
    )
    task = h.wait(sub["task_id"])
    assert task["files_transferred"] == 1
    assert task["filter_rules"][0]["name"] == "run-002"
    copied = root / "f/raw/run-001/measurements.csv"
    assert copied.stat().st_mtime == 1_000_000_000
    assert (
        not (root / "f/raw/run-002").exists() and not (root / "f/processed/summary.json").exists()
    )


def test_external_checksum_is_checked(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    data = (h.root("Lab Storage") / "README.txt").read_bytes()
    good = hashlib.md5(data).hexdigest()  # noqa: S324 - what Globus assumes by default
    ok = h.wait(
        h.submit(
            "transfer",
            {
                "source_endpoint": lab,
                "destination_endpoint": lab,
                "DATA": [
                    {
                        "source_path": "/README.txt",
                        "destination_path": "/md5",
                        "external_checksum": good,
                    }
                ],
            },
        )["task_id"]
    )
    assert ok["status"] == "SUCCEEDED"
    done = h.client.get(f"/v0.10/task/{ok['task_id']}/successful_transfers").json["DATA"]
    assert done[0]["checksum"] == good and done[0]["checksum_algorithm"] == "MD5"
    bad = h.wait(
        h.submit(
            "transfer",
            {
                "source_endpoint": lab,
                "destination_endpoint": lab,
                "DATA": [
                    {
                        "source_path": "/README.txt",
                        "destination_path": "/bad",
                        "external_checksum": "0" * 64,
                        "checksum_algorithm": "SHA256",
                    }
                ],
            },
        )["task_id"]
    )
    assert bad["status"] == "FAILED" and bad["fatal_error"]["code"] == "VERIFY_CHECKSUM"
    assert not (h.root("Lab Storage") / "bad").exists()


def test_sync_levels(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    root = h.root("Lab Storage")
    (root / "s").mkdir()
    (root / "s/a.txt").write_text("same size!")
    (root / "t").mkdir()
    (root / "t/a.txt").write_text("SAME SIZE!")
    item = [{"source_path": "/s/a.txt", "destination_path": "/t/a.txt"}]

    def run(level):
        return h.wait(
            h.submit(
                "transfer",
                {
                    "source_endpoint": lab,
                    "destination_endpoint": lab,
                    "sync_level": level,
                    "DATA": item,
                },
            )["task_id"]
        )

    assert run(0)["files_skipped"] == 1  # exists
    assert run(1)["files_skipped"] == 1  # same size
    os.utime(root / "t/a.txt", (1, 1))
    assert run(2)["files_transferred"] == 1  # source newer
    (root / "t/a.txt").write_text("SAME SIZE!")
    assert run(3)["files_transferred"] == 1  # checksums differ
    assert (root / "t/a.txt").read_text() == "same size!"
    assert run(3)["files_skipped"] == 1


def test_update_task_and_list_filters(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "label": "first",
            "DATA": [{"source_path": "/README.txt", "destination_path": "/u"}],
        },
    )
    h.wait(sub["task_id"])
    resp = h.client.put(
        f"/v0.10/task/{sub['task_id']}", json={"DATA_TYPE": "task", "label": "renamed"}
    )
    assert resp.json["code"] == "Updated"
    assert h.client.put(f"/v0.10/task/{sub['task_id']}", json={"status": "x"}).status_code == 400
    h.submit("delete", {"endpoint": lab, "DATA": [{"path": "/u"}]})

    def ids(params):
        return [
            t["task_id"] for t in h.client.get("/v0.10/task_list", query_string=params).json["DATA"]
        ]

    assert ids({"filter": "label:renamed"}) == [sub["task_id"]]
    assert ids({"filter": "label:~*NAME*"}) == [sub["task_id"]]
    assert ids({"filter": "label:~name"}) == []  # the whole label, as on Globus
    assert len(ids({"filter": "type:TRANSFER,DELETE", "orderby": "request_time DESC"})) == 2
    assert ids({"filter": "type:DELETE/label:!renamed"}) != []
    brief = h.client.get("/v0.10/task_list?fields=task_id&filter=type:TRANSFER").json["DATA"]
    assert brief == [{"DATA_TYPE": "task", "task_id": sub["task_id"]}]
    page = h.client.get("/v0.10/task_list?limit=1&offset=1").json
    assert page["total"] == 2 and page["length"] == 1
    info = h.client.get(f"/v0.10/task/{sub['task_id']}/pause_info").json
    assert info["DATA_TYPE"] == "pause_info_limited" and info["pause_rules"] == []


def test_quota_errors_are_retried_unless_fail_on_quota_errors(transfer_harness, monkeypatch):
    from localglobus.transfer.engine import work
    from localglobus.transfer.engine.copier import CopyError

    h = transfer_harness
    lab = h.collections["Lab Storage"]
    real_copy = work.copy_file
    calls = []

    def full_disk_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise CopyError("QUOTA_EXCEEDED", "quota exceeded", "destination")
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(work, "copy_file", full_disk_once)
    monkeypatch.setattr(work, "QUOTA_RETRY_SECONDS", (0.05,))
    item = [{"source_path": "/README.txt", "destination_path": "/quota"}]
    task = h.wait(
        h.submit("transfer", {"source_endpoint": lab, "destination_endpoint": lab, "DATA": item})[
            "task_id"
        ]
    )
    assert task["status"] == "SUCCEEDED" and task["faults"] == 1
    assert task["subtasks_retrying"] == 0
    calls.clear()
    failed = h.wait(
        h.submit(
            "transfer",
            {
                "source_endpoint": lab,
                "destination_endpoint": lab,
                "fail_on_quota_errors": True,
                "DATA": item,
            },
        )["task_id"]
    )
    assert failed["status"] == "FAILED" and failed["fatal_error"]["code"] == "QUOTA_EXCEEDED"
