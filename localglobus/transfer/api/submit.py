"""Turn a transfer or delete document (docs/globus-api.md B.5, B.6) into a queued Task.

Everything a client can get wrong is refused here, before a task exists, so the engine
only meets problems of the disk.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from localglobus.db import utcnow
from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import policy
from localglobus.transfer.api.arguments import require_uuid
from localglobus.transfer.api.lookup import load_collection, record_use, vpath_of
from localglobus.transfer.documents import identity_name
from localglobus.transfer.engine.checksums import ALGORITHMS, algorithm_name
from localglobus.transfer.models import SubmissionId, Task
from localglobus.transfer.times import naive, parse_time

SYNC_LEVELS = {"exists": 0, "size": 1, "mtime": 2, "checksum": 3}
_TRANSFER_BOOLS = (
    "verify_checksum",
    "preserve_timestamp",
    "encrypt_data",
    "skip_source_errors",
    "fail_on_quota_errors",
    "delete_destination_extra",
    "store_base_path_info",
)
_NOTIFY = ("notify_on_succeeded", "notify_on_failed", "notify_on_inactive")
DEFAULT_DEADLINE = timedelta(days=1)


def _bool(doc: dict, name: str, default: bool = False) -> bool:
    value = doc.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be a boolean")
    return value


def _label(doc: dict) -> str | None:
    label = doc.get("label")
    if label is None:
        return None
    if not isinstance(label, str) or len(label) > 128 or "\n" in label or "\r" in label:
        raise bad_request("Invalid label: at most 128 characters on one line")
    if label != label.strip():
        raise bad_request("Invalid label: no leading or trailing whitespace")
    return label or None


def _deadline(doc: dict):
    raw = doc.get("deadline")
    if raw in (None, ""):
        return utcnow() + DEFAULT_DEADLINE
    value = parse_time(raw, "deadline")
    if value <= utcnow():
        raise bad_request(
            "Deadline must be in the future", "ClientError.BadRequest.InvalidDeadline"
        )
    return value


def _sync_level(value):
    if value is None:
        return None
    if isinstance(value, str) and value in SYNC_LEVELS:
        return SYNC_LEVELS[value]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
        raise bad_request(f"Invalid sync_level {value!r}: use 0, 1, 2 or 3")
    return value


def _filter_rules(value) -> list[dict]:
    if value in (None, []):
        return []
    if not isinstance(value, list):
        raise bad_request("filter_rules must be a list")
    rules = []
    for rule in value:
        if not isinstance(rule, dict) or rule.get("method") not in ("include", "exclude"):
            raise bad_request("Each filter rule needs method include or exclude")
        name = rule.get("name")
        kind = rule.get("type")
        if not isinstance(name, str) or not name or kind not in (None, "file", "dir"):
            raise bad_request("Each filter rule needs a name glob and type file or dir")
        rules.append(
            {"DATA_TYPE": "filter_rule", "method": rule["method"], "name": name, "type": kind}
        )
    return rules


def _transfer_items(doc: dict) -> list[dict]:
    data = doc.get("DATA")
    if not isinstance(data, list) or not data:
        raise bad_request(
            "A transfer requires at least one item", "ClientError.BadRequest.NoTransferItems"
        )
    items = []
    for item in data:
        if not isinstance(item, dict):
            raise bad_request("Transfer items must be objects")
        kind = item.get("DATA_TYPE", "transfer_item")
        if kind not in ("transfer_item", "transfer_symlink_item"):
            raise bad_request(f"Invalid item DATA_TYPE {kind!r}")
        recursive = item.get("recursive")
        if recursive is not None and not isinstance(recursive, bool):
            raise bad_request("recursive must be a boolean")
        external = item.get("external_checksum")
        algorithm = item.get("checksum_algorithm")
        if external is not None and not isinstance(external, str):
            raise bad_request("external_checksum must be a string")
        if algorithm is not None and algorithm_name(algorithm) not in ALGORITHMS:
            raise bad_request(f"Unsupported checksum_algorithm {algorithm!r}")
        if external and algorithm is None:
            algorithm = "MD5"  # what Globus assumes for a bare external_checksum
        items.append(
            {
                "symlink": kind == "transfer_symlink_item",
                "source_path": vpath_of(item.get("source_path"), default=""),
                "destination_path": vpath_of(item.get("destination_path"), default=""),
                "recursive": recursive,
                "external_checksum": external.strip().lower() if external else None,
                "checksum_algorithm": algorithm_name(algorithm) if algorithm else None,
            }
        )
    return items


def _delete_items(doc: dict) -> list[dict]:
    data = doc.get("DATA")
    if not isinstance(data, list) or not data:
        raise bad_request(
            "A delete requires at least one item", "ClientError.BadRequest.NoDeleteItems"
        )
    items = []
    for item in data:
        if not isinstance(item, dict) or item.get("DATA_TYPE", "delete_item") != "delete_item":
            raise bad_request("Delete items must be delete_item objects")
        items.append({"path": vpath_of(item.get("path"), default="")})
    return items


def _submission_id(session: Session, who, doc: dict) -> str:
    """The request's submission_id, which must be one `/submission_id` issued to this
    identity: an id made up by the client could collide with another task's or be used
    to probe for them."""
    raw = doc.get("submission_id")
    if not raw:
        raise bad_request("submission_id is required; get one from /submission_id")
    value = require_uuid(raw, "submission_id")
    issued = session.get(SubmissionId, value)
    if issued is None or issued.identity_id != who.identity_id:
        raise bad_request(f"Invalid submission_id {value}: get one from /submission_id")
    return value


def existing(session: Session, submission_id: str, owner_id: str) -> Task | None:
    task = session.scalars(select(Task).where(Task.submission_id == submission_id)).first()
    if task is not None and task.owner_id != owner_id:
        raise TransferAPIError(409, "Conflict", "submission_id already used by another user")
    return task


def transfer_task(session: Session, who, doc: dict) -> tuple[Task, bool]:
    """(task, created): a new queued task, or the one this submission_id already made."""
    if doc.get("DATA_TYPE", "transfer") != "transfer":
        raise bad_request("DATA_TYPE must be 'transfer'")
    submission_id = _submission_id(session, who, doc)
    found = existing(session, submission_id, who.identity_id)
    if found is not None:
        return found, False
    src = load_collection(session, require_uuid(doc.get("source_endpoint"), "source_endpoint"))
    dst = load_collection(
        session, require_uuid(doc.get("destination_endpoint"), "destination_endpoint")
    )
    items = _transfer_items(doc)
    options: dict[str, Any] = {name: _bool(doc, name) for name in _TRANSFER_BOOLS}
    options.update({name: _bool(doc, name, True) for name in _NOTIFY})
    options["sync_level"] = _sync_level(doc.get("sync_level"))
    options["filter_rules"] = _filter_rules(doc.get("filter_rules"))
    options["recursive_symlinks"] = doc.get("recursive_symlinks") or "ignore"
    if options["recursive_symlinks"] not in ("ignore", "keep", "copy"):
        raise bad_request("recursive_symlinks must be ignore, keep or copy")
    for name in ("source_local_user", "destination_local_user"):
        options[name] = doc.get(name)
    label, deadline = _label(doc), _deadline(doc)
    policy.require_consent(who, src, dst)
    for item in items:
        policy.check_submission(session, who, src, item["source_path"])
        policy.check_submission(session, who, dst, item["destination_path"], write=True)
    recursive = sum(1 for i in items if i["recursive"])
    task = Task(
        submission_id=submission_id,
        type="TRANSFER",
        owner_id=who.identity_id,
        owner_string=identity_name(session, who.identity_id) or who.username,
        label=label,
        source_id=src.id,
        destination_id=dst.id,
        options=options,
        items=items,
        deadline=naive(deadline),
        files=len(items) - recursive,
        directories=recursive,
        subtasks_total=len(items),
    )
    record_use(session, who.identity_id, src.id, dst.id)
    return _insert(session, task, who.identity_id)


def delete_task(session: Session, who, doc: dict) -> tuple[Task, bool]:
    if doc.get("DATA_TYPE", "delete") != "delete":
        raise bad_request("DATA_TYPE must be 'delete'")
    submission_id = _submission_id(session, who, doc)
    found = existing(session, submission_id, who.identity_id)
    if found is not None:
        return found, False
    coll = load_collection(session, require_uuid(doc.get("endpoint"), "endpoint"))
    items = _delete_items(doc)
    options = {
        "recursive": _bool(doc, "recursive"),
        "ignore_missing": _bool(doc, "ignore_missing"),
        "interpret_globs": _bool(doc, "interpret_globs"),
        "local_user": doc.get("local_user"),
        **{name: _bool(doc, name, True) for name in _NOTIFY},
    }
    label, deadline = _label(doc), _deadline(doc)
    policy.require_consent(who, coll)
    for item in items:
        if item["path"] == "/":
            raise bad_request("Cannot delete the collection root")
        policy.check_submission(session, who, coll, item["path"], write=True)
    task = Task(
        submission_id=submission_id,
        type="DELETE",
        owner_id=who.identity_id,
        owner_string=identity_name(session, who.identity_id) or who.username,
        label=label,
        source_id=coll.id,
        destination_id=None,
        options=options,
        items=items,
        deadline=naive(deadline),
        files=len(items),
        subtasks_total=len(items),
    )
    record_use(session, who.identity_id, coll.id)
    return _insert(session, task, who.identity_id)


def _insert(session: Session, task: Task, owner_id: str) -> tuple[Task, bool]:
    """Insert, or lose the race to a concurrent request with the same submission_id."""
    session.add(task)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        found = existing(session, task.submission_id, owner_id)
        if found is None:
            raise
        return found, False
    return task, True
