"""Tasks as real tasks go (issue 9, part 4): collections that go offline or slow, an
identity's access revoked mid-task, pause rules and explicit pauses by an activity
manager, expired credentials (INACTIVE), and calls answered 429/503 with Retry-After;
each made with the `localglobus fault` functions (docs/globus-api.md B.16)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.waiting import wait_until

EM = "/v0.10/endpoint_manager"


def _change(h, fn):
    with h.app.extensions["localglobus"].db.session() as session:
        return fn(session)


def _transfer(h, src="Lab Storage", dst="Archive", source="/batch/", dest="/copy/", **extra):
    """Submit a transfer; the default source is a folder of 12 small files."""
    batch = h.root("Lab Storage") / "batch"
    if source == "/batch/" and not batch.exists():
        batch.mkdir()
        for i in range(12):
            (batch / f"part-{i:02d}.txt").write_text(f"part {i}\n")
    return h.submit(
        "transfer",
        {
            "source_endpoint": h.collections[src],
            "destination_endpoint": h.collections[dst],
            "DATA": [
                {
                    "DATA_TYPE": "transfer_item",
                    "source_path": source,
                    "destination_path": dest,
                    "recursive": source.endswith("/"),
                }
            ],
            **extra,
        },
    )["task_id"]


def _task(h, task_id):
    return h.client.get(f"/v0.10/task/{task_id}").json


def _events(h, task_id, code):
    events = h.client.get(f"/v0.10/task/{task_id}/event_list").json["DATA"]
    return [e for e in events if e["code"] == code]


def _until(h, task_id, what, check):
    def ready():
        doc = _task(h, task_id)
        return doc if check(doc) else None

    return wait_until(ready, what)


def test_an_offline_collection_refuses_operations_and_holds_tasks_until_online(
    transfer_harness,
):
    from localglobus.transfer.faults import set_offline

    h = transfer_harness
    archive = h.collections["Archive"]
    _change(h, lambda s: set_offline(s, "Archive", True))

    listing = h.client.get(f"/v0.10/operation/endpoint/{archive}/ls", query_string={"path": "/"})
    task_id = _transfer(h, source="/README.txt", dest="/README.copy")
    doc = _until(h, task_id, "two connect faults", lambda d: d["faults"] >= 2)

    assert listing.status_code == 502
    assert listing.json["code"] == "ExternalError.DirListingFailed.ConnectFailed"
    assert "Error (connect)\nEndpoint: Archive (" in listing.json["message"]
    assert doc["status"] == "ACTIVE" and doc["nice_status"] == "CONNECT_FAILED"
    assert doc["is_ok"] is False
    assert _events(h, task_id, "CONNECT_FAILED")[0]["description"] == "connect failed"
    assert not (h.root("Archive") / "README.copy").exists()

    _change(h, lambda s: set_offline(s, "Archive", False))
    assert h.wait(task_id)["status"] == "SUCCEEDED"
    assert (h.root("Archive") / "README.copy").exists()


def test_access_revoked_while_a_task_runs_stops_it_with_permission_denied_faults(
    transfer_harness,
):
    from localglobus.transfer.commands import update_gateway
    from localglobus.transfer.faults import revoke, set_slow
    from localglobus.transfer.models import Collection, StorageGateway

    h = transfer_harness
    _change(h, lambda s: set_slow(s, "Lab Storage", 0.1))
    task_id = _transfer(h)
    _until(h, task_id, "the first files", lambda d: d["files_transferred"] >= 2)

    _change(h, lambda s: revoke(s, "researcher", "Archive"))
    held = _until(h, task_id, "the refusal", lambda d: d["nice_status"] == "PERMISSION_DENIED")
    later = _until(h, task_id, "a second refused attempt", lambda d: d["faults"] > held["faults"])

    assert later["status"] == "ACTIVE"
    assert later["files_transferred"] == held["files_transferred"] < later["files"]
    # The deny list is the gateway's, which Lab Storage shares: the source refuses first.
    details = _events(h, task_id, "PERMISSION_DENIED")[0]["details"]
    assert details.startswith("Error (login)\nEndpoint: Lab Storage (")

    def undeny(session):
        coll = session.get(Collection, h.collections["Archive"])
        update_gateway(session, session.get(StorageGateway, coll.gateway_id), undeny=["researcher"])

    _change(h, undeny)
    done = h.wait(task_id)
    assert done["status"] == "SUCCEEDED" and done["files_transferred"] == done["files"]


def test_a_pause_rule_holds_matching_tasks_and_operations_until_it_is_deleted(
    transfer_harness,
):
    from localglobus.transfer.faults import set_slow

    h = transfer_harness
    lab = h.collections["Lab Storage"]
    _change(h, lambda s: set_slow(s, "Lab Storage", 0.1))
    task_id = _transfer(h)
    _until(h, task_id, "the first file", lambda d: d["files_transferred"] >= 1)

    h.act_as("admin")  # owner, so administrator, of Lab Storage
    made = h.client.post(
        f"{EM}/pause_rule",
        json={
            "DATA_TYPE": "pause_rule",
            "message": "Disk replacement until 14:00",
            "endpoint_id": lab,
            "identity_id": None,
            "start_time": None,
            "pause_mkdir": False,
        },
    )
    rule = made.json
    listed = h.client.get(f"{EM}/pause_rule_list", query_string={"filter_endpoint": lab}).json
    h.act_as("researcher")
    paused = _until(h, task_id, "the pause", lambda d: d["is_paused"])
    info = h.client.get(f"/v0.10/task/{task_id}/pause_info").json
    ls = h.client.get(f"/v0.10/operation/endpoint/{lab}/ls", query_string={"path": "/"})
    mkdir = h.client.post(f"/v0.10/operation/endpoint/{lab}/mkdir", json={"path": "/new-dir"})
    # A paused task's deadline is 90 days after the pause, as on Globus.
    deadline = datetime.fromisoformat(paused["deadline"].replace("Z", "+00:00"))

    assert made.status_code == 200 and rule["DATA_TYPE"] == "pause_rule"
    assert rule["pause_ls"] and rule["pause_task_transfer_read"] and not rule["pause_mkdir"]
    assert rule["editable"] is True and rule["endpoint_display_name"] == "Lab Storage"
    assert [r["id"] for r in listed["DATA"]] == [rule["id"]]
    assert paused["status"] == "ACTIVE" and paused["nice_status"] == "PAUSED"
    assert (deadline - datetime.now(UTC)).days >= 89
    assert info["DATA_TYPE"] == "pause_info_limited"
    assert [(r["DATA_TYPE"], r["message"]) for r in info["pause_rules"]] == [
        ("pause_rule_limited", "Disk replacement until 14:00")
    ]
    assert "editable" not in info["pause_rules"][0]
    assert ls.status_code == 409 and "Disk replacement until 14:00" in ls.json["message"]
    assert mkdir.status_code == 200
    held = _task(h, task_id)["files_transferred"]
    assert _events(h, task_id, "PAUSED")[0]["details"] == "Disk replacement until 14:00"

    h.act_as("admin")
    deleted = h.client.delete(f"{EM}/pause_rule/{rule['id']}")
    h.act_as("researcher")
    done = h.wait(task_id)

    assert deleted.json["code"] == "Deleted"
    assert done["status"] == "SUCCEEDED" and done["is_paused"] is False
    assert done["files_transferred"] > held
    assert _events(h, task_id, "UNPAUSED")


def test_only_an_activity_manager_makes_pause_rules(transfer_harness):
    h = transfer_harness  # researcher: no role on Lab Storage
    refused = h.client.post(
        f"{EM}/pause_rule",
        json={"message": "mine now", "endpoint_id": h.collections["Lab Storage"]},
    )
    assert refused.status_code == 403 and refused.json["code"] == "PermissionDenied"
    no_message = h.act_as("admin").client.post(
        f"{EM}/pause_rule", json={"endpoint_id": h.collections["Lab Storage"]}
    )
    assert no_message.status_code == 400 and "message" in no_message.json["message"]


def test_an_explicit_pause_shows_its_message_and_resume_lets_the_task_finish(
    transfer_harness,
):
    from localglobus.transfer.faults import set_slow

    h = transfer_harness
    _change(h, lambda s: set_slow(s, "Lab Storage", 0.1))
    task_id = _transfer(h)
    _until(h, task_id, "the first file", lambda d: d["files_transferred"] >= 1)

    h.act_as("admin")
    paused = h.client.post(
        f"{EM}/admin_pause", json={"task_id_list": [task_id], "message": "Audit in progress"}
    )
    h.act_as("researcher")
    doc = _until(h, task_id, "the pause", lambda d: d["is_paused"])
    info = h.client.get(f"/v0.10/task/{task_id}/pause_info").json
    h.act_as("admin")
    listed = h.client.get(
        f"{EM}/task_list", query_string={"filter_status": "ACTIVE", "filter_is_paused": "true"}
    ).json
    resumed = h.client.post(f"{EM}/admin_resume", json={"task_id_list": [task_id]})
    h.act_as("researcher")

    assert paused.status_code == 200 and paused.json["DATA_TYPE"] == "admin_pause"
    assert doc["status"] == "ACTIVE"
    # Both sides are admin's collections: the message is on both.
    assert info["source_pause_message"] == info["destination_pause_message"] == "Audit in progress"
    assert info["pause_rules"] == []
    assert [t["task_id"] for t in listed["DATA"]] == [task_id]
    assert resumed.json == {"DATA_TYPE": "admin_resume", "task_id_list": [task_id]}
    assert h.wait(task_id)["status"] == "SUCCEEDED"


def test_expired_credentials_make_a_task_inactive_until_its_owner_signs_in(transfer_harness):
    from localglobus.auth import sessions
    from localglobus.transfer.faults import expire_credentials, set_slow

    h = transfer_harness
    _change(h, lambda s: set_slow(s, "Lab Storage", 0.1))
    task_id = _transfer(h)
    _until(h, task_id, "the first file", lambda d: d["files_transferred"] >= 1)

    _change(h, lambda s: expire_credentials(s, task_id))
    inactive = _until(h, task_id, "INACTIVE", lambda d: d["status"] == "INACTIVE")
    listed = h.client.get("/v0.10/task_list", query_string={"filter": "status:INACTIVE"}).json

    assert inactive["nice_status"] == "NO_CREDENTIALS" and inactive["completion_time"] is None
    assert [t["task_id"] for t in listed["DATA"]] == [task_id]
    assert _events(h, task_id, "NO_CREDENTIALS")[0]["is_error"] is True

    def sign_in(session):
        row, _secret = sessions.start(session, h.users["researcher@uni.example"])
        sessions.record_sign_in(row, h.users["researcher@uni.example"])

    import time

    time.sleep(1.1)  # a sign-in after the expiry, at Auth's one-second resolution
    _change(h, sign_in)
    assert h.wait(task_id)["status"] == "SUCCEEDED"


def test_a_destination_over_its_quota_holds_the_task_with_quota_exceeded(transfer_harness):
    from localglobus.transfer.faults import set_quota, set_slow

    h = transfer_harness
    used = sum(p.stat().st_size for p in h.root("Archive").rglob("*") if p.is_file())
    _change(h, lambda s: set_slow(s, "Lab Storage", 0.1))
    _change(h, lambda s: set_quota(s, "Archive", used + 30))  # room for about 3 parts
    task_id = _transfer(h)

    held = _until(h, task_id, "the quota", lambda d: d["nice_status"] == "QUOTA_EXCEEDED")
    event = _events(h, task_id, "QUOTA_EXCEEDED")[0]

    assert held["status"] == "ACTIVE" and held["files_transferred"] < held["files"]
    assert held["nice_status_short_description"] == "Quota exceeded"
    assert event["description"] == "quota exceeded" and "Disk quota exceeded" in event["details"]

    _change(h, lambda s: set_quota(s, "Archive", -1))
    assert h.wait(task_id)["status"] == "SUCCEEDED"
