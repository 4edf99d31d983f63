"""The collections and files boundary (app.globus.collections, app.globus.files) against
real recorded Globus responses: globus-sdk's own fixtures (`globus_sdk.testing`) and
globus-cli's (tests/fixtures/globus-cli-recorded). Each test checks the exact request
sent and the wrappers parsed from what real Globus answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import globus_sdk
import pytest
import responses
import yaml
from globus_sdk.testing import get_last_request, load_response
from globus_sdk.transport import RequestsTransport, RetryConfig
from responses import matchers

from app.errors import AlreadyExists, ConsentRequired, GlobusUnavailable, NotFound, PermissionDenied
from app.globus import client as globus_client
from app.globus import collections, files, tasks
from tests.conftest import RECORDED

TRANSFER = "https://transfer.api.globus.org"
EP = "aa752cea-8222-5bc8-acd9-555b090c0ccb"  # globus-cli's tutorial endpoint
USER = 7


@pytest.fixture
def rsps(monkeypatch):
    """A mocked Globus at the production URLs the recorded fixtures use; clients without
    SDK retries so that an error surfaces at once."""

    def transfer_client(user_id):
        return globus_sdk.TransferClient(
            authorizer=globus_sdk.AccessTokenAuthorizer(f"token-of-{user_id}"),
            transport=RequestsTransport(http_timeout=5),
            retry_config=RetryConfig(max_retries=0),
        )

    monkeypatch.setattr(collections, "transfer_client", transfer_client)
    monkeypatch.setattr(files, "transfer_client", transfer_client)
    monkeypatch.setattr(globus_client, "transfer_client", transfer_client)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def replay(rsps, name: str, *, match_query: bool = False) -> dict:
    """Register every Transfer response of a globus-cli recorded file; return metadata.
    With match_query, a response answers only requests carrying its recorded query."""
    doc = yaml.safe_load((RECORDED / name).read_text())
    for item in doc["transfer"]:
        match = []
        if match_query and item.get("query_params"):
            wanted = {k: str(v) for k, v in item["query_params"].items()}
            match.append(matchers.query_param_matcher(wanted, strict_match=False))
        rsps.add(
            (item.get("method") or "get").upper(),
            TRANSFER + item["path"],
            json=item["json"],
            status=item.get("status", 200),
            match=match,
        )
    return doc.get("metadata") or {}


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


def body(request) -> dict:
    return json.loads(request.body)


# -- ls -----------------------------------------------------------------------------


def test_list_folder_parses_a_real_listing_and_asks_for_one_page_sorted_at_globus(rsps):
    replay(rsps, "ls_results.yaml", match_query=True)
    listing = files.list_folder(USER, EP, "/", limit=100)
    sent = query(rsps.calls[-1].request)
    assert sent["path"] == ["/"]
    assert sent["show_hidden"] == ["0"]
    assert sent["limit"] == ["101"]  # a page plus one: "is there more?" without a count
    assert sent["offset"] == ["0"]
    assert sent["orderby"] == ["type ASC,name ASC"]
    assert "filter" not in sent
    assert listing.path == "/"
    assert [e.name for e in listing.entries] == ["home", "mnt", "not shareable", "share"]
    home = listing.entries[0]
    assert home.is_dir and home.type_label == "Folder"
    assert home.size == 24576
    assert home.permissions == "0755"
    assert home.last_modified == datetime(2021, 1, 15, 1, 45, 50, tzinfo=UTC)
    assert not home.is_symlink
    assert listing.total == 4 and listing.has_more is False
    assert (listing.first_number, listing.last_number) == (1, 4)


def test_list_folder_reads_files_in_a_subfolder(rsps):
    replay(rsps, "ls_results.yaml", match_query=True)
    listing = files.list_folder(USER, EP, "/share/godata")
    assert [e.name for e in listing.entries] == ["file1.txt", "file2.txt", "file3.txt"]
    assert all(e.type == "file" and not e.is_dir for e in listing.entries)
    assert all(isinstance(e.size, int) for e in listing.entries)


def test_list_folder_sends_filter_orderby_hidden_and_offset_for_a_later_page(rsps):
    replay(rsps, "ls_results.yaml")
    files.list_folder(
        USER,
        EP,
        "/~/",
        offset=200,
        limit=100,
        orderby="size DESC,name ASC",
        show_hidden=True,
        name_glob="*fil*",
    )
    sent = query(rsps.calls[-1].request)
    assert sent["offset"] == ["200"]
    assert sent["orderby"] == ["size DESC,name ASC"]
    assert sent["show_hidden"] == ["1"]
    assert sent["filter"] == ["name:~*fil*"]


def test_list_folder_pages_without_trusting_a_total_that_is_only_the_page_length(rsps):
    replay(rsps, "ls_results.yaml", match_query=True)
    # The recorded answer holds 4 entries with total 4: asked for 2 per page, the boundary
    # keeps 2, knows there is more, and cannot tell the folder's size.
    listing = files.list_folder(USER, EP, "/", limit=2)
    assert [e.name for e in listing.entries] == ["home", "mnt"]
    assert listing.has_more is True
    assert listing.total is None


def test_list_folder_without_a_path_lets_globus_choose_the_default_folder(rsps):
    replay(rsps, "ls_results.yaml")
    files.list_folder(USER, EP, "")
    assert "path" not in query(rsps.calls[-1].request)


def test_consent_required_on_ls_becomes_consent_required_with_its_scopes(rsps):
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{EP}/data_access]"
    )
    rsps.add(
        "GET",
        f"{TRANSFER}/v0.10/operation/endpoint/{EP}/ls",
        status=403,
        json={
            "authorization_parameters": {
                "required_scopes": [scope],
                "session_message": "Missing required data_access consent",
            },
            "code": "ConsentRequired",
            "message": "Missing required data_access consent",
            "request_id": "m8RfX3cES",
            "required_scopes": [scope],
            "resource": f"/operation/endpoint/{EP}/ls",
        },
    )
    with pytest.raises(ConsentRequired) as caught:
        files.list_folder(USER, EP, "/")
    assert caught.value.required_scopes == [scope]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "ClientError.NotFound", NotFound),
        (403, "EndpointPermissionDenied", PermissionDenied),
        (502, "ExternalError.DirListingFailed.PermissionDenied", PermissionDenied),
        (502, "ExternalError.DirListingFailed.NotFound", NotFound),
        (503, "ServiceUnavailable", GlobusUnavailable),
    ],
)
def test_ls_errors_become_portal_errors(rsps, status, code, expected):
    rsps.add(
        "GET",
        f"{TRANSFER}/v0.10/operation/endpoint/{EP}/ls",
        status=status,
        json={"code": code, "message": f"{code} happened", "request_id": "abc"},
    )
    with pytest.raises(expected):
        files.list_folder(USER, EP, "/nope/")


# -- stat, mkdir, rename ------------------------------------------------------------


def test_stat_parses_the_sdk_fixture(rsps):
    meta = load_response(globus_sdk.TransferClient.operation_stat, requests_mock=rsps).metadata
    entry = files.stat(USER, meta["endpoint_id"], "/~/file1.txt")
    assert query(get_last_request(requests_mock=rsps))["path"] == ["/~/file1.txt"]
    assert (entry.name, entry.type, entry.size) == ("file1.txt", "file", 4)
    assert entry.last_modified == datetime(2023, 12, 18, 16, 52, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "expected"), [("not_found", NotFound), ("permission_denied", PermissionDenied)]
)
def test_stat_errors_from_the_sdk_fixtures(rsps, case, expected):
    meta = load_response("transfer.operation_stat", case=case, requests_mock=rsps).metadata
    with pytest.raises(expected):
        files.stat(USER, meta["endpoint_id"], "/foo")


def test_make_folder_sends_the_mkdir_document(rsps):
    meta = load_response(globus_sdk.TransferClient.operation_mkdir, requests_mock=rsps).metadata
    files.make_folder(USER, meta["endpoint_id"], "/~/Résultats 2024")
    sent = body(get_last_request(requests_mock=rsps))
    assert sent == {"DATA_TYPE": "mkdir", "path": "/~/Résultats 2024"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ExternalError.MkdirFailed.Exists", AlreadyExists),
        ("ExternalError.MkdirFailed.PermissionDenied", PermissionDenied),
    ],
)
def test_make_folder_tells_exists_and_denied_apart(rsps, code, expected):
    rsps.add(
        "POST",
        f"{TRANSFER}/v0.10/operation/endpoint/{EP}/mkdir",
        status=502,
        json={"code": code, "message": "Command failed", "request_id": "x1"},
    )
    with pytest.raises(expected) as caught:
        files.make_folder(USER, EP, "/~/taken")
    assert caught.value.request_id == "x1"
    assert len(rsps.calls) == 1  # ExternalError is not retried


def test_rename_sends_old_and_new_path_and_reads_the_recorded_result(rsps):
    meta = replay(rsps, "rename_result.yaml")
    files.rename(USER, meta["endpoint_id"], "/~/a.txt", "/~/b.txt")
    sent = body(rsps.calls[-1].request)
    assert sent == {"DATA_TYPE": "rename", "old_path": "/~/a.txt", "new_path": "/~/b.txt"}


# -- collections ----------------------------------------------------------------------


def test_search_collections_parses_the_recorded_endpoint_search(rsps):
    replay(rsps, "endpoint_operations.yaml")
    page = collections.search_collections(USER, text="tutorial", scope="all", limit=25)
    sent = query(rsps.calls[-1].request)
    assert sent == {
        "filter_fulltext": ["tutorial"],
        "filter_scope": ["all"],
        "limit": ["25"],
        "offset": ["0"],
    }
    names = [c.display_name for c in page.collections]
    assert names == [
        "Globus S3 Tutorial Endpoint",
        "Globus Tutorial Endpoint 1",
        "Globus Tutorial Endpoint 2",
    ]
    first = page.collections[0]
    assert first.id == "cf9bcaa5-6d04-11e5-ba46-22000b92c6ec"
    assert first.owner_string == "go@globusid.org"
    assert first.type_label == "Endpoint (GCSv4)"
    assert first.description == ""  # null in the document
    assert first.role_labels == ["Activity manager", "Activity monitor"]
    assert page.has_next_page is False and page.offset == 0


def test_search_collections_omits_fulltext_for_a_scope_tab_and_caps_paging(rsps):
    replay(rsps, "endpoint_operations.yaml")
    collections.search_collections(USER, text="", scope="shared-with-me", offset=990, limit=25)
    sent = query(rsps.calls[-1].request)
    assert "filter_fulltext" not in sent
    assert sent["filter_scope"] == ["shared-with-me"]
    assert sent["offset"] == ["990"] and sent["limit"] == ["10"]  # offset + limit <= 1000


def test_get_collection_reads_the_sdk_fixture(rsps):
    meta = load_response(globus_sdk.TransferClient.get_endpoint, requests_mock=rsps).metadata
    collection = collections.get_collection(USER, meta["endpoint_id"])
    assert collection.id == meta["endpoint_id"]
    assert collection.display_name == "myserver"
    assert collection.owner_string == "auser"  # no owner_string: the username
    assert collection.organization == "My Org"
    assert collection.description == "Example gridftp endpoint."
    assert collection.host_endpoint_id is None
    assert collection.is_browsable


def test_get_collection_reads_a_recorded_guest_collection_and_a_deleted_one(rsps):
    replay(rsps, "bookmark_list.yaml")
    guest = collections.get_collection(USER, "4c5f4e22-4628-4ab7-b57d-3af25c1ed1e4")
    assert guest.type_label == "Guest collection" and guest.is_guest
    assert guest.display_name == "HTTPS Test - Guest"
    assert guest.my_effective_roles == ()
    assert not guest.requires_data_access
    with pytest.raises(NotFound) as caught:
        collections.get_collection(USER, "7b123e08-6638-11eb-8282-0275e0cda761")
    assert caught.value.request_id == "TgFtEL2lG"


def test_get_collection_with_full_recorded_document(rsps):
    replay(rsps, "endpoint_operations.yaml")
    ep2 = collections.get_collection(USER, "313ce13e-b597-5858-ae13-29e46fea26e6")
    assert ep2.display_name == "Globus Tutorial Endpoint 2"
    assert ep2.public and not ep2.high_assurance and not ep2.non_functional
    assert ep2.safe_info_link == ""


def test_a_javascript_info_link_is_never_offered():
    from app.globus.types import Collection

    doc = {"id": EP, "display_name": "x", "info_link": "javascript:alert(1)"}
    assert Collection.from_api(doc).safe_info_link == ""
    doc["info_link"] = "https://example.org/about"
    assert Collection.from_api(doc).safe_info_link == "https://example.org/about"


# -- bookmarks ------------------------------------------------------------------------


def test_list_bookmarks_parses_the_recorded_list(rsps):
    replay(rsps, "bookmark_list.yaml")
    bookmarks = collections.list_bookmarks(USER)
    assert [(b.name, b.path) for b in bookmarks] == [
        ("bm1", "/home/"),
        ("bm2", "/scratch/projects/foo"),
        ("http-test guest collection", "/"),
    ]
    assert bookmarks[0].endpoint_id == "1405823f-0597-4a16-b296-46d4f0ae4b15"
    assert bookmarks[0].id == "2f7ea128-14b3-11e7-bb75-22000b9a448b"


def test_create_rename_delete_bookmark_send_what_globus_cli_sends(rsps):
    meta = replay(rsps, "bookmark_operations.yaml")
    created = collections.create_bookmark(USER, collection_id=EP, path="/share/", name="sharebm")
    assert body(rsps.calls[-1].request) == {"endpoint_id": EP, "path": "/share/", "name": "sharebm"}
    assert created.id == meta["bookmark_id"] and created.name == "sharebm"
    assert created.endpoint_id == EP and created.path == "/share/"

    renamed = collections.rename_bookmark(USER, created.id, meta["bookmark_name_after_update"])
    request = rsps.calls[-1].request
    assert request.method == "PUT" and body(request) == {"name": "updated_sharebm"}
    assert renamed.name == "updated_sharebm"

    collections.delete_bookmark(USER, created.id)
    request = rsps.calls[-1].request
    assert request.method == "DELETE"
    assert request.url == f"{TRANSFER}/v0.10/bookmark/{created.id}"

    assert collections.get_bookmark(USER, created.id).name == "sharebm"


def test_a_missing_bookmark_is_not_found(rsps):
    bookmark_id = "0b1f7c9e-1111-4222-8333-444455556666"
    rsps.add(
        "GET",
        f"{TRANSFER}/v0.10/bookmark/{bookmark_id}",
        status=404,
        json={"code": "BookmarkNotFound", "message": "No such bookmark", "request_id": "r"},
    )
    with pytest.raises(NotFound):
        collections.get_bookmark(USER, bookmark_id)


# -- delete tasks (submitted through app.globus.tasks, write-ahead by the transfers area) --


@pytest.mark.parametrize(
    "name", ["submit_delete_queued.yaml", "submit_delete_success.yaml", "submit_delete_failed.yaml"]
)
def test_submit_delete_reads_the_recorded_delete_result(rsps, name):
    meta = replay(rsps, name)
    document = {
        "DATA_TYPE": "delete",
        "submission_id": "5902daab-ffea-4e83-84f6-f69e5f8b7bb3",
        "endpoint": EP,
        "recursive": True,
        "interpret_globs": False,
        "label": "Delete 1 item in /share/",
        "DATA": [{"DATA_TYPE": "delete_item", "path": "/share/old/"}],
    }
    result = tasks.submit_delete(USER, document)
    assert result.task_id == meta["task_id"]
    assert result.submission_id == "5902daab-ffea-4e83-84f6-f69e5f8b7bb3"
    assert body(rsps.calls[-1].request)["DATA"] == [
        {"DATA_TYPE": "delete_item", "path": "/share/old/"}
    ]
