"""Collections and bookmarks at Globus Transfer (docs/globus-api.md B.1, B.2, B.12)."""

from __future__ import annotations

from app.globus.client import transfer_client
from app.globus.errors import calling_globus
from app.globus.types import Bookmark, Collection, CollectionPage

# endpoint_search accepts limit ≤ 100 and offset + limit ≤ 1000 (docs/globus-api.md B.1).
SEARCH_MAX_LIMIT = 100
SEARCH_MAX_RESULTS = 1000


def search_collections(
    user_id: int, *, text: str, scope: str, offset: int = 0, limit: int = 25
) -> CollectionPage:
    """GET /v0.10/endpoint_search: one page of collections matching text and scope."""
    limit = max(1, min(limit, SEARCH_MAX_LIMIT, SEARCH_MAX_RESULTS - offset))
    params: dict = {"filter_scope": scope, "limit": limit, "offset": offset}
    if text:
        params["filter_fulltext"] = text
    with calling_globus():
        doc = transfer_client(user_id).endpoint_search(**params).data
    collections = [Collection.from_api(item) for item in doc.get("DATA", [])]
    has_next = bool(doc.get("has_next_page")) and offset + limit < SEARCH_MAX_RESULTS
    return CollectionPage(collections, offset, limit, has_next)


def get_collection(user_id: int, collection_id: str) -> Collection:
    """GET /v0.10/endpoint/<id>: one collection's document."""
    with calling_globus():
        doc = transfer_client(user_id).get_endpoint(collection_id).data
    return Collection.from_api(doc)


def list_bookmarks(user_id: int) -> list[Bookmark]:
    """GET /v0.10/bookmark_list: all of the user's bookmarks (no paging in the API)."""
    with calling_globus():
        doc = transfer_client(user_id).bookmark_list().data
    return [Bookmark.from_api(item) for item in doc.get("DATA", [])]


def create_bookmark(user_id: int, *, collection_id: str, path: str, name: str) -> Bookmark:
    """POST /v0.10/bookmark: a bookmark on a folder (path ends with '/')."""
    body = {"endpoint_id": collection_id, "path": path, "name": name}
    with calling_globus():
        doc = transfer_client(user_id).create_bookmark(body).data
    return Bookmark.from_api(doc)


def get_bookmark(user_id: int, bookmark_id: str) -> Bookmark:
    """GET /v0.10/bookmark/<id>: one bookmark."""
    with calling_globus():
        doc = transfer_client(user_id).get_bookmark(bookmark_id).data
    return Bookmark.from_api(doc)


def rename_bookmark(user_id: int, bookmark_id: str, name: str) -> Bookmark:
    """PUT /v0.10/bookmark/<id>: change a bookmark's name."""
    with calling_globus():
        doc = transfer_client(user_id).update_bookmark(bookmark_id, {"name": name}).data
    return Bookmark.from_api(doc)


def delete_bookmark(user_id: int, bookmark_id: str) -> None:
    """DELETE /v0.10/bookmark/<id>."""
    with calling_globus():
        transfer_client(user_id).delete_bookmark(bookmark_id)
