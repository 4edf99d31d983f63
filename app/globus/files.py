"""Synchronous file operations on a collection at Globus Transfer (docs/globus-api.md B.3).

Deletes are tasks: they go through `app.globus.tasks.submit_delete` (docs/globus-api.md
B.6), write-ahead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import AlreadyExists, BadInput, NotFound, PermissionDenied
from app.globus.client import transfer_client
from app.globus.errors import calling_globus
from app.globus.types import FileEntry, Listing

# GridFTP passthrough errors (`ExternalError.<Op>Failed.<Why>`, HTTP 502) that the generic
# mapping reads as bad input, but a file manager must tell apart.
_EXTERNAL_WHY = {
    "Exists": AlreadyExists,
    "PermissionDenied": PermissionDenied,
    "NotFound": NotFound,
    "FileNotFound": NotFound,
}


@contextmanager
def _file_operation() -> Iterator[None]:
    """calling_globus(), refined for the ExternalError family."""
    try:
        with calling_globus():
            yield
    except BadInput as mapped:
        code = getattr(mapped.__cause__, "code", None) or ""
        refined = _EXTERNAL_WHY.get(code.rsplit(".", 1)[-1])
        if refined is None or not code.startswith("ExternalError."):
            raise
        raise refined(mapped.message, request_id=mapped.request_id) from mapped.__cause__


def list_folder(
    user_id: int,
    collection_id: str,
    path: str,
    *,
    offset: int = 0,
    limit: int = 100,
    orderby: str = "type ASC,name ASC",
    show_hidden: bool = False,
    name_glob: str = "",
) -> Listing:
    """GET /v0.10/operation/endpoint/<id>/ls: one page of a folder, sorted and filtered
    by Globus, so that no response ever carries the whole of a large folder."""
    params: dict = {
        "show_hidden": show_hidden,
        "orderby": orderby,
        # One more than the page: tells whether a next page exists without a count.
        "limit": limit + 1,
        "offset": offset,
    }
    if path:
        params["path"] = path
    if name_glob:
        params["filter"] = [f"name:~{name_glob}"]
    with _file_operation():
        doc = transfer_client(user_id).operation_ls(collection_id, **params).data
    items = doc.get("DATA", [])
    has_more = len(items) > limit
    entries = [FileEntry.from_api(item) for item in items[:limit]]
    # Some servers echo the page's own length as `total`: trust only a consistent count.
    total = doc.get("total")
    seen = offset + len(items)
    if not isinstance(total, int) or total < seen or (has_more and total == seen):
        total = None
    return Listing(
        collection_id=collection_id,
        path=doc.get("path") or path or "/",
        entries=entries,
        offset=offset,
        limit=limit,
        has_more=has_more,
        total=total,
    )


def stat(user_id: int, collection_id: str, path: str) -> FileEntry:
    """GET /v0.10/operation/endpoint/<id>/stat: one file or folder."""
    with _file_operation():
        doc = transfer_client(user_id).operation_stat(collection_id, path).data
    return FileEntry.from_api(doc)


def make_folder(user_id: int, collection_id: str, path: str) -> None:
    """POST /v0.10/operation/endpoint/<id>/mkdir."""
    with _file_operation():
        transfer_client(user_id).operation_mkdir(collection_id, path)


def rename(user_id: int, collection_id: str, old_path: str, new_path: str) -> None:
    """POST /v0.10/operation/endpoint/<id>/rename."""
    with _file_operation():
        transfer_client(user_id).operation_rename(collection_id, old_path, new_path)
