"""Small typed wrappers for what the Transfer API returns (collections, files, bookmarks).

Each wrapper is built from the API document by `from_api`; its properties read like the UI.
Tasks live in `app.globus.tasks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from app.formatting import human_size, parse_time, when

# entity_type (docs/globus-api.md B.2) → what a researcher reads.
TYPE_LABELS = {
    "GCSv5_mapped_collection": "Mapped collection",
    "GCSv5_guest_collection": "Guest collection",
    "GCSv5_endpoint": "Endpoint",
    "GCP_mapped_collection": "Personal collection",
    "GCP_guest_collection": "Personal guest collection",
    "GCSv4_host": "Endpoint (GCSv4)",
    "GCSv4_share": "Shared endpoint (GCSv4)",
}

ROLE_LABELS = {
    "administrator": "Administrator",
    "access_manager": "Access manager",
    "activity_manager": "Activity manager",
    "activity_monitor": "Activity monitor",
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Collection:
    """A collection or endpoint document (GET endpoint/<id>, endpoint_search)."""

    id: str
    display_name: str
    owner_string: str
    owner_id: str
    entity_type: str
    description: str
    organization: str
    department: str
    contact_email: str
    info_link: str
    keywords: str
    default_directory: str
    host_endpoint_id: str | None
    host_endpoint_display_name: str
    mapped_collection_id: str | None
    mapped_collection_display_name: str
    my_effective_roles: tuple[str, ...]
    high_assurance: bool
    non_functional: bool
    public: bool

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> Collection:
        """Build from an endpoint document; real documents leave many fields null."""
        return cls(
            id=str(doc["id"]),
            display_name=_text(doc.get("display_name"))
            or _text(doc.get("canonical_name"))
            or _text(doc.get("name"))
            or str(doc["id"]),
            owner_string=_text(doc.get("owner_string")) or _text(doc.get("username")),
            owner_id=_text(doc.get("owner_id")),
            entity_type=_text(doc.get("entity_type")),
            description=_text(doc.get("description")),
            organization=_text(doc.get("organization")),
            department=_text(doc.get("department")),
            contact_email=_text(doc.get("contact_email")),
            info_link=_text(doc.get("info_link")),
            keywords=_text(doc.get("keywords")),
            default_directory=_text(doc.get("default_directory")),
            host_endpoint_id=doc.get("host_endpoint_id") or None,
            host_endpoint_display_name=_text(doc.get("host_endpoint_display_name")),
            mapped_collection_id=doc.get("mapped_collection_id") or None,
            mapped_collection_display_name=_text(doc.get("mapped_collection_display_name")),
            my_effective_roles=tuple(doc.get("my_effective_roles") or ()),
            high_assurance=bool(doc.get("high_assurance")),
            non_functional=bool(doc.get("non_functional")),
            public=bool(doc.get("public")),
        )

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.entity_type, self.entity_type or "Collection")

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS.get(r, r) for r in self.my_effective_roles]

    @property
    def safe_info_link(self) -> str:
        """The info link, only if it is a plain web address (never `javascript:`)."""
        link = self.info_link.strip()
        return link if link.lower().startswith(("https://", "http://")) else ""

    @property
    def is_guest(self) -> bool:
        return self.entity_type in ("GCSv5_guest_collection", "GCP_guest_collection")

    @property
    def requires_data_access(self) -> bool:
        # globus-cli's rule (docs/globus-api.md B.2): only non-high-assurance GCSv5 mapped
        # collections.
        return self.entity_type == "GCSv5_mapped_collection" and not self.high_assurance

    @property
    def is_browsable(self) -> bool:
        # A GCSv5 endpoint holds collections; it has no files of its own.
        return self.entity_type != "GCSv5_endpoint" and not self.non_functional


@dataclass(frozen=True, slots=True)
class CollectionPage:
    """One page of endpoint_search results (offset paging with has_next_page)."""

    collections: list[Collection]
    offset: int
    limit: int
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One item of a folder listing (ls DATA) or a stat result."""

    name: str
    type: str
    size: int | None
    last_modified: datetime | None
    permissions: str
    user: str
    group: str
    link_target: str | None

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> FileEntry:
        """Build from a `file` document."""
        size = doc.get("size")
        return cls(
            name=str(doc.get("name", "")),
            type=_text(doc.get("type")) or "file",
            size=size if isinstance(size, int) else None,
            last_modified=parse_time(doc.get("last_modified")),
            permissions=_text(doc.get("permissions")),
            user=_text(doc.get("user")),
            group=_text(doc.get("group")),
            link_target=doc.get("link_target") or None,
        )

    @property
    def is_dir(self) -> bool:
        return self.type == "dir"

    @property
    def is_symlink(self) -> bool:
        return self.link_target is not None or self.type == "invalid_symlink"

    @property
    def is_hidden(self) -> bool:
        return self.name.startswith(".")

    @property
    def type_label(self) -> str:
        return {"dir": "Folder", "file": "File", "invalid_symlink": "Broken link"}.get(
            self.type, self.type.capitalize()
        )

    # Display strings as properties: a listing of 100 rows reads them without the cost of
    # a template call per cell.
    @property
    def size_text(self) -> str:
        """'—' for folders, else '1.5 MB' (decimal units, like Jinja's filesizeformat)."""
        if self.is_dir or self.size is None:
            return "—"
        return human_size(self.size)

    @property
    def modified(self) -> Markup:
        """The modification time as a <time> element (the `when` filter's), '' if unknown."""
        return when(self.last_modified, empty="")


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a folder: at most `limit` entries starting at `offset`.

    `total` is the folder's entry count when Globus says so, else None; `has_more` says
    whether a next page exists (known without ever fetching all entries).
    """

    collection_id: str
    path: str
    entries: list[FileEntry]
    offset: int
    limit: int
    has_more: bool
    total: int | None = None

    @property
    def first_number(self) -> int:
        return self.offset + 1 if self.entries else self.offset

    @property
    def last_number(self) -> int:
        return self.offset + len(self.entries)

    @property
    def page_count(self) -> int | None:
        """How many pages the folder has, when Globus says how many entries."""
        if self.total is None:
            return None
        return max(1, (self.total - 1) // max(1, self.limit) + 1)


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A bookmark: a named folder of a collection (bookmark_list, bookmark/<id>)."""

    id: str
    name: str
    endpoint_id: str
    path: str
    pinned: bool = False

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> Bookmark:
        """Build from a `bookmark` document."""
        return cls(
            id=str(doc["id"]),
            name=_text(doc.get("name")),
            endpoint_id=str(doc.get("endpoint_id", "")),
            path=_text(doc.get("path")) or "/",
            pinned=bool(doc.get("pinned")),
        )
