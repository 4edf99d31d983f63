"""Use cases of the transfer area: submit a transfer or a delete, write-ahead and
idempotent (docs/security.md, Reliability), and resume a pending submission."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import inputs
from app.errors import (
    BadInput,
    ConsentRequired,
    GlobusUnavailable,
    LoginRequired,
    NotFound,
    PortalError,
)
from app.extensions import db
from app.formatting import as_utc
from app.globus import tasks as globus_tasks
from app.paths import join as join_path
from app.paths import problem as path_problem
from app.transfers import validation as v
from app.transfers.models import FAILED, PENDING, SUBMITTED, Submission

log = logging.getLogger(__name__)

# Errors after which Globus may or may not have the task, or that the user can clear
# (consent, sign-in): the submission stays pending and resumes with the same id.
_RESUMABLE = (ConsentRequired, GlobusUnavailable, LoginRequired)


@dataclass(frozen=True)
class TransferItem:
    source_path: str
    destination_path: str
    recursive: bool = False


@dataclass(frozen=True)
class TransferOptions:
    """The options form; the defaults are the portal's (verify on, notifications on)."""

    label: str | None = None
    sync_level: str | None = None  # exists | size | mtime | checksum | None (always)
    verify_checksum: bool = True
    preserve_timestamp: bool = False
    encrypt_data: bool = False
    delete_destination_extra: bool = False
    skip_source_errors: bool = False
    fail_on_quota_errors: bool = False
    deadline: datetime | None = None
    notify: bool = True


def new_submission_id(user_id: int) -> str:
    """A fresh submission_id from Globus, for a form about to be shown."""
    return globus_tasks.get_submission_id(user_id)


def items_from_selection(
    source_path: str, destination_path: str, names: list[str]
) -> list[TransferItem]:
    """Names picked in the source folder (folders end with /) -> transfer items that
    land under the destination folder with the same names."""
    return [
        TransferItem(
            join_path(source_path, name),
            join_path(destination_path, name),
            recursive=name.endswith("/"),
        )
        for name in names
    ]


def submit_transfer(
    user_id: int,
    *,
    submission_id: str,
    source_id: str,
    destination_id: str,
    items: list[TransferItem],
    options: TransferOptions,
) -> Submission:
    """Store the transfer (pending) and commit, then POST it; a second call with the
    same submission_id sends the stored document again and ends on the same task."""
    document = transfer_document(submission_id, source_id, destination_id, items, options)
    return _send(_write_ahead(user_id, "transfer", document))


def submit_delete(
    user_id: int,
    collection_id: str,
    paths: list[str],
    recursive: bool,
    *,
    label: str | None = None,
    submission_id: str | None = None,
    ignore_missing: bool = False,
    notify: bool = True,
) -> Submission:
    """Delete `paths` on a collection as a delete task, write-ahead like a transfer.
    Without a submission_id (minted when the form was shown) one is fetched now."""
    _check_ids(collection_id)
    for path in paths:
        _check(path_problem(path, folder=False))
    inputs.clean_label(label)
    if not paths:
        raise BadInput("Choose at least one item to delete.")
    submission_id = submission_id or new_submission_id(user_id)
    _check_ids(submission_id)
    document: dict[str, Any] = {
        "DATA_TYPE": "delete",
        "submission_id": submission_id,
        "endpoint": collection_id,
        "recursive": recursive,
        "ignore_missing": ignore_missing,
        "interpret_globs": False,
        "notify_on_succeeded": notify,
        "notify_on_failed": notify,
        "notify_on_inactive": notify,
        "DATA": [{"DATA_TYPE": "delete_item", "path": path} for path in paths],
    }
    if label:
        document["label"] = label
    return _send(_write_ahead(user_id, "delete", document))


def resume_submission(user_id: int, submission_id: str) -> Submission:
    """Send a pending submission again with its stored document and submission_id
    (after a consent round trip, a timeout or an outage)."""
    return _send(get_submission(user_id, submission_id))


def pending_submissions(user_id: int, limit: int = 5) -> list[Submission]:
    """The user's submissions that have not reached Globus yet (consent, outage), newest
    first, so that the transfer page can offer to resume them."""
    query = (
        select(Submission)
        .where(Submission.user_id == user_id, Submission.status == PENDING)
        .order_by(Submission.created_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def get_submission(user_id: int, submission_id: str) -> Submission:
    """The user's submission with this id; someone else's is not found."""
    found = _find(user_id, submission_id) if inputs.is_uuid(submission_id) else None
    if found is None:
        raise NotFound("No such submission.")
    return found


def transfer_document(
    submission_id: str,
    source_id: str,
    destination_id: str,
    items: list[TransferItem],
    options: TransferOptions,
) -> dict[str, Any]:
    """The exact `POST /v0.10/transfer` document (docs/globus-api.md B.5), checked."""
    _check_ids(submission_id, source_id, destination_id)
    if not items:
        raise BadInput("Choose at least one file or folder to transfer.")
    for item in items:
        _check(
            path_problem(item.source_path, folder=False)
            or path_problem(item.destination_path, folder=False)
        )
    inputs.clean_label(options.label)
    inputs.clean_deadline(options.deadline)
    if options.sync_level is not None and options.sync_level not in v.SYNC_LEVELS:
        raise BadInput("Choose a known sync level.")
    document: dict[str, Any] = {
        "DATA_TYPE": "transfer",
        "submission_id": submission_id,
        "source_endpoint": source_id,
        "destination_endpoint": destination_id,
        "verify_checksum": options.verify_checksum,
        "preserve_timestamp": options.preserve_timestamp,
        "encrypt_data": options.encrypt_data,
        "delete_destination_extra": options.delete_destination_extra,
        "skip_source_errors": options.skip_source_errors,
        "fail_on_quota_errors": options.fail_on_quota_errors,
        "notify_on_succeeded": options.notify,
        "notify_on_failed": options.notify,
        "notify_on_inactive": options.notify,
        "DATA": [
            {
                "DATA_TYPE": "transfer_item",
                "source_path": item.source_path,
                "destination_path": item.destination_path,
                "recursive": item.recursive,
            }
            for item in items
        ],
    }
    if options.label:
        document["label"] = options.label
    if options.sync_level is not None:
        document["sync_level"] = v.SYNC_LEVELS[options.sync_level]
    if options.deadline is not None:
        deadline = as_utc(options.deadline)
        document["deadline"] = deadline.astimezone(UTC).isoformat(timespec="seconds")
    return document


def _write_ahead(user_id: int, kind: str, document: dict[str, Any]) -> Submission:
    """Commit the pending submission before anything is sent. If this submission_id is
    already stored (a double click, a resent form), that row is the submission."""
    submission_id = document["submission_id"]
    existing = _find(user_id, submission_id)
    if existing is not None:
        return existing
    submission = Submission(
        user_id=user_id, submission_id=submission_id, kind=kind, document=document
    )
    db.session.add(submission)
    try:
        db.session.commit()
    except IntegrityError:
        # The other click of a double click committed first.
        db.session.rollback()
        existing = _find(user_id, submission_id)
        if existing is None:
            raise BadInput("This form has expired. Please start again.") from None
        return existing
    return submission


def _send(submission: Submission) -> Submission:
    """POST the stored document and record the outcome (one commit either way)."""
    if submission.status == SUBMITTED:
        return submission
    if submission.status == FAILED:
        raise BadInput(f"Globus refused this submission: {submission.error}")
    submit = (
        globus_tasks.submit_transfer
        if submission.kind == "transfer"
        else globus_tasks.submit_delete
    )
    try:
        result = submit(submission.user_id, submission.document)
    except _RESUMABLE as error:
        submission.error = error.message
        db.session.commit()
        raise
    except PortalError as error:
        submission.status = FAILED
        submission.error = error.message
        db.session.commit()
        raise
    submission.status = SUBMITTED
    submission.task_id = result.task_id
    submission.error = None
    db.session.commit()
    log.info("submission %s -> task %s (%s)", submission.submission_id, result.task_id, result.code)
    return submission


def _find(user_id: int, submission_id: str) -> Submission | None:
    return db.session.scalars(
        select(Submission).where(
            Submission.user_id == user_id, Submission.submission_id == submission_id
        )
    ).first()


def _check_ids(*ids: str) -> None:
    for value in ids:
        if not inputs.is_uuid(value):
            raise BadInput("That is not a valid collection or submission id.")


def _check(error: str | None) -> None:
    if error:
        raise BadInput(error)
