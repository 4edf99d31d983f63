"""The Globus boundary for tasks: submission ids, submitting transfers and deletes, and
reading, editing and canceling tasks (Transfer API v0.10, docs/globus-api.md B.4-B.9)."""

from __future__ import annotations

import logging
import time
from typing import Any

import globus_sdk
import globus_sdk.gare  # noqa: F401 - a lazy submodule; app.globus.errors maps with to_gare

from app.errors import BadInput, GlobusUnavailable
from app.globus import client
from app.globus.errors import calling_globus, map_globus_error
from app.globus.task_types import (
    EventPage,
    MarkerPage,
    PauseInfo,
    SkippedError,
    SubmitResult,
    SuccessfulTransfer,
    Task,
    TaskEvent,
    TaskPage,
)

log = logging.getLogger(__name__)

# A timeout or reset on the submit POST leaves us not knowing whether Globus created
# the task. Re-sending the same document (same submission_id) is safe: Globus answers
# "Duplicate" with the original task. globus-sdk retries network errors too, but only
# within one call; these attempts come on top, so a task is never left unrecorded
# because of a short network blip.
# A Globus that hangs rather than resets already costs the SDK's attempts their full
# timeouts: past SUBMIT_BUDGET seconds no new attempt starts, so no worker hangs long;
# the submission stays pending and the user can resume it.
SUBMIT_ATTEMPTS = 3
SUBMIT_BACKOFF = 0.5
SUBMIT_BUDGET = 15.0


def get_submission_id(user_id: int) -> str:
    """`GET /v0.10/submission_id`: a fresh id that makes one submission at-most-once."""
    with calling_globus():
        return str(client.transfer_client(user_id).get_submission_id()["value"])


def submit_transfer(user_id: int, document: dict[str, Any]) -> SubmitResult:
    """`POST /v0.10/transfer` with a complete document (it carries its submission_id)."""
    return _submit(user_id, "transfer", document)


def submit_delete(user_id: int, document: dict[str, Any]) -> SubmitResult:
    """`POST /v0.10/delete` with a complete document (it carries its submission_id)."""
    return _submit(user_id, "delete", document)


def _submit(user_id: int, kind: str, document: dict[str, Any]) -> SubmitResult:
    if not document.get("submission_id"):
        raise ValueError("a submission needs its submission_id before it is sent")
    tc = client.transfer_client(user_id)
    send = tc.submit_transfer if kind == "transfer" else tc.submit_delete
    started = time.monotonic()
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            response = send(dict(document))
        except globus_sdk.NetworkError as error:
            if attempt == SUBMIT_ATTEMPTS or time.monotonic() - started > SUBMIT_BUDGET:
                raise map_globus_error(error) from error
            log.warning(
                "submit %s %s: %s, retrying with the same submission_id (attempt %d)",
                kind,
                document["submission_id"],
                type(error).__name__,
                attempt,
            )
            time.sleep(SUBMIT_BACKOFF * attempt)
            continue
        except globus_sdk.GlobusAPIError as error:
            raise map_globus_error(error) from error
        return SubmitResult.from_api(response.data, document["submission_id"])
    raise GlobusUnavailable("Globus did not answer in time. Please try again.")  # unreachable


def task_list(
    user_id: int,
    *,
    limit: int = 25,
    offset: int = 0,
    statuses: list[str] | None = None,
    types: list[str] | None = None,
    label_contains: str | None = None,
    requested_after: str | None = None,
    requested_before: str | None = None,
) -> TaskPage:
    """`GET /v0.10/task_list`, newest first, with Globus's filter clauses
    (docs/globus-api.md B.7)."""
    clauses = [f"type:{','.join(types or ['TRANSFER', 'DELETE'])}"]
    if statuses:
        clauses.append(f"status:{','.join(statuses)}")
    if label_contains:
        # `~` matches the whole label, `*` any text, a comma separates alternatives
        # (docs/globus-api.md B.7): "contains" is `*text*`, a comma in it any character.
        clauses.append(f"label:~*{label_contains.replace(',', '*')}*")
    if requested_after or requested_before:
        clauses.append(f"request_time:{requested_after or ''},{requested_before or ''}")
    with calling_globus():
        data = client.transfer_client(user_id).task_list(
            limit=limit, offset=offset, orderby="request_time DESC", filter="/".join(clauses)
        )
    return TaskPage(
        tasks=[Task.from_api(doc) for doc in data.get("DATA", [])],
        offset=int(data.get("offset", offset) or 0),
        limit=int(data.get("limit", limit) or limit),
        total=int(data.get("total", 0) or 0),
    )


def get_task(user_id: int, task_id: str) -> Task:
    """`GET /v0.10/task/<task_id>`."""
    with calling_globus():
        return Task.from_api(client.transfer_client(user_id).get_task(task_id).data)


def update_task(
    user_id: int, task_id: str, *, label: str | None = None, deadline: str | None = None
) -> str:
    """`PUT /v0.10/task/<task_id>`: only label and deadline can change (docs/globus-api.md B.8)."""
    data: dict[str, Any] = {"DATA_TYPE": "task"}
    if label is not None:
        data["label"] = label
    if deadline is not None:
        data["deadline"] = deadline
    with calling_globus():
        response = client.transfer_client(user_id).update_task(task_id, data)
    return str(response.get("message") or "Task updated.")


def cancel_task(user_id: int, task_id: str) -> tuple[str, str]:
    """`POST /v0.10/task/<task_id>/cancel` -> (code, message): Canceled, CancelAccepted,
    or TaskComplete when it had already ended."""
    try:
        with calling_globus():
            response = client.transfer_client(user_id).cancel_task(task_id)
    except BadInput as error:
        # Real Globus answers 409 TaskComplete for a finished task on some deployments.
        if "complete" in error.message.lower():
            return "TaskComplete", error.message
        raise
    return str(response.get("code") or "Canceled"), str(response.get("message") or "")


def task_event_list(user_id: int, task_id: str, *, limit: int = 20, offset: int = 0) -> EventPage:
    """`GET /v0.10/task/<task_id>/event_list` (offset paging, newest first)."""
    with calling_globus():
        data = client.transfer_client(user_id).task_event_list(task_id, limit=limit, offset=offset)
    return EventPage(
        events=[TaskEvent.from_api(doc) for doc in data.get("DATA", [])],
        offset=int(data.get("offset", offset) or 0),
        limit=int(data.get("limit", limit) or limit),
        total=int(data.get("total", 0) or 0),
    )


def task_successful_transfers(
    user_id: int, task_id: str, *, marker: str | None = None
) -> MarkerPage:
    """`GET /v0.10/task/<task_id>/successful_transfers` (marker paging)."""
    with calling_globus():
        tc = client.transfer_client(user_id)
        data = tc.task_successful_transfers(task_id, marker=_marker(marker))
    return _marker_page(data, SuccessfulTransfer.from_api, marker)


def task_skipped_errors(user_id: int, task_id: str, *, marker: str | None = None) -> MarkerPage:
    """`GET /v0.10/task/<task_id>/skipped_errors` (marker paging)."""
    with calling_globus():
        data = client.transfer_client(user_id).task_skipped_errors(task_id, marker=_marker(marker))
    return _marker_page(data, SkippedError.from_api, marker)


def task_pause_info(user_id: int, task_id: str) -> PauseInfo:
    """`GET /v0.10/task/<task_id>/pause_info`."""
    with calling_globus():
        return PauseInfo.from_api(client.transfer_client(user_id).task_pause_info(task_id).data)


def _marker(marker: str | None) -> str | globus_sdk.MissingType:
    # The SDK leaves a MISSING marker out of the query: the first page.
    return marker or globus_sdk.MISSING


def _marker_page(data, wrap, marker: str | None) -> MarkerPage:
    next_marker = data.get("next_marker")
    return MarkerPage(
        items=[wrap(doc) for doc in data.get("DATA", [])],
        marker=marker,
        next_marker=str(next_marker) if next_marker not in (None, "") else None,
    )
