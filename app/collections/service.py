"""Collections use cases: search, a collection's page, bookmarks, the home summary."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.collections.forms import BOOKMARK_NAME_MAX, PAGE_SIZE, SearchQuery
from app.errors import BadInput, GlobusUnavailable, NotFound, PermissionDenied
from app.globus import collections as globus_collections
from app.globus.task_types import Task
from app.globus.types import Bookmark, Collection, CollectionPage
from app.tasks import service as tasks_service

log = logging.getLogger(__name__)

# Failures that leave the rest of a summary page standing; consent and sign-in problems
# still go to their handlers.
_SOFT_ERRORS = (NotFound, PermissionDenied, BadInput, GlobusUnavailable)

HOME_BOOKMARKS = 8
HOME_RECENT = 5
# Naming a bookmark's collection costs one call each: name at most this many per page.
MAX_NAMED_COLLECTIONS = 25


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    page: CollectionPage | None  # None: nothing to search yet (the "All" tab needs text)


def search(user_id: int, query: SearchQuery) -> SearchResults:
    """One page of the chosen tab, narrowed by the full text if any."""
    if query.scope == "all" and not query.text:
        # Globus wants words for a search of every collection.
        return SearchResults(query, None)
    page = globus_collections.search_collections(
        user_id, text=query.text, scope=query.scope, offset=query.offset, limit=PAGE_SIZE
    )
    return SearchResults(query, page)


@dataclass(frozen=True)
class NamedBookmark:
    bookmark: Bookmark
    collection_name: str | None  # None when Globus would not say (deleted, no access)


@dataclass(frozen=True)
class CollectionDetail:
    collection: Collection
    bookmarks: list[NamedBookmark]


def collection_detail(user_id: int, collection_id: str) -> CollectionDetail:
    """The collection's document and the user's bookmarks on it."""
    collection = globus_collections.get_collection(user_id, collection_id)
    bookmarks = [
        NamedBookmark(b, collection.display_name)
        for b in globus_collections.list_bookmarks(user_id)
        if b.endpoint_id == collection.id
    ]
    return CollectionDetail(collection, bookmarks)


def bookmarks_with_names(user_id: int) -> list[NamedBookmark]:
    """All bookmarks, each with its collection's name where Globus tells it."""
    bookmarks = sorted(globus_collections.list_bookmarks(user_id), key=lambda b: b.name.lower())
    names: dict[str, str | None] = {}
    for bookmark in bookmarks:
        cid = bookmark.endpoint_id
        if cid in names or len(names) >= MAX_NAMED_COLLECTIONS:
            continue
        try:
            names[cid] = globus_collections.get_collection(user_id, cid).display_name
        except (NotFound, PermissionDenied):
            names[cid] = None
    return [NamedBookmark(b, names.get(b.endpoint_id)) for b in bookmarks]


def add_bookmark(user_id: int, collection_id: str, path: str, name: str) -> Bookmark:
    """Bookmark a folder; names are unique per user, so say so before Globus refuses."""
    taken = {b.name.casefold() for b in globus_collections.list_bookmarks(user_id)}
    if name.casefold() in taken:
        raise BadInput(f"You already have a bookmark named “{name}”.")
    return globus_collections.create_bookmark(
        user_id, collection_id=collection_id, path=path or "/", name=name
    )


def rename_bookmark(user_id: int, bookmark_id: str, name: str) -> Bookmark:
    """Give a bookmark a new (unique) name."""
    for other in globus_collections.list_bookmarks(user_id):
        if other.id != bookmark_id and other.name.casefold() == name.casefold():
            raise BadInput(f"You already have a bookmark named “{name}”.")
    return globus_collections.rename_bookmark(user_id, bookmark_id, name)


def get_bookmark(user_id: int, bookmark_id: str) -> Bookmark:
    """One of the user's bookmarks."""
    return globus_collections.get_bookmark(user_id, bookmark_id)


def remove_bookmark(user_id: int, bookmark_id: str) -> None:
    """Delete a bookmark (the folder itself is untouched)."""
    globus_collections.delete_bookmark(user_id, bookmark_id)


@dataclass
class Shortcuts:
    """Ways back into the file manager: bookmarks and recently used collections."""

    bookmarks: list[Bookmark] = field(default_factory=list)
    recent: list[Collection] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def shortcuts(user_id: int) -> Shortcuts:
    """Bookmarks and recently used collections; a part Globus fails on is left out
    and named in `problems`, so the rest of the page still shows."""
    result = Shortcuts()
    try:
        marks = globus_collections.list_bookmarks(user_id)
        marks.sort(key=lambda b: (not b.pinned, b.name.casefold()))
        result.bookmarks = marks[:HOME_BOOKMARKS]
    except _SOFT_ERRORS as error:
        result.problems.append(f"Bookmarks are not available: {error.message}")
    try:
        page = globus_collections.search_collections(
            user_id, text="", scope="recently-used", limit=HOME_RECENT
        )
        result.recent = page.collections
    except _SOFT_ERRORS as error:
        result.problems.append(f"Recently used collections are not available: {error.message}")
    return result


@dataclass
class HomeSummary(Shortcuts):
    """The signed-in home page: shortcuts plus the user's active and recent tasks."""

    active_tasks: list[Task] = field(default_factory=list)
    recent_tasks: list[Task] = field(default_factory=list)


def home_summary(user_id: int) -> HomeSummary:
    """Active and recent tasks (from the tasks area), bookmarks, recent collections."""
    base = shortcuts(user_id)
    summary = HomeSummary(base.bookmarks, base.recent, base.problems)
    try:
        active = tasks_service.list_tasks(user_id, tasks_service.TaskFilters(status="ACTIVE"))
        summary.active_tasks = active.tasks[:HOME_RECENT]
        shown = {task.task_id for task in summary.active_tasks}
        recent = tasks_service.recent_tasks(user_id, limit=HOME_RECENT)
        summary.recent_tasks = [task for task in recent if task.task_id not in shown]
    except _SOFT_ERRORS as error:
        summary.problems.append(f"Your tasks are not available: {error.message}")
    return summary


def default_bookmark_name(collection_name: str, path: str) -> str:
    """'Lab Storage: raw' for /data/raw/; the collection's name for its top folder."""
    last = [p for p in path.split("/") if p][-1:]
    name = f"{collection_name}: {last[0]}" if last else collection_name
    return name[:BOOKMARK_NAME_MAX]
