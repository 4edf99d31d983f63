"""Access rules, roles, bookmarks, endpoint search and the endpoint manager, in process."""

from __future__ import annotations

import time

from tests.localglobus.conftest import ADMIN_ID, OUTSIDER_ID, RESEARCHER_ID


def test_access_rules_are_managed_by_the_owner_only_and_enforced(transfer_harness):
    h = transfer_harness
    shared = h.collections["Shared Results"]
    base = f"/v0.10/endpoint/{shared}"
    assert h.client.get(f"{base}/access_list").status_code == 403  # researcher: r only
    h.act_as("admin")
    listed = h.client.get(f"{base}/access_list").json
    implicit = [r for r in listed["DATA"] if r["id"] is None]
    assert implicit and implicit[0]["role_type"] == "administrator"
    assert implicit[0]["principal"] == ADMIN_ID and implicit[0]["permissions"] == "rw"
    resp = h.client.post(
        f"{base}/access",
        json={
            "DATA_TYPE": "access",
            "principal_type": "identity",
            "principal": OUTSIDER_ID,
            "path": "/results/",
            "permissions": "r",
        },
    )
    assert resp.status_code == 201 and resp.json["code"] == "Created"
    rule_id = resp.json["access_id"]
    dup = h.client.post(
        f"{base}/access",
        json={
            "principal_type": "identity",
            "principal": OUTSIDER_ID,
            "path": "/results/",
            "permissions": "rw",
        },
    )
    assert dup.status_code == 409
    bad = h.client.post(
        f"{base}/access",
        json={"principal_type": "anonymous", "principal": "", "path": "/", "permissions": "rw"},
    )
    assert bad.status_code == 400
    assert (
        h.client.post(
            f"{base}/access",
            json={
                "principal_type": "identity",
                "principal": OUTSIDER_ID,
                "path": "/no-slash",
                "permissions": "r",
            },
        ).status_code
        == 400
    )

    h.act_as("outsider")
    ops = f"/v0.10/operation/endpoint/{shared}"
    assert h.client.get(f"{ops}/ls?path=/results/").status_code == 200
    assert h.client.get(f"{ops}/ls?path=/").status_code == 403
    assert h.client.post(f"{ops}/mkdir", json={"path": "/results/new"}).status_code == 403

    h.act_as("admin")
    doc = h.client.get(f"{base}/access/{rule_id}").json
    assert doc["DATA_TYPE"] == "access" and doc["path"] == "/results/"
    upd = h.client.put(
        f"{base}/access/{rule_id}", json={"DATA_TYPE": "access", "permissions": "rw"}
    )
    assert upd.json["code"] == "Updated"
    h.act_as("outsider")
    assert h.client.post(f"{ops}/mkdir", json={"path": "/results/new"}).status_code == 200
    h.act_as("admin")
    assert h.client.delete(f"{base}/access/{rule_id}").json["code"] == "Deleted"
    assert h.client.get(f"{base}/access/{rule_id}").status_code == 404
    h.act_as("outsider")
    assert h.client.get(f"{ops}/ls?path=/results/").status_code == 403


def test_roles_checks(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    base = f"/v0.10/endpoint/{lab}"
    assert h.client.get(f"{base}/role_list").status_code == 403
    new = {
        "DATA_TYPE": "role",
        "principal_type": "identity",
        "principal": RESEARCHER_ID,
        "role": "activity_monitor",
    }
    assert h.client.post(f"{base}/role", json=new).status_code == 403
    h.act_as("admin")
    roles = h.client.get(f"{base}/role_list").json["DATA"]
    assert [(r["principal"], r["role"]) for r in roles] == [(ADMIN_ID, "administrator")]
    assert h.client.delete(f"{base}/role/{roles[0]['id']}").status_code == 409  # last admin
    created = h.client.post(f"{base}/role", json=new)
    assert created.status_code == 201 and created.json["role"] == "activity_monitor"
    assert h.client.post(f"{base}/role", json=new).status_code == 409
    assert h.client.post(f"{base}/role", json={**new, "role": "owner"}).status_code == 400
    h.act_as("researcher")
    assert h.client.get(f"/v0.10/endpoint/{lab}").json["my_effective_roles"] == ["activity_monitor"]
    assert h.client.get(f"{base}/role_list").status_code == 200
    assert h.client.delete(f"{base}/role/{created.json['id']}").status_code == 403
    h.act_as("admin")
    assert h.client.delete(f"{base}/role/{created.json['id']}").json["code"] == "Deleted"


def test_bookmarks(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    made = h.client.post(
        "/v0.10/bookmark", json={"endpoint_id": lab, "path": "/data/", "name": "d"}
    )
    assert made.status_code == 200 and made.json["DATA_TYPE"] == "bookmark"
    assert (
        h.client.post(
            "/v0.10/bookmark", json={"endpoint_id": lab, "path": "/many/", "name": "d"}
        ).status_code
        == 409
    )
    assert (
        h.client.post(
            "/v0.10/bookmark", json={"endpoint_id": lab, "path": "/README.txt", "name": "f"}
        ).status_code
        == 400
    )
    mark = made.json["id"]
    renamed = h.client.put(f"/v0.10/bookmark/{mark}", json={"name": "data"}).json
    assert renamed["name"] == "data" and renamed["path"] == "/data/"
    assert [b["name"] for b in h.client.get("/v0.10/bookmark_list").json["DATA"]] == ["data"]
    h.act_as("outsider")
    assert h.client.get(f"/v0.10/bookmark/{mark}").json["code"] == "BookmarkNotFound"
    assert h.client.get("/v0.10/bookmark_list").json["DATA"] == []
    h.act_as("researcher")
    assert h.client.delete(f"/v0.10/bookmark/{mark}").json["code"] == "Deleted"


def test_endpoint_search_scopes_and_paging(transfer_harness):
    h = transfer_harness

    def names(**params):
        doc = h.client.get("/v0.10/endpoint_search", query_string=params).json
        return sorted(d["display_name"] for d in doc["DATA"])

    assert names(filter_fulltext="archive") == ["Archive"]
    assert names(filter_scope="shared-with-me") == ["Shared Results"]
    assert names(filter_scope="my-endpoints") == []
    assert names(filter_scope="all") == [
        "Archive",
        "Lab Storage",
        "Partner Cluster",
        "Shared Results",
    ]
    page = h.client.get("/v0.10/endpoint_search?filter_scope=all&limit=2").json
    assert page["has_next_page"] is True and len(page["DATA"]) == 2 and "_rank" in page["DATA"][0]
    h.act_as("admin")
    assert names(filter_scope="administered-by-me") == [
        "Archive",
        "Lab Storage",
        "Partner Cluster",
        "Shared Results",
    ]
    assert names(filter_scope="shared-by-me") == ["Shared Results"]
    assert names(filter_scope="recently-used") == []
    h.client.get(f"/v0.10/operation/endpoint/{h.collections['Archive']}/ls")
    assert names(filter_scope="recently-used") == ["Archive"]
    time.sleep(0.01)  # not ordering anything: two ls calls must get distinct last_used times
    h.client.get(f"/v0.10/operation/endpoint/{h.collections['Lab Storage']}/ls")
    recent = h.client.get("/v0.10/endpoint_search?filter_scope=recently-used").json["DATA"]
    assert [d["display_name"] for d in recent] == ["Lab Storage", "Archive"]  # newest first
    guest = h.client.get(f"/v0.10/endpoint/{h.collections['Shared Results']}").json
    assert guest["entity_type"] == "GCSv5_guest_collection" and guest["acl_editable"] is True
    assert guest["host_endpoint_id"] == h.collections["Lab Storage"]


def test_endpoint_manager_sees_tasks_on_monitored_collections(transfer_harness):
    h = transfer_harness
    lab, archive = h.collections["Lab Storage"], h.collections["Archive"]
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": archive,
            "DATA": [{"source_path": "/README.txt", "destination_path": "/r"}],
        },
    )
    h.wait(sub["task_id"])
    em = "/v0.10/endpoint_manager"
    assert h.client.get(f"{em}/task/{sub['task_id']}").status_code == 403
    h.act_as("admin")
    assert h.client.get(f"{em}/task_list").status_code == 400  # needs a narrowing filter
    listed = h.client.get(f"{em}/task_list?filter_endpoint={lab}&limit=1").json
    assert [t["task_id"] for t in listed["DATA"]] == [sub["task_id"]]
    assert listed["DATA"][0]["owner_string"] == "researcher@uni.example"
    doc = h.client.get(f"{em}/task/{sub['task_id']}").json
    assert doc["source_host_endpoint_id"] is None and doc["status"] == "SUCCEEDED"
    events = h.client.get(f"{em}/task/{sub['task_id']}/event_list").json
    assert {e["code"] for e in events["DATA"]} == {"STARTED", "SUCCEEDED"}
    h.act_as("outsider")
    assert h.client.get(f"{em}/task_list?filter_endpoint={lab}").status_code == 403


def test_admin_cancel(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    # The engine held still: the task is certainly not finished when the admin cancels.
    h.app.extensions["localglobus"].engine.stop()
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "sync_level": 3,
            "verify_checksum": True,
            "DATA": [{"source_path": "/many/", "destination_path": "/c/", "recursive": True}],
        },
    )
    h.act_as("admin")
    resp = h.client.post(
        "/v0.10/endpoint_manager/admin_cancel",
        json={"DATA_TYPE": "admin_cancel", "task_id_list": [sub["task_id"]], "message": "maint"},
    )
    assert resp.status_code == 200 and resp.json["done"] is True
    assert resp.json["processed_task_id_list"] == [sub["task_id"]]
    h.act_as("researcher")
    task = h.client.get(f"/v0.10/task/{sub['task_id']}").json
    assert task["status"] == "FAILED"
    assert task["fatal_error"]["code"] == "CANCELED"
    assert task["canceled_by_admin"] == "BOTH"
    assert task["canceled_by_admin_message"] == "maint"
