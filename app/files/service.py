"""File manager use cases: browse a folder page by page, make a folder, rename, delete."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from threading import Lock
from typing import TypeVar

from flask import current_app
from flask.globals import app_ctx

from app import paths
from app.collections import service as collections_service
from app.errors import AlreadyExists, GlobusUnavailable, NotFound, PermissionDenied
from app.files.forms import PAGE_SIZE, BrowseQuery
from app.globus import collections as globus_collections
from app.globus import files as globus_files
from app.globus.types import Collection, FileEntry, Listing
from app.transfers import service as transfers_service

T = TypeVar("T")


@dataclass(frozen=True)
class Folder:
    """A page of a folder and what the page needs around it."""

    collection: Collection
    listing: Listing
    query: BrowseQuery

    @property
    def path(self) -> str:
        return self.listing.path

    @property
    def crumbs(self) -> list[tuple[str, str]]:
        """(label, path) from the root down to this folder."""
        return paths.breadcrumbs(self.path)

    @property
    def bookmark_name(self) -> str:
        """A name to suggest for a bookmark of this folder."""
        return collections_service.default_bookmark_name(self.collection.display_name, self.path)

    @property
    def parent(self) -> str | None:
        """The folder above, or None at the top ('/')."""
        return paths.parent(self.path)


def browse(user_id: int, query: BrowseQuery) -> Folder:
    """The collection and one page of the folder, sorted and filtered at Globus.

    The collection document is reused for a minute (see `_RecentCollections`); when it
    must be fetched, it is fetched alongside the listing (an empty path lets Globus pick
    the default folder, so neither call waits for the other)."""
    recent = _recent_collections()
    collection = recent.get(user_id, query.collection_id)
    if collection is not None:
        return Folder(collection, _list_page(user_id, query), query)
    with ThreadPoolExecutor(max_workers=1) as pool:
        fetch = _in_app_context(globus_collections.get_collection)
        fetching = pool.submit(fetch, user_id, query.collection_id)
        listing = _list_page(user_id, query)
        collection = fetching.result()
    recent.put(user_id, collection)
    return Folder(collection, listing, query)


def _list_page(user_id: int, query: BrowseQuery) -> Listing:
    return globus_files.list_folder(
        user_id,
        query.collection_id,
        query.path,
        offset=query.offset,
        limit=PAGE_SIZE,
        orderby=query.orderby,
        show_hidden=query.show_hidden,
        name_glob=query.name_glob,
    )


class _RecentCollections:
    """Collection documents each user fetched in the last minute, per app and process.

    Paging through a folder shows the collection's name on every page; asking Globus for
    it each time would double the calls. Nothing here is needed by another worker (a miss
    just asks Globus), and the file manager shows only names and types, which a minute
    of staleness does not hurt; a collection's own page always asks afresh."""

    def __init__(self, size: int = 512, ttl: float = 60.0):
        self.size, self.ttl = size, ttl
        self.items: OrderedDict[tuple[int, str], tuple[float, Collection]] = OrderedDict()
        self.lock = Lock()

    def get(self, user_id: int, collection_id: str) -> Collection | None:
        with self.lock:
            found = self.items.get((user_id, collection_id))
            if found is None or found[0] < time.monotonic():
                return None
            return found[1]

    def put(self, user_id: int, collection: Collection) -> None:
        with self.lock:
            self.items[(user_id, collection.id)] = (time.monotonic() + self.ttl, collection)
            self.items.move_to_end((user_id, collection.id))
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def _recent_collections() -> _RecentCollections:
    return current_app.extensions.setdefault("ferry.recent_collections", _RecentCollections())


def _in_app_context(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn`, run in another thread within this app (the token store needs it)."""
    app = app_ctx.app  # the app itself, not the proxy bound to this thread

    def run(*args, **kwargs) -> T:
        with app.app_context():
            return fn(*args, **kwargs)

    return run


@contextmanager
def _explained(*, exists: str, denied: str, missing: str) -> Iterator[None]:
    """Globus's refusals of a mkdir or rename, reworded for the file manager's messages."""
    try:
        yield
    except AlreadyExists as error:
        raise AlreadyExists(exists, request_id=error.request_id) from error
    except PermissionDenied as error:
        raise PermissionDenied(denied, request_id=error.request_id) from error
    except NotFound as error:
        raise NotFound(missing, request_id=error.request_id) from error


def make_folder(user_id: int, collection_id: str, path: str, name: str) -> str:
    """Create `name` in the folder `path`; returns the new folder's path."""
    new_path = paths.join(path, name)
    with _explained(
        exists=f"“{name}” already exists in {path}.",
        denied=f"You may not create folders in {path}.",
        missing=f"The folder {path} does not exist.",
    ):
        globus_files.make_folder(user_id, collection_id, new_path)
    return new_path + "/"


def rename_item(user_id: int, collection_id: str, path: str, old_name: str, new_name: str) -> None:
    """Rename `old_name` to `new_name` within the folder `path`."""
    with _explained(
        exists=f"“{new_name}” already exists in {path}.",
        denied=f"You may not rename “{old_name}” in {path}.",
        missing=f"“{old_name}” no longer exists in {path}.",
    ):
        globus_files.rename(
            user_id, collection_id, paths.join(path, old_name), paths.join(path, new_name)
        )


@dataclass(frozen=True)
class DeletePlan:
    """What a delete would remove, checked item by item at Globus."""

    collection: Collection
    path: str
    entries: list[FileEntry]
    missing: list[str]
    submission_id: str

    @property
    def recursive(self) -> bool:
        return any(entry.is_dir for entry in self.entries)

    @property
    def folders(self) -> list[FileEntry]:
        return [entry for entry in self.entries if entry.is_dir]


def plan_delete(
    user_id: int, collection_id: str, path: str, names: list[str], submission_id: str | None
) -> DeletePlan:
    """Stat each selected item (so the confirmation names exactly what goes, and knows
    whether folders make it recursive), and fix the submission id now: submitting the
    confirmation twice then creates one task."""
    collection = globus_collections.get_collection(user_id, collection_id)
    entries, missing = [], []
    for name in names:
        try:
            entry = globus_files.stat(user_id, collection_id, paths.join(path, name))
        except NotFound:
            missing.append(name)
            continue
        # stat names the item by its own name; keep the one the user selected.
        entries.append(entry if entry.name == name else replace(entry, name=name))
    if entries and not submission_id:
        submission_id = transfers_service.new_submission_id(user_id)
    return DeletePlan(collection, path, entries, missing, submission_id or "")


def submit_delete(
    user_id: int,
    collection_id: str,
    path: str,
    names: list[str],
    *,
    recursive: bool,
    submission_id: str,
) -> str:
    """Submit the delete task, write-ahead through the transfers area (the submission
    is stored before the POST); returns its task id."""
    targets = [paths.join(path, name) for name in names]
    label = f"Delete {len(targets)} item{'s' if len(targets) != 1 else ''} in {path}"
    submission = transfers_service.submit_delete(
        user_id,
        collection_id,
        targets,
        recursive,
        label=_label(label),
        submission_id=submission_id,
    )
    if submission.task_id is None:
        # A submitted delete has its task id; anything else is not at Globus yet.
        raise GlobusUnavailable("Globus has not confirmed the delete; try again.")
    return submission.task_id


def _label(text: str) -> str:
    # Labels are for people; keep them short and plain (Globus refuses some characters).
    text = re.sub(r"[^\w .,/~()-]", "_", text)
    return text if len(text) <= 128 else text[:125] + "..."
