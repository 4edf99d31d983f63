"""The reading side of the two-pane transfer page: what each pane shows (a collection
chooser by search or bookmark, and one page of a folder). Reads only; no commit."""

from __future__ import annotations

from dataclasses import dataclass, field

from app import inputs, paths
from app.errors import BadInput, ConsentRequired, NotFound, PermissionDenied
from app.globus import collections as globus_collections
from app.globus import files as globus_files
from app.globus.types import Bookmark, Collection, Listing

PANE_PAGE_SIZE = 100
SEARCH_RESULTS = 10
SIDES = ("src", "dst")


@dataclass
class Pane:
    """One side of the page. `listing` is set once a collection and folder are known."""

    side: str
    collection_id: str = ""
    path: str = ""
    query: str = ""
    offset: int = 0
    collection: Collection | None = None
    listing: Listing | None = None
    results: list[Collection] = field(default_factory=list)
    error: str | None = None
    note: str | None = None

    @property
    def title(self) -> str:
        return "Source" if self.side == "src" else "Destination"

    @property
    def folder(self) -> str:
        """The folder a transfer reads from or writes into (as Globus resolved it)."""
        return self.listing.path if self.listing else self.path

    @property
    def is_ready(self) -> bool:
        return self.listing is not None

    @property
    def parent(self) -> str | None:
        return paths.parent(self.folder)

    @property
    def crumbs(self) -> list[tuple[str, str]]:
        """(name, path) for each folder on the way to this one."""
        return paths.breadcrumbs(self.folder)


def load_pane(
    user_id: int, side: str, *, collection_id: str, path: str, query: str, offset: int = 0
) -> Pane:
    """Search results for `query`, and the folder `path` of `collection_id` when given.
    A pane's own problem (not found, no permission, bad id) is shown in that pane;
    consent and outages propagate to the page (the consent step-up, the error page)."""
    pane = Pane(side, collection_id=collection_id, path=path, query=query, offset=offset)
    try:
        if query:
            pane.results = globus_collections.search_collections(
                user_id, text=query, scope="all", limit=SEARCH_RESULTS
            ).collections
        if collection_id:
            _load_folder(user_id, pane)
    except (NotFound, PermissionDenied, BadInput) as error:
        pane.error = error.message
    return pane


def static_pane(side: str, *, collection_id: str, path: str) -> Pane:
    """A pane rebuilt from a posted form, with no call to Globus (form errors)."""
    return Pane(side, collection_id=collection_id, path=path)


def load_bookmarks(user_id: int) -> list[Bookmark]:
    """The user's bookmarks, offered in both panes; an error leaves the list empty."""
    try:
        return globus_collections.list_bookmarks(user_id)
    except (NotFound, PermissionDenied, BadInput):
        return []


def _load_folder(user_id: int, pane: Pane) -> None:
    if not inputs.is_uuid(pane.collection_id):
        pane.error = "That is not a valid collection id."
        return
    if pane.path and paths.problem(pane.path):
        pane.error = paths.problem(pane.path)
        return
    pane.collection = globus_collections.get_collection(user_id, pane.collection_id)
    path = pane.path or pane.collection.default_directory or "/~/"
    try:
        pane.listing = globus_files.list_folder(
            user_id, pane.collection_id, path, offset=max(0, pane.offset), limit=PANE_PAGE_SIZE
        )
    except NotFound:
        if pane.side == "src" or not path.endswith("/"):
            raise
        # A destination folder may be new: Globus creates it (and its parents).
        pane.listing = Listing(pane.collection_id, path, [], 0, PANE_PAGE_SIZE, False, 0)
        pane.note = "This folder does not exist yet; the transfer will create it."


# The page's state lives in its query string, one set of keys per side.
PAGE_KEYS = tuple(f"{side}{suffix}" for side in SIDES for suffix in ("", "_path", "_q", "_offset"))


@dataclass
class TransferPage:
    """Both panes, the user's bookmarks, and a fresh submission_id once both folders
    are known (the transfer form is shown then)."""

    source: Pane
    destination: Pane
    bookmarks: list[Bookmark] = field(default_factory=list)
    submission_id: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    pending: list = field(default_factory=list)  # Submissions not yet at Globus

    @property
    def panes(self) -> list[Pane]:
        return [self.source, self.destination]

    @property
    def ready(self) -> bool:
        return self.source.is_ready and self.destination.is_ready

    def link(self, **changes) -> dict[str, str]:
        """Query arguments for this page with `changes` applied (None removes a key)."""
        merged = {**self.args, **changes}
        return {k: str(val) for k, val in merged.items() if val not in (None, "", 0)}

    def swapped(self) -> dict[str, str]:
        """The same two folders, with source and destination exchanged."""
        return self.link(
            src=self.destination.collection_id,
            src_path=self.destination.folder,
            dst=self.source.collection_id,
            dst_path=self.source.folder,
            src_q=None,
            dst_q=None,
            src_offset=None,
            dst_offset=None,
        )

    def form_data(self) -> dict[str, str | None]:
        return {
            "submission_id": self.submission_id,
            "source_id": self.source.collection_id,
            "source_path": self.source.folder,
            "destination_id": self.destination.collection_id,
            "destination_path": self.destination.folder,
        }


def load_page(user_id: int, args) -> TransferPage:
    """Read the panes named by the query string; mint a submission_id for the form."""
    from app.transfers.service import new_submission_id, pending_submissions

    kept = {k: args.get(k, "").strip() for k in PAGE_KEYS if args.get(k, "").strip()}
    panes, scopes = [], []
    for side in SIDES:
        try:
            panes.append(
                load_pane(
                    user_id,
                    side,
                    collection_id=kept.get(side, ""),
                    path=kept.get(f"{side}_path", ""),
                    query=kept.get(f"{side}_q", ""),
                    offset=_int(kept.get(f"{side}_offset")),
                )
            )
        except ConsentRequired as error:
            # Both sides may need consent (two mapped collections): ask once for all.
            scopes += [s for s in error.required_scopes if s not in scopes]
    if scopes:
        raise ConsentRequired("Missing required data_access consent", required_scopes=scopes)
    source, destination = panes
    page = TransferPage(source, destination, bookmarks=load_bookmarks(user_id), args=kept)
    page.pending = pending_submissions(user_id)
    if page.ready:
        page.submission_id = new_submission_id(user_id)
    return page


def static_page(source_id: str, source_path: str, dest_id: str, dest_path: str) -> TransferPage:
    """The page rebuilt from a posted form that did not validate: no call to Globus."""
    return TransferPage(
        static_pane("src", collection_id=source_id, path=source_path),
        static_pane("dst", collection_id=dest_id, path=dest_path),
        args={"src": source_id, "src_path": source_path, "dst": dest_id, "dst_path": dest_path},
    )


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
