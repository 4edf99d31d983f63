"""What holds a task back while it is ACTIVE, as real tasks are held: a pause (by an
activity manager, explicitly or by a pause rule), expired credentials (INACTIVE), a
collection whose server is down, or one that refuses the owner's login (a destination
over its quota is met file by file, as a full disk is: localglobus/transfer/engine/work.py)
(docs/globus-api.md B.15, B.16).

The engine asks before a task starts and about every second while it runs; the HTTP
side asks the same rules for the synchronous operations (ls, mkdir, ...). No Flask here:
the engine imports this module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from localglobus.db import as_utc, utcnow
from localglobus.models import AuthSession
from localglobus.transfer.gateways import login_failed_text, task_login_refusal
from localglobus.transfer.models import Collection, PauseRule, Task

# The operations a pause rule may pause, as its document's `pause_<name>` flags.
PAUSE_OPERATIONS = (
    "ls",
    "mkdir",
    "rename",
    "symlink",
    "task_delete",
    "task_transfer_read",
    "task_transfer_write",
)


@dataclass(frozen=True)
class Hold:
    kind: str  # "paused", "inactive" or "fault"
    code: str  # the task event's code (and nice_status)
    description: str
    details: str


def collections_of(session: Session, coll: Collection) -> list[Collection]:
    """The collection and, for a guest, the mapped collection it lives on: rules and
    faults of the host apply to its guests."""
    host = session.get(Collection, coll.host_collection_id) if coll.host_collection_id else None
    return [coll, host] if host is not None else [coll]


def pause_rules(
    session: Session, coll: Collection, identity_id: str, operation: str
) -> list[PauseRule]:
    """The rules in force that pause `operation` on the collection for the identity."""
    ids = [c.id for c in collections_of(session, coll)]
    now = utcnow()
    rules = session.scalars(
        select(PauseRule)
        .where(PauseRule.endpoint_id.in_(ids))
        .where(or_(PauseRule.identity_id.is_(None), PauseRule.identity_id == identity_id))
    )
    return [
        r
        for r in rules
        if r.operations.get(operation) and (r.start_time is None or as_utc(r.start_time) <= now)
    ]


def task_pause_rules(session: Session, task: Task) -> list[PauseRule]:
    """The rules pausing the task: reads on its source (or deletes), writes on its
    destination."""
    src = session.get(Collection, task.source_id)
    found: list[PauseRule] = []
    if src is not None:
        operation = "task_transfer_read" if task.type == "TRANSFER" else "task_delete"
        found += pause_rules(session, src, task.owner_id, operation)
    dst = session.get(Collection, task.destination_id) if task.destination_id else None
    if dst is not None:
        found += pause_rules(session, dst, task.owner_id, "task_transfer_write")
    return found


def offline_collection(session: Session, coll: Collection) -> Collection | None:
    """The collection (or its host) whose server is down, if any."""
    return next((c for c in collections_of(session, coll) if c.offline), None)


def connect_failed_text(coll: Collection, server: str) -> str:
    """What Transfer says of a data server it cannot reach (not a recorded answer: the
    shape of the recorded `Error (...)` texts, docs/globus-api.md B.16)."""
    return (
        f"Error (connect)\nEndpoint: {coll.display_name} ({coll.id})\nServer: {server}\n"
        "Message: Could not connect to server\n---\nDetails: Connection refused\n"
    )


def over_quota(coll: Collection) -> bool:
    """Whether the files under the collection's folder fill its quota (none: never): what
    the engine's writes there meet (QUOTA_EXCEEDED)."""
    if coll.quota_bytes is None:
        return False
    used = 0
    for folder, _dirs, files in os.walk(coll.root_path):
        for name in files:
            try:
                used += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed while we counted
            if used >= coll.quota_bytes:
                return True
    return False


def signed_in_since(session: Session, identity_id: str, since: datetime) -> bool:
    """Whether the identity (a set's primary) signed in at Auth after `since`."""
    stamp = as_utc(since).timestamp()
    rows = session.scalars(select(AuthSession).where(AuthSession.identity_id == identity_id))
    return any(
        auth.get("auth_time", 0) > stamp for row in rows for auth in row.authentications.values()
    )


def task_hold(session: Session, task: Task, server: str) -> Hold | None:
    """Why the task cannot go on right now (None: it can)."""
    messages = [m for m in (task.source_pause_message, task.destination_pause_message) if m]
    rules = task_pause_rules(session, task)
    if messages or rules:
        return Hold("paused", "PAUSED", "paused", "\n".join(messages + [r.message for r in rules]))
    expired = task.credentials_expired_at
    if expired is not None and not signed_in_since(session, task.owner_id, expired):
        return Hold(
            "inactive",
            "NO_CREDENTIALS",
            "no credentials",
            "The credentials of this task expired; it goes on once its owner signs in again.",
        )
    for coll_id in (task.source_id, task.destination_id):
        coll = session.get(Collection, coll_id) if coll_id else None
        down = offline_collection(session, coll) if coll is not None else None
        if down is not None:
            return Hold(
                "fault", "CONNECT_FAILED", "connect failed", connect_failed_text(down, server)
            )
    refusal = task_login_refusal(session, task)
    if refusal is not None:
        return Hold(
            "fault", "PERMISSION_DENIED", "permission denied", login_failed_text(*refusal, server)
        )
    return None
