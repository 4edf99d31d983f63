"""A user's bookmarks (docs/globus-api.md B.12): names unique per user, directory paths."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer.api.arguments import body, require_uuid
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import load_collection, vpath_of
from localglobus.transfer.api.responses import result
from localglobus.transfer.models import Bookmark
from localglobus.transfer.paths import as_dir

BOOKMARK_LIMIT = 500


def bookmark_doc(mark: Bookmark) -> dict:
    return {
        "DATA_TYPE": "bookmark",
        "id": mark.id,
        "name": mark.name,
        "endpoint_id": mark.endpoint_id,
        "path": mark.path,
        "pinned": mark.pinned,
    }


def _name(doc: dict) -> str:
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 128 or "\n" in name:
        raise bad_request("name must be 1 to 128 characters on one line")
    return name


def _unique(session: Session, owner: str, name: str, skip_id: str | None = None) -> None:
    clash = session.scalars(
        select(Bookmark).where(Bookmark.identity_id == owner, Bookmark.name == name)
    ).first()
    if clash is not None and clash.id != skip_id:
        raise TransferAPIError(409, "Exists", f"A bookmark named '{name}' already exists")


def _own(session: Session, bookmark_id: str, owner: str) -> Bookmark:
    mark = session.get(Bookmark, str(bookmark_id))
    if mark is None or mark.identity_id != owner:
        raise TransferAPIError(404, "BookmarkNotFound", f"Bookmark '{bookmark_id}' not found")
    return mark


@bp.get("/bookmark_list")
def bookmark_list():
    who = caller()
    with state().db.session() as session:
        marks = session.scalars(
            select(Bookmark).where(Bookmark.identity_id == who.identity_id).order_by(Bookmark.name)
        ).all()
        return jsonify({"DATA_TYPE": "bookmark_list", "DATA": [bookmark_doc(m) for m in marks]})


@bp.post("/bookmark")
def create_bookmark():
    who = caller()
    doc = body()
    name = _name(doc)
    endpoint_id = require_uuid(doc.get("endpoint_id"), "endpoint_id")
    raw = doc.get("path")
    if not isinstance(raw, str) or not raw.endswith("/"):
        raise bad_request("path must be a directory path ending in '/'")
    path = as_dir(vpath_of(raw, default=""))
    if raw.startswith(("/~/", "~/")):
        path = "/~" + path if path != "/" else "/~/"
    pinned = doc.get("pinned", False)
    if not isinstance(pinned, bool):
        raise bad_request("pinned must be a boolean")
    with state().db.session() as session:
        load_collection(session, endpoint_id)
        _unique(session, who.identity_id, name)
        count = len(
            session.scalars(
                select(Bookmark.id).where(Bookmark.identity_id == who.identity_id)
            ).all()
        )
        if count >= BOOKMARK_LIMIT:
            raise TransferAPIError(409, "LimitExceeded", "Too many bookmarks")
        mark = Bookmark(
            identity_id=who.identity_id,
            name=name,
            endpoint_id=endpoint_id,
            path=path,
            pinned=pinned,
        )
        session.add(mark)
        session.flush()
        return jsonify(bookmark_doc(mark))


@bp.get("/bookmark/<bookmark_id>")
def get_bookmark(bookmark_id):
    who = caller()
    with state().db.session() as session:
        return jsonify(bookmark_doc(_own(session, bookmark_id, who.identity_id)))


@bp.put("/bookmark/<bookmark_id>")
def update_bookmark(bookmark_id):
    who = caller()
    doc = body()
    with state().db.session() as session:
        mark = _own(session, bookmark_id, who.identity_id)
        if "name" in doc:
            name = _name(doc)
            _unique(session, who.identity_id, name, skip_id=mark.id)
            mark.name = name
        if "pinned" in doc:
            if not isinstance(doc["pinned"], bool):
                raise bad_request("pinned must be a boolean")
            mark.pinned = doc["pinned"]
        session.flush()
        return jsonify(bookmark_doc(mark))


@bp.delete("/bookmark/<bookmark_id>")
def delete_bookmark(bookmark_id):
    who = caller()
    with state().db.session() as session:
        session.delete(_own(session, bookmark_id, who.identity_id))
    return result("Deleted", f"Bookmark '{bookmark_id}' deleted successfully")
