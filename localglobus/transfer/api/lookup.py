"""What a Transfer request names, found or refused: a collection by id, a client path
made normal, where it is on disk, a task its caller may see; and the record of use
behind `recently-used`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from localglobus.db import utcnow
from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import paths, policy
from localglobus.transfer.models import Collection, CollectionUse, Task


def load_collection(session: Session, endpoint_id: str) -> Collection:
    coll = session.get(Collection, str(endpoint_id))
    if coll is None:
        raise TransferAPIError(404, "EndpointNotFound", f"No such endpoint '{endpoint_id}'")
    return coll


def vpath_of(raw, default: str = "/~/") -> str:
    try:
        return paths.normalize(raw, default)
    except paths.PathRefused as exc:
        raise bad_request(exc.message) from None


def disk_path(coll: Collection, vpath: str, entry: bool = False) -> str:
    """Where `vpath` is on disk; a path leading outside the root is a permission error."""
    try:
        if entry:
            return paths.resolve_entry(coll.root_path, vpath)
        return paths.resolve(coll.root_path, vpath)
    except paths.PathRefused as exc:
        raise TransferAPIError(403, "EndpointPermissionDenied", exc.message) from None


def record_use(session: Session, identity_id: str, *collection_ids: str) -> None:
    """Remember the use for endpoint_search's `recently-used` scope."""
    for cid in {c for c in collection_ids if c}:
        stmt = insert(CollectionUse).values(
            identity_id=identity_id, collection_id=cid, last_used=utcnow()
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["identity_id", "collection_id"],
                set_={"last_used": stmt.excluded.last_used},
            )
        )


def own_task(session: Session, task_id: str, owner_id: str) -> Task:
    task = session.get(Task, str(task_id))
    # Someone else's task is indistinguishable from a missing one.
    if task is None or task.owner_id != owner_id:
        raise TransferAPIError(404, "TaskNotFound", f"Task '{task_id}' not found")
    return task


def collections_with(session: Session, identity_id: str, role: str) -> set[str]:
    """Ids of the collections where the identity holds `role` (effective), including the
    guest collections hosted on such a mapped collection."""
    colls = session.scalars(select(Collection)).all()
    held = {c.id for c in colls if role in policy.effective_roles(session, c, identity_id)}
    return held | {c.id for c in colls if c.host_collection_id in held}


def visible_task(session: Session, task_id: str, who, role: str = "activity_monitor") -> Task:
    task = session.get(Task, str(task_id))
    if task is None:
        raise TransferAPIError(404, "TaskNotFound", f"Task '{task_id}' not found")
    allowed = collections_with(session, who.identity_id, role)
    if not {task.source_id, task.destination_id} & allowed:
        raise TransferAPIError(
            403, "PermissionDenied", f"You have no {role} role on an endpoint of this task"
        )
    return task
