"""ls, stat, mkdir, rename and the path rules, in process (real files, real engine)."""

from __future__ import annotations

import os

import pytest
import yaml

from tests.conftest import RECORDED

FIXTURES = RECORDED


def _recorded_ls_entry() -> dict:
    data = yaml.safe_load((FIXTURES / "ls_results.yaml").read_text())
    return data["transfer"][0]["json"]


def test_ls_document_has_the_fields_globus_sends(transfer_harness):
    lab = transfer_harness.collections["Lab Storage"]
    resp = transfer_harness.client.get(
        f"/v0.10/operation/endpoint/{lab}/ls", query_string={"path": "/~/", "show_hidden": 0}
    )
    assert resp.status_code == 200
    recorded = _recorded_ls_entry()
    doc = resp.json
    assert set(doc) == set(recorded)
    assert set(doc["DATA"][0]) == set(recorded["DATA"][0])
    assert doc["path"] == "/~/"
    assert [e["name"] for e in doc["DATA"]] == ["README.txt", "data", "large", "many", "shared"]
    readme = doc["DATA"][0]
    assert readme["type"] == "file" and readme["permissions"].startswith("0")
    assert readme["last_modified"][10] == " " and readme["last_modified"].endswith("+00:00")


def test_ls_orderby_filters_and_paging(transfer_harness):
    lab = transfer_harness.collections["Lab Storage"]
    url = f"/v0.10/operation/endpoint/{lab}/ls"
    resp = transfer_harness.client.get(
        url, query_string={"path": "/many", "filter": "name:~file-00*", "orderby": "name DESC"}
    )
    names = [e["name"] for e in resp.json["DATA"]]
    assert resp.json["path"] == "/many/"
    assert len(names) == 100 and names[0] == "file-0099.txt"
    resp = transfer_harness.client.get(url + "?path=/many/&limit=10&offset=995&orderby=name")
    assert resp.json["total"] == 1000 and resp.json["length"] == 5
    resp = transfer_harness.client.get(
        url + "?path=/&filter=type:dir&filter=name:!~l*&orderby=type,name DESC"
    )
    assert [e["name"] for e in resp.json["DATA"]] == ["shared", "many", "data"]


def test_big_folder_pages_stay_true_after_the_folder_changes(transfer_harness):
    """Pages of a big folder come from a cached sorted listing; a change to the folder
    (add, remove, rename) must show on the next page asked for."""
    lab = transfer_harness.collections["Lab Storage"]
    big = transfer_harness.root("Lab Storage") / "big"
    big.mkdir()
    for i in range(6000):
        (big / f"f{i:05d}").touch()
    old = os.stat(big).st_mtime - 5
    os.utime(big, (old, old))  # older than the timestamp tick: the listing may be cached
    url = f"/v0.10/operation/endpoint/{lab}/ls?path=/big/&orderby=name DESC&limit=3"

    def first_names():
        doc = transfer_harness.client.get(url).json
        return doc["total"], [e["name"] for e in doc["DATA"]]

    assert first_names() == (6000, ["f05999", "f05998", "f05997"])
    assert first_names() == (6000, ["f05999", "f05998", "f05997"])  # from the cache
    (big / "g-new").touch()
    assert first_names() == (6001, ["g-new", "f05999", "f05998"])
    (big / "g-new").rename(big / "a-first")
    doc = transfer_harness.client.get(url.replace("DESC", "ASC")).json
    assert [e["name"] for e in doc["DATA"]] == ["a-first", "f00000", "f00001"]
    assert doc["DATA"][0]["size"] == 0 and doc["DATA"][0]["DATA_TYPE"] == "file"


@pytest.mark.parametrize(
    "path",
    ["/../etc", "/~/../../etc", "/a/%2e%2e/b", "/a\x00b", "/data/..", "..", "/a\\..\\b"],
)
def test_paths_that_could_leave_the_root_are_refused(transfer_harness, path):
    lab = transfer_harness.collections["Lab Storage"]
    resp = transfer_harness.client.get(
        f"/v0.10/operation/endpoint/{lab}/ls", query_string={"path": path}
    )
    assert resp.status_code in (400, 403)
    assert resp.mimetype == "application/json" and resp.json["code"]


def test_symlinks_outside_the_root_are_refused_and_hidden(transfer_harness, tmp_path):
    root = transfer_harness.root("Lab Storage")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("x")
    os.symlink(secret, root / "escape")
    os.symlink("README.txt", root / "readme-link")
    lab = transfer_harness.collections["Lab Storage"]
    client = transfer_harness.client
    resp = client.get(f"/v0.10/operation/endpoint/{lab}/ls?path=/escape/")
    assert resp.status_code == 403 and resp.json["code"] == "EndpointPermissionDenied"
    entries = {
        e["name"]: e for e in client.get(f"/v0.10/operation/endpoint/{lab}/ls?path=/").json["DATA"]
    }
    assert entries["escape"]["type"] == "invalid_symlink"
    assert entries["escape"]["link_target"] is None
    assert entries["readme-link"]["type"] == "file"
    assert entries["readme-link"]["link_target"] == "/README.txt"
    sub = transfer_harness.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": lab,
            "DATA": [{"source_path": "/escape/key", "destination_path": "/stolen"}],
        },
    )
    task = transfer_harness.wait(sub["task_id"])
    assert task["status"] == "FAILED" and not (root / "stolen").exists()


def test_stat_mkdir_rename(transfer_harness):
    lab = transfer_harness.collections["Lab Storage"]
    client = transfer_harness.client
    base = f"/v0.10/operation/endpoint/{lab}"
    resp = client.get(f"{base}/stat?path=/nothing-here")
    assert resp.status_code == 404 and resp.json["code"] == "NotFound"
    resp = client.post(f"{base}/mkdir", json={"DATA_TYPE": "mkdir", "path": "/~/newdir"})
    assert resp.status_code == 200 and resp.json["code"] == "DirectoryCreated"
    assert resp.json["DATA_TYPE"] == "mkdir_result"
    resp = client.post(f"{base}/mkdir", json={"DATA_TYPE": "mkdir", "path": "/~/newdir"})
    assert resp.status_code == 502 and resp.json["code"] == "ExternalError.MkdirFailed.Exists"
    resp = client.post(
        f"{base}/rename", json={"DATA_TYPE": "rename", "old_path": "/newdir", "new_path": "/d2"}
    )
    assert resp.json["code"] == "FileRenamed"
    assert (transfer_harness.root("Lab Storage") / "d2").is_dir()
    stat = client.get(f"{base}/stat?path=/d2").json
    assert stat["DATA_TYPE"] == "file" and stat["type"] == "dir" and stat["name"] == "d2"


def test_mapped_collection_without_consent_answers_consent_required(transfer_harness):
    transfer_harness.act_as("researcher", consent=False)
    lab = transfer_harness.collections["Lab Storage"]
    resp = transfer_harness.client.get(f"/v0.10/operation/endpoint/{lab}/ls?path=/")
    assert resp.status_code == 403 and resp.mimetype == "application/json"
    body = resp.json
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{lab}/data_access]"
    )
    assert body["code"] == "ConsentRequired"
    assert body["message"] == "Missing required data_access consent"
    assert body["required_scopes"] == [scope]
    assert body["authorization_parameters"] == {
        "required_scopes": [scope],
        "session_message": "Missing required data_access consent",
    }
    assert body["resource"] == f"/operation/endpoint/{lab}/ls"


def test_guest_collection_follows_its_access_rules(transfer_harness):
    shared = transfer_harness.collections["Shared Results"]
    client = transfer_harness.client
    base = f"/v0.10/operation/endpoint/{shared}"
    # researcher holds `r` on `/`: may list, may not write
    assert client.get(f"{base}/ls?path=/").status_code == 200
    resp = client.post(f"{base}/mkdir", json={"path": "/x"})
    assert resp.status_code == 403
    transfer_harness.act_as("outsider")
    assert client.get(f"{base}/ls?path=/").status_code == 403
    transfer_harness.act_as("admin", consent=False)
    assert client.post(f"{base}/mkdir", json={"path": "/x"}).status_code == 200
    assert (transfer_harness.root("Lab Storage") / "shared" / "x").is_dir()
