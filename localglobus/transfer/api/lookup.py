"""What a Transfer request names, found or refused: a collection by id, a client path
made normal, where it is on disk; and the record of use behind `recently-used`."""

from __future__ import annotations

from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from localglobus.db import utcnow
from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import paths
from localglobus.transfer.models import Collection, CollectionUse


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
