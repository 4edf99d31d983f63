"""globus-sdk's TransferClient against the live localglobus, with a user signed in through
the real sign-in and consent pages. Work happens in a folder of its own per test."""

from __future__ import annotations

import hashlib
import uuid

import globus_sdk
import pytest


@pytest.fixture(scope="module")
def researcher(transfer_live):
    return transfer_live.transfer_client(transfer_live.user_token("researcher"))


@pytest.fixture
def folder():
    return f"/sdk-{uuid.uuid4().hex[:8]}"


def test_ls_mkdir_rename_stat(transfer_live, researcher, folder):
    lab = transfer_live.collections["Lab Storage"]
    listing = researcher.operation_ls(lab, path="/~/", show_hidden=False, orderby="name")
    names = [entry["name"] for entry in listing]
    assert {"README.txt", "data", "large", "many"} <= set(names)
    filtered = researcher.operation_ls(
        lab, path="/many/", filter=["type:file", "name:~file-01*"], limit=5, offset=0
    )
    assert filtered["total"] == 100 and filtered["length"] == 5
    researcher.operation_mkdir(lab, f"/~{folder}")
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        researcher.operation_mkdir(lab, f"/~{folder}")
    assert err.value.http_status == 502 and err.value.code == "ExternalError.MkdirFailed.Exists"
    researcher.operation_rename(lab, folder, folder + "-b")
    stat = researcher.operation_stat(lab, folder + "-b")
    assert stat["type"] == "dir"
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        researcher.operation_stat(lab, folder)
    assert err.value.code == "NotFound"


def test_transfer_data_delete_data_and_paginators(transfer_live, researcher, folder):
    lab = transfer_live.collections["Lab Storage"]
    archive = transfer_live.collections["Archive"]
    tdata = globus_sdk.TransferData(
        lab, archive, label="sdk copy", sync_level="checksum", verify_checksum=True
    )
    tdata.add_item("/many/", f"{folder}/many/", recursive=True)
    tdata.add_item("/large/sample-1.bin", f"{folder}/one.bin")
    submitted = researcher.submit_transfer(tdata)
    assert submitted["code"] == "Accepted"
    task_id = submitted["task_id"]
    assert researcher.task_wait(task_id, timeout=60, polling_interval=1)
    task = researcher.get_task(task_id)
    assert task["status"] == "SUCCEEDED" and task["files_transferred"] == 1001
    src, dst = transfer_live.root("Lab Storage"), transfer_live.root("Archive")
    one = (dst / folder.lstrip("/") / "one.bin").read_bytes()
    assert one == (src / "large/sample-1.bin").read_bytes()

    done = list(researcher.paginated.task_successful_transfers(task_id).items())
    assert len(done) == 1001
    big = [d for d in done if d["destination_path"] == f"{folder}/one.bin"][0]
    assert big["checksum"] == hashlib.sha256(one).hexdigest()
    events = list(researcher.paginated.task_event_list(task_id).items())
    assert [e["code"] for e in events] == ["SUCCEEDED", "STARTED"]
    mine = [t["task_id"] for t in researcher.paginated.task_list(limit=1000).items()]
    assert task_id in mine

    ddata = globus_sdk.DeleteData(archive, recursive=True, label="sdk delete")
    ddata.add_item(folder)
    deleted = researcher.submit_delete(ddata)
    assert researcher.task_wait(deleted["task_id"], timeout=30, polling_interval=1)
    assert not (dst / folder.lstrip("/")).exists()


def test_consent_required_is_what_globus_sends(transfer_live):
    token = transfer_live.with_new_client().user_token("researcher", consent_to=())
    client = transfer_live.transfer_client(token)
    archive = transfer_live.collections["Archive"]
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        client.operation_ls(archive, path="/")
    assert err.value.http_status == 403 and err.value.code == "ConsentRequired"
    assert err.value.info.consent_required
    scope = f"https://auth.globus.org/scopes/{archive}/data_access"
    assert scope in err.value.info.consent_required.required_scopes[0]


def test_errors_are_json_with_globus_codes(transfer_live, researcher):
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        researcher.get_endpoint(str(uuid.uuid4()))
    assert err.value.http_status == 404 and err.value.code == "EndpointNotFound"
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        researcher.get_task(str(uuid.uuid4()))
    assert err.value.code == "TaskNotFound"
    lab = transfer_live.collections["Lab Storage"]
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        researcher.submit_transfer(globus_sdk.TransferData(lab, lab))
    assert err.value.code == "ClientError.BadRequest.NoTransferItems"
    anonymous = globus_sdk.TransferClient(base_url=transfer_live.lg.base_url)
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        anonymous.get_submission_id()
    assert err.value.http_status == 401 and err.value.code == "ClientError.AuthenticationFailed"


def test_endpoint_search_paginator_and_documents(transfer_live, researcher):
    found = list(researcher.paginated.endpoint_search(filter_scope="all").items())
    names = {e["display_name"] for e in found}
    assert {"Lab Storage", "Archive", "Shared Results"} <= names
    shared = transfer_live.collections["Shared Results"]
    doc = researcher.get_endpoint(shared)
    assert doc["entity_type"] == "GCSv5_guest_collection"
    assert doc["host_endpoint_id"] == transfer_live.collections["Lab Storage"]
    assert doc["owner_string"] == "admin@uni.example" and doc["my_effective_roles"] == []
    listed = researcher.operation_ls(shared, path="/")
    assert {"notes.md", "results"} <= {e["name"] for e in listed}
