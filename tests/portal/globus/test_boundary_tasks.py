"""The task boundary (app.globus.tasks) against real recorded Globus responses: globus-sdk's
own fixtures (`globus_sdk.testing`) and globus-cli's (tests/fixtures/globus-cli-recorded).
Each test checks the exact request sent and the wrappers parsed from the answer."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import globus_sdk
import pytest
import requests
import responses
import yaml
from globus_sdk.testing import get_last_request, load_response
from globus_sdk.transport import RequestsTransport, RetryConfig

from app.errors import BadInput, ConsentRequired, GlobusUnavailable
from app.globus import tasks
from tests.conftest import RECORDED

TRANSFER = "https://transfer.api.globus.org"
SUBMISSION_ID = "5902daab-ffea-4e83-84f6-f69e5f8b7bb3"
SRC = "aa752cea-8222-5bc8-acd9-555b090c0ccb"
DST = "313ce13e-b597-5858-ae13-29e46fea26e6"


@pytest.fixture
def rsps(monkeypatch):
    """A mocked Globus at the production URLs the recorded fixtures use, and a boundary
    whose client has no SDK retries (so every retry seen is the boundary's own)."""

    def transfer_client(user_id):
        return globus_sdk.TransferClient(
            authorizer=globus_sdk.AccessTokenAuthorizer(f"token-of-{user_id}"),
            transport=RequestsTransport(http_timeout=5),
            retry_config=RetryConfig(max_retries=0),
        )

    monkeypatch.setattr(tasks.client, "transfer_client", transfer_client)
    monkeypatch.setattr(tasks, "SUBMIT_BACKOFF", 0)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def replay(rsps, name: str) -> dict:
    """Register every response of a globus-cli recorded file; return its metadata."""
    doc = yaml.safe_load((RECORDED / name).read_text())
    for item in doc["transfer"]:
        rsps.add(
            (item.get("method") or "get").upper(),
            TRANSFER + item["path"],
            json=item["json"],
            status=item.get("status", 200),
        )
    return doc.get("metadata") or {}


def query(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query, keep_blank_values=True)


def transfer_document(**extra) -> dict:
    return {
        "DATA_TYPE": "transfer",
        "submission_id": SUBMISSION_ID,
        "source_endpoint": SRC,
        "destination_endpoint": DST,
        "verify_checksum": True,
        "DATA": [
            {
                "DATA_TYPE": "transfer_item",
                "source_path": "/~/dir1/",
                "destination_path": "/~/dir2/",
                "recursive": True,
            }
        ],
        **extra,
    }


def test_get_submission_id_asks_globus_for_a_fresh_one(rsps):
    meta = load_response(globus_sdk.TransferClient.get_submission_id, requests_mock=rsps).metadata
    assert tasks.get_submission_id(7) == meta["submission_id"]
    request = get_last_request(requests_mock=rsps)
    assert request.method == "GET"
    assert urlsplit(request.url).path == "/v0.10/submission_id"
    assert request.headers["Authorization"] == "Bearer token-of-7"


def test_submit_transfer_sends_the_document_exactly_as_stored(rsps):
    meta = load_response(globus_sdk.TransferClient.submit_transfer, requests_mock=rsps).metadata
    document = transfer_document(
        label="nightly", sync_level=3, deadline="2030-01-01T00:00:00+00:00"
    )
    result = tasks.submit_transfer(7, document)
    request = get_last_request(requests_mock=rsps)
    assert (request.method, urlsplit(request.url).path) == ("POST", "/v0.10/transfer")
    assert json.loads(request.body) == document
    assert (result.task_id, result.code) == (meta["task_id"], "Accepted")
    assert len(rsps.calls) == 1  # the submission_id was there: no GET /submission_id


def test_submit_transfer_refused_is_bad_input_and_not_retried(rsps):
    load_response(globus_sdk.TransferClient.submit_transfer, case="failure", requests_mock=rsps)
    with pytest.raises(BadInput, match="A transfer requires at least one item"):
        tasks.submit_transfer(7, transfer_document(DATA=[]))
    assert len(rsps.calls) == 1


def test_submit_transfer_reuses_submission_id_after_timeout(rsps):
    task_id = "42277910-0c18-11ec-ba76-138ac5bdb19f"
    answers = iter([requests.ReadTimeout("read timed out"), None])

    def flaky(request):
        error = next(answers)
        if error is not None:
            raise error
        body = {"DATA_TYPE": "transfer_result", "code": "Duplicate", "task_id": task_id}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    rsps.add_callback(responses.POST, f"{TRANSFER}/v0.10/transfer", callback=flaky)
    result = tasks.submit_transfer(7, transfer_document())
    assert len(rsps.calls) == 2
    assert {json.loads(c.request.body)["submission_id"] for c in rsps.calls} == {SUBMISSION_ID}
    assert (result.task_id, result.code, result.submission_id) == (
        task_id,
        "Duplicate",
        SUBMISSION_ID,
    )


def test_submit_gives_up_after_its_attempts_as_globus_unavailable(rsps):
    rsps.add(responses.POST, f"{TRANSFER}/v0.10/transfer", body=requests.ConnectionError("reset"))
    with pytest.raises(GlobusUnavailable):
        tasks.submit_transfer(7, transfer_document())
    assert len(rsps.calls) == tasks.SUBMIT_ATTEMPTS


def test_submit_transfer_consent_required_names_the_scopes(rsps):
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{SRC}/data_access]"
    )
    body = {
        "authorization_parameters": {
            "required_scopes": [scope],
            "session_message": "Missing required data_access consent",
        },
        "code": "ConsentRequired",
        "message": "Missing required data_access consent",
        "request_id": "m8RfX3cES",
        "required_scopes": [scope],
        "resource": "/transfer",
    }
    rsps.add(responses.POST, f"{TRANSFER}/v0.10/transfer", json=body, status=403)
    with pytest.raises(ConsentRequired) as raised:
        tasks.submit_transfer(7, transfer_document())
    assert raised.value.required_scopes == [scope]
    assert len(rsps.calls) == 1


def test_submit_delete_and_the_recorded_delete_task(rsps):
    meta = replay(rsps, "submit_delete_success.yaml")
    document = {
        "DATA_TYPE": "delete",
        "submission_id": SUBMISSION_ID,
        "endpoint": SRC,
        "recursive": True,
        "ignore_missing": False,
        "interpret_globs": False,
        "DATA": [{"DATA_TYPE": "delete_item", "path": "/~/old/"}],
    }
    result = tasks.submit_delete(7, document)
    assert json.loads(rsps.calls[0].request.body) == document
    assert urlsplit(rsps.calls[0].request.url).path == "/v0.10/delete"
    assert result.task_id == meta["task_id"]

    task = tasks.get_task(7, meta["task_id"])
    assert urlsplit(rsps.calls[1].request.url).path == f"/v0.10/task/{meta['task_id']}"
    assert task.type == "DELETE" and not task.is_transfer
    assert task.status == "SUCCEEDED" and task.is_done and not task.is_active
    assert task.percent_done == 100
    assert task.source_display == "Globus Tutorial Endpoint 1"
    assert task.destination_display == "—"
    assert task.options_display == []


def test_recorded_failed_delete_task_explains_its_fatal_error(rsps):
    meta = replay(rsps, "submit_delete_failed.yaml")
    task = tasks.get_task(7, meta["task_id"])
    assert task.status == "FAILED" and task.status_display == "Failed"
    assert task.fatal_error is not None
    assert task.status_detail
    assert task.percent_done == 0  # its one subtask failed: nothing was deleted


def test_recorded_queued_delete_task_reads_queued(rsps):
    meta = replay(rsps, "submit_delete_queued.yaml")
    task = tasks.get_task(7, meta["task_id"])
    assert task.is_active and task.status_display == "Queued"
    assert task.percent_done == 0
    assert task.status_detail is None


def test_task_list_sends_newest_first_with_filters(rsps):
    replay(rsps, "task_list.yaml")
    page = tasks.task_list(
        7,
        limit=25,
        offset=50,
        statuses=["SUCCEEDED"],
        types=["TRANSFER"],
        label_contains="nightly run",
        requested_after="2021-09-01 00:00:00",
        requested_before="2021-09-03 00:00:00",
    )
    sent = query(rsps.calls[0].request)
    assert sent == {
        "limit": ["25"],
        "offset": ["50"],
        "orderby": ["request_time DESC"],
        "filter": [
            "type:TRANSFER/status:SUCCEEDED/label:~*nightly run*"
            "/request_time:2021-09-01 00:00:00,2021-09-03 00:00:00"
        ],
    }
    assert page.total == 1 and not page.has_next
    (task,) = page.tasks
    assert task.task_id == "42277910-0c18-11ec-ba76-138ac5bdb19f"
    assert task.status_display == "Succeeded"
    assert task.percent_done == 100
    assert task.source_display == "Globus Tutorial Endpoint 1"
    assert task.destination_display == "Globus Tutorial Endpoint 2"
    assert task.speed_display == "3 Bytes/s"
    assert task.bytes_display == "4 Bytes"
    assert task.files_display == "1 of 1 file"
    assert task.title == "Transfer 42277910"
    assert task.request_time.isoformat() == "2021-09-02T18:04:47+00:00"
    assert ("Verify checksum", "yes") in task.options_display


def test_task_list_without_filters_asks_for_both_types(rsps):
    load_response(globus_sdk.TransferClient.task_list, requests_mock=rsps)
    page = tasks.task_list(7)
    assert query(get_last_request(requests_mock=rsps)) == {
        "limit": ["25"],
        "offset": ["0"],
        "orderby": ["request_time DESC"],
        "filter": ["type:TRANSFER,DELETE"],
    }
    assert page.tasks and page.tasks[0].destination_display == "Destination Endpoint"


def test_task_event_list_parses_recorded_events(rsps):
    meta = replay(rsps, "task_event_list.yaml")
    page = tasks.task_event_list(7, meta["task_id"], limit=10, offset=0)
    request = rsps.calls[0].request
    assert urlsplit(request.url).path == f"/v0.10/task/{meta['task_id']}/event_list"
    assert query(request) == {"limit": ["10"], "offset": ["0"]}
    assert [e.code for e in page.events] == ["CANCELED", "PERMISSION_DENIED", "STARTED"]
    assert page.events[0].is_error and not page.events[2].is_error
    assert "Path not allowed" in page.events[1].details
    assert page.events[0].time.isoformat() == "2021-10-06T16:14:05+00:00"
    assert page.total == 3 and not page.has_next


def test_task_skipped_errors_parses_recorded_errors(rsps):
    meta = replay(rsps, "skipped_error_list.yaml")
    page = tasks.task_skipped_errors(7, meta["task_id"])
    request = rsps.calls[0].request
    assert urlsplit(request.url).path == f"/v0.10/task/{meta['task_id']}/skipped_errors"
    assert query(request) == {}
    assert [e.error_code for e in page.items] == ["FILE_NOT_FOUND", "PERMISSION_DENIED"]
    assert page.items[1].source_path == "/~/restricted-file"
    assert "Ⓤ" in page.items[1].error_details  # unicode survives
    assert page.next_marker is None


def test_task_successful_transfers_follows_the_marker(rsps):
    task_id = "42277910-0c18-11ec-ba76-138ac5bdb19f"
    url = f"{TRANSFER}/v0.10/task/{task_id}/successful_transfers"
    item = {"DATA_TYPE": "successful_transfer", "source_path": "/a", "destination_path": "/b"}
    rsps.add(
        responses.GET,
        url,
        json={
            "DATA_TYPE": "successful_transfers",
            "marker": 0,
            "next_marker": 93979,
            "DATA": [item],
        },
    )
    page = tasks.task_successful_transfers(7, task_id, marker="17")
    assert query(rsps.calls[0].request) == {"marker": ["17"]}
    assert page.next_marker == "93979" and page.marker == "17"
    assert page.items[0].destination_path == "/b" and page.items[0].size_display == "—"


def test_cancel_task_posts_to_cancel(rsps):
    meta = load_response(globus_sdk.TransferClient.cancel_task, requests_mock=rsps).metadata
    code, message = tasks.cancel_task(7, meta["task_id"])
    request = get_last_request(requests_mock=rsps)
    assert (request.method, urlsplit(request.url).path) == (
        "POST",
        f"/v0.10/task/{meta['task_id']}/cancel",
    )
    assert (code, message) == ("Canceled", "The task has been cancelled successfully.")


def test_update_task_puts_only_label_and_deadline(rsps):
    task_id = "42277910-0c18-11ec-ba76-138ac5bdb19f"
    rsps.add(
        responses.PUT,
        f"{TRANSFER}/v0.10/task/{task_id}",
        json={"DATA_TYPE": "result", "code": "Updated", "message": "Task updated successfully"},
    )
    message = tasks.update_task(7, task_id, label="new", deadline="2031-01-01T00:00:00+00:00")
    assert json.loads(rsps.calls[0].request.body) == {
        "DATA_TYPE": "task",
        "label": "new",
        "deadline": "2031-01-01T00:00:00+00:00",
    }
    assert message == "Task updated successfully"


def test_pause_info_collects_messages_and_rules(rsps):
    task_id = "42277910-0c18-11ec-ba76-138ac5bdb19f"
    rsps.add(
        responses.GET,
        f"{TRANSFER}/v0.10/task/{task_id}/pause_info",
        json={
            "DATA_TYPE": "pause_info_limited",
            "pause_rules": [{"DATA_TYPE": "pause_rule_limited", "message": "Maintenance"}],
            "source_pause_message": "Disk replacement",
            "destination_pause_message": None,
        },
    )
    info = tasks.task_pause_info(7, task_id)
    assert info.messages == ["Disk replacement"] and info.rules == ["Maintenance"]
    assert not info.is_empty


def test_submit_starts_no_new_attempt_past_its_time_budget(rsps, monkeypatch):
    monkeypatch.setattr(tasks, "SUBMIT_BUDGET", 0)
    rsps.add(responses.POST, f"{TRANSFER}/v0.10/transfer", body=requests.ReadTimeout("slow"))
    with pytest.raises(GlobusUnavailable):
        tasks.submit_transfer(7, transfer_document())
    assert len(rsps.calls) == 1
