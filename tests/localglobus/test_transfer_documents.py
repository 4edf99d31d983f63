"""localglobus's documents carry every field of the recorded real Globus responses
(tests/fixtures/globus-cli-recorded)."""

from __future__ import annotations

import yaml

from tests.conftest import RECORDED

FIXTURES = RECORDED


def recorded(name: str, data_type: str | None = None, path_end: str = "") -> list[dict]:
    """The recorded JSON bodies of `name` (with DATA_TYPE `data_type`, path ending so)."""
    found = []
    for responses in yaml.safe_load((FIXTURES / name).read_text()).values():
        if not isinstance(responses, list):
            continue
        for response in responses:
            body = response.get("json")
            if not isinstance(body, dict) or not response.get("path", "").endswith(path_end):
                continue
            if data_type is None or body.get("DATA_TYPE") == data_type:
                found.append(body)
    return found


def keys(docs: list[dict]) -> set[str]:
    return set().union(*(set(d) for d in docs))


def test_endpoint_documents(transfer_harness):
    h = transfer_harness
    real = recorded("endpoint_role_operations.yaml", "endpoint") + recorded(
        "collection_operations.yaml", "endpoint"
    )
    for name in ("Lab Storage", "Shared Results"):
        doc = h.client.get(f"/v0.10/endpoint/{h.collections[name]}").json
        assert keys(real) <= set(doc)
    search = h.client.get("/v0.10/endpoint_search?filter_scope=all").json
    real_list = recorded("endpoint_operations.yaml", "endpoint_list")[0]
    assert set(real_list) <= set(search)
    assert keys(real_list["DATA"]) <= set(search["DATA"][0])


def test_task_documents_and_subresources(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "skip_source_errors": True,
            "DATA": [
                {"source_path": "/README.txt", "destination_path": "/doc-copy"},
                {"source_path": "/missing", "destination_path": "/doc-missing"},
            ],
        },
    )
    task_id = sub["task_id"]
    h.wait(task_id)
    real_list = recorded("task_list.yaml", "task_list")[0]
    listing = h.client.get("/v0.10/task_list").json
    assert set(real_list) <= set(listing)
    real_task = real_list["DATA"] + recorded("submit_delete_failed.yaml")
    real_task = [d for d in real_task if "task_id" in d and "status" in d]
    assert keys(real_task) <= set(listing["DATA"][0])
    events = h.client.get(f"/v0.10/task/{task_id}/event_list").json
    real_events = recorded("task_event_list.yaml", "event_list")[0]
    assert set(real_events) <= set(events)
    assert keys(real_events["DATA"]) == keys(events["DATA"])
    skipped = h.client.get(f"/v0.10/task/{task_id}/skipped_errors").json["DATA"]
    real_skipped = recorded("skipped_error_list.yaml")[0]["DATA"]
    assert keys(real_skipped) == set(skipped[0])
    result = recorded("submit_delete_queued.yaml", "delete_result")[0]
    deleted = h.submit("delete", {"endpoint": lab, "DATA": [{"path": "/doc-copy"}]})
    assert set(result) == set(deleted)


def test_bookmark_access_and_rename_documents(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    mark = h.client.post("/v0.10/bookmark", json={"endpoint_id": lab, "path": "/d/", "name": "b"})
    real_mark = recorded("bookmark_list.yaml", None, "/bookmark_list")[0]["DATA"][0]
    assert set(real_mark) == set(mark.json)
    renamed = h.client.post(
        f"/v0.10/operation/endpoint/{lab}/rename",
        json={"old_path": "/README.txt", "new_path": "/README.md"},
    ).json
    assert set(recorded("rename_result.yaml")[0]) == set(renamed)
    h.act_as("admin")
    shared = h.collections["Shared Results"]
    rules = h.client.get(f"/v0.10/endpoint/{shared}/access_list").json["DATA"]
    real_rule = recorded("endpoint_acl_operations.yaml", "access")[0]
    assert set(real_rule) <= set(rules[-1])
    created = h.client.post(
        f"/v0.10/endpoint/{shared}/access",
        json={
            "principal_type": "all_authenticated_users",
            "principal": "",
            "path": "/results/",
            "permissions": "r",
        },
    ).json
    assert set(recorded("endpoint_acl_operations.yaml", "access_create_result")[0]) == set(created)


def test_gcsv5_documents_name_their_gcs_manager_and_data_server(transfer_harness):
    h = transfer_harness
    lab = h.client.get(f"/v0.10/endpoint/{h.collections['Lab Storage']}").json
    recorded_guest = recorded("collection_operations.yaml", "endpoint")[0]

    # The recorded ones are https://<host> and tlsftp://<host>:443; localglobus is the host.
    assert recorded_guest["gcs_manager_url"].startswith("https://")
    assert lab["gcs_manager_url"] == "https://localhost:443"
    assert lab["tlsftp_server"] == "tlsftp://localhost:443"


def test_my_shared_endpoint_list_lists_the_guests_the_caller_manages(transfer_harness):
    h = transfer_harness
    url = f"/v0.10/endpoint/{h.collections['Lab Storage']}/my_shared_endpoint_list"

    mine = h.act_as("admin").client.get(url).json  # admin owns Shared Results
    theirs = h.act_as("researcher").client.get(url).json  # researcher may only read it

    assert mine["DATA_TYPE"] == "endpoint_list"
    assert [d["display_name"] for d in mine["DATA"]] == ["Shared Results"]
    assert mine["DATA"][0]["entity_type"] == "GCSv5_guest_collection"
    assert theirs["DATA"] == []


def test_the_label_filter_takes_globus_wildcards_and_alternatives(transfer_harness):
    h = transfer_harness
    labels = ["Nightly run 1", "nightly backup", "weekly run", "50% done"]
    for label in labels:
        h.submit(
            "delete",
            {
                "endpoint": h.collections["Archive"],
                "label": label,
                "ignore_missing": True,
                "DATA": [{"DATA_TYPE": "delete_item", "path": "/nothing-here"}],
            },
        )

    def found(clause: str) -> set[str]:
        data = h.client.get("/v0.10/task_list", query_string={"filter": clause}).json["DATA"]
        return {t["label"] for t in data}

    assert found("label:~*run*") == {"Nightly run 1", "weekly run"}
    assert found("label:~nightly*") == {"Nightly run 1", "nightly backup"}  # ignores case
    assert found("label:~run") == set()  # the whole label, not a part of it
    assert found("label:=weekly run") == {"weekly run"}
    assert found("label:!~*run*") == {"nightly backup", "50% done"}
    assert found("label:~*run*,~*backup") == {"Nightly run 1", "weekly run", "nightly backup"}
    assert found("label:~nightly*,!~*backup") == {"Nightly run 1"}
    assert found("label:~5*%*") == {"50% done"} and found("label:~%*") == set()
