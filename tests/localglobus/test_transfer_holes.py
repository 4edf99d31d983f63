"""Holes an attacker found in localglobus's Transfer API, each closed (issue 9, part 6):
numbers too large for the state database, and submission ids nobody issued."""

from __future__ import annotations

import uuid

import pytest

TWENTY_DIGITS = "9" * 20


@pytest.mark.parametrize(
    "route",
    [
        "/v0.10/task_list?offset={n}",
        "/v0.10/task_list?limit={n}",
        "/v0.10/operation/endpoint/{lab}/ls?path=/&offset={n}",
        "/v0.10/operation/endpoint/{lab}/ls?path=/&limit={n}",
        "/v0.10/endpoint_search?filter_fulltext=lab&offset={n}",
        "/v0.10/endpoint_manager/task_list?filter_endpoint={lab}&filter_min_faults={n}",
        "/v0.10/task/{task}/successful_transfers?marker={n}",
        "/v0.10/task/{task}/event_list?offset={n}",
    ],
)
def test_a_twenty_digit_number_is_a_400_not_a_database_overflow(transfer_harness, route):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    task = h.submit(
        "transfer",
        {
            "source_endpoint": lab,
            "destination_endpoint": h.collections["Archive"],
            "DATA": [{"source_path": "/README.txt", "destination_path": "/readme.txt"}],
        },
    )["task_id"]
    h.wait(task)
    # An administrator of Lab Storage may use the endpoint manager; the task is researcher's.
    h.act_as("admin" if "endpoint_manager" in route else "researcher")
    resp = h.client.get(route.format(n=TWENTY_DIGITS, lab=lab, task=task))
    assert resp.status_code == 400, resp.json
    assert resp.json["code"] == "ClientError.BadRequest"
    assert "between" in resp.json["message"] or "Invalid value" in resp.json["message"]


def test_numbers_in_forms_python_accepts_but_globus_does_not_are_refused(transfer_harness):
    h = transfer_harness
    for raw in ("1_000", " 5", "+5", "５"):
        resp = h.client.get("/v0.10/task_list", query_string={"limit": raw})
        assert resp.status_code == 400, raw
    assert h.client.get("/v0.10/task_list?limit=5").status_code == 200


def _transfer(h, submission_id: str):
    return h.client.post(
        "/v0.10/transfer",
        json={
            "DATA_TYPE": "transfer",
            "submission_id": submission_id,
            "source_endpoint": h.collections["Lab Storage"],
            "destination_endpoint": h.collections["Archive"],
            "DATA": [{"source_path": "/README.txt", "destination_path": "/readme.txt"}],
        },
    )


def test_a_submission_id_localglobus_never_issued_is_refused(transfer_harness):
    h = transfer_harness
    resp = _transfer(h, str(uuid.uuid4()))
    assert resp.status_code == 400
    assert resp.json["code"] == "ClientError.BadRequest"
    assert "/submission_id" in resp.json["message"]
    assert h.client.get("/v0.10/task_list").json["DATA"] == []


def test_a_submission_id_issued_to_someone_else_is_refused(transfer_harness):
    h = transfer_harness
    h.act_as("admin")
    theirs = h.client.get("/v0.10/submission_id").json["value"]
    h.act_as("researcher")
    assert _transfer(h, theirs).status_code == 400
    mine = h.client.get("/v0.10/submission_id").json["value"]
    assert _transfer(h, mine).status_code == 202
