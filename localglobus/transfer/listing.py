"""File documents for ls and stat, and the ls filter/orderby grammar (docs/globus-api.md B.3)."""

from __future__ import annotations

import fnmatch
import grp
import operator
import os
import pwd
import stat as stat_mod
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from localglobus.errors import bad_request
from localglobus.transfer.paths import inside, real_root, to_virtual
from localglobus.transfer.times import ls_time, parse_time

ORDER_FIELDS = ("group", "last_modified", "name", "permissions", "size", "type", "user")


@lru_cache(maxsize=256)
def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@lru_cache(maxsize=256)
def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _kind(mode: int) -> str:
    if stat_mod.S_ISDIR(mode):
        return "dir"
    if stat_mod.S_ISREG(mode):
        return "file"
    if stat_mod.S_ISCHR(mode):
        return "chr"
    if stat_mod.S_ISBLK(mode):
        return "blk"
    if stat_mod.S_ISFIFO(mode):
        return "pipe"
    return "other"


def file_doc(root: str, disk_path: str, name: str) -> dict:
    """One ls entry. A symlink is shown as its target (type, size, times), with `link_*`
    describing the link itself; a link that is broken or leaves the collection is an
    `invalid_symlink` whose target is not revealed."""
    lst = os.lstat(disk_path)
    link: dict[str, str | int | None] = {
        "link_group": None,
        "link_last_modified": None,
        "link_size": None,
        "link_target": None,
        "link_user": None,
    }
    st = lst
    kind = None
    if stat_mod.S_ISLNK(lst.st_mode):
        link = {
            "link_group": _group(lst.st_gid),
            "link_last_modified": ls_time(lst.st_mtime),
            "link_size": lst.st_size,
            "link_target": None,
            "link_user": _user(lst.st_uid),
        }
        root = real_root(root)
        target = os.path.realpath(disk_path)
        if inside(root, target) and os.path.exists(target):
            st = os.stat(target)
            link["link_target"] = to_virtual(root, target)
        else:
            kind = "invalid_symlink"
    return {
        "DATA_TYPE": "file",
        "group": _group(st.st_gid),
        "last_modified": ls_time(st.st_mtime),
        **link,
        "name": name,
        "permissions": f"{stat_mod.S_IMODE(st.st_mode):04o}",
        "size": st.st_size,
        "type": kind or _kind(st.st_mode),
        "user": _user(st.st_uid),
    }


# Fields known from a directory entry alone (its name and d_type), without a stat call.
CHEAP_FIELDS = {"name", "type"}


def fields_used(raw_filters: list[str], orderby: str | None) -> set[str]:
    """The document fields that the filters and the order look at."""
    used = {"name"}
    for raw in raw_filters:
        for part in raw.split("/"):
            if part:
                used.add(part.partition(":")[0].strip())
    for part in (orderby or "").split(","):
        words = part.strip().split()
        if words:
            used.add(words[0])
    return used


def cheap_doc(entry: os.DirEntry) -> dict | None:
    """{name, type} from the directory entry alone, or None when only a stat can tell
    (symlinks, devices, pipes: is_dir/is_file without following links are false)."""
    if entry.is_dir(follow_symlinks=False):
        return {"name": entry.name, "type": "dir"}
    if entry.is_file(follow_symlinks=False):
        return {"name": entry.name, "type": "file"}
    return None


def scan(root: str, folder: str, *, show_hidden: bool, keep, cheap: bool) -> list[dict]:
    """The folder's entries that `keep` accepts: {name, type} docs when `cheap` (the
    caller completes the page with `complete`), full documents otherwise."""
    docs = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not show_hidden and entry.name.startswith("."):
                continue
            doc = cheap_doc(entry) if cheap else None
            if doc is None:
                try:
                    doc = file_doc(root, entry.path, entry.name)
                except FileNotFoundError:
                    continue  # removed while listing
            if keep(doc):
                docs.append(doc)
    return docs


def complete(root: str, folder: str, docs: list[dict]) -> list[dict]:
    """Full documents for a page of docs, some of which are {name, type} only."""
    page = []
    for doc in docs:
        if "DATA_TYPE" not in doc:
            try:
                doc = file_doc(root, os.path.join(folder, doc["name"]), doc["name"])
            except FileNotFoundError:
                continue  # removed since the scan
        page.append(doc)
    return page


class ListingCache:
    """Sorted {name, type} listings of big folders, so that page 2 of a 100,000-entry
    folder does not rescan and resort it. Valid while the folder's mtime is unchanged;
    a listing is kept only when that mtime is at least a second old, because a change
    within the filesystem's timestamp tick would not move it ("racy" entries)."""

    MIN_ENTRIES = 5000
    SIZE = 4

    def __init__(self):
        self._items: dict[tuple, tuple[int, list[dict]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, folder: str) -> list[dict] | None:
        with self._lock:
            hit = self._items.get(key)
        if hit is None or hit[0] != os.stat(folder).st_mtime_ns:
            return None
        return hit[1]

    def put(self, key: tuple, folder: str, mtime_ns: int, docs: list[dict]) -> None:
        if len(docs) < self.MIN_ENTRIES or time.time_ns() - mtime_ns < 1_000_000_000:
            return
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (mtime_ns, docs)
            while len(self._items) > self.SIZE:
                self._items.pop(next(iter(self._items)))


LISTINGS = ListingCache()


def cheap_listing(root, folder, *, show_hidden, filters, orderby, keep) -> list[dict]:
    """The sorted {name, type} listing of `folder`, from the cache when still valid."""
    key = (folder, show_hidden, tuple(filters), orderby)
    docs = LISTINGS.get(key, folder)
    if docs is None:
        mtime_ns = os.stat(folder).st_mtime_ns
        docs = sort_docs(
            scan(root, folder, show_hidden=show_hidden, keep=keep, cheap=True), orderby
        )
        LISTINGS.put(key, folder, mtime_ns, docs)
    return docs


def _name_test(value: str):
    """One `name:` alternative: `=x`/`x` exact, `~glob`, `!x`, `!~glob`."""
    negate = value.startswith("!")
    if negate:
        value = value[1:]
    if value.startswith("~"):
        pattern = value[1:]

        def test(name: str) -> bool:
            return fnmatch.fnmatchcase(name, pattern)

    else:
        exact = value[1:] if value.startswith("=") else value

        def test(name: str) -> bool:
            return name == exact

    return negate, test


def _clause(key: str, value: str):
    if key == "name":
        tests = [_name_test(v) for v in value.split(",") if v != ""]
        positives = [t for neg, t in tests if not neg]
        negatives = [t for neg, t in tests if neg]

        def match(doc: dict) -> bool:
            name = doc["name"]
            if positives and not any(t(name) for t in positives):
                return False
            return not any(t(name) for t in negatives)

        return match
    if key == "type":
        kinds = {v.strip() for v in value.split(",") if v.strip()}
        return lambda doc: doc["type"] in kinds
    if key == "last_modified":
        start, _, end = value.partition(",")
        low = parse_time(start, "filter").timestamp() if start.strip() else None
        high = parse_time(end, "filter").timestamp() if end.strip() else None

        def in_range(doc: dict) -> bool:
            when = parse_time(doc["last_modified"]).timestamp()
            return (low is None or when >= low) and (high is None or when <= high)

        return in_range
    if key == "size":
        return _size_clause(value)
    raise bad_request(f"Unsupported filter field {key!r}")


_SIZE_OPS = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}


def _size_clause(value: str):
    for op, test in _SIZE_OPS.items():
        if value.startswith(op):
            try:
                number = int(value[len(op) :])
            except ValueError:
                break
            return lambda doc: test(doc["size"], number)
    raise bad_request(f"Invalid size filter {value!r}")


def parse_filters(raw_filters: list[str]):
    """A predicate for the `filter` parameters: each may hold clauses joined by "/", every
    clause must hold (repeated parameters and clauses are ANDed)."""
    clauses = []
    for raw in raw_filters:
        for part in raw.split("/"):
            if not part:
                continue
            key, sep, value = part.partition(":")
            if not sep:
                raise bad_request(f"Invalid filter {part!r}")
            clauses.append(_clause(key.strip(), value))
    return lambda doc: all(c(doc) for c in clauses)


def _none_last(field: str) -> Callable[[dict], tuple[bool, Any]]:
    """A sort key on `field` that puts documents without a value after the others."""
    return lambda doc: (doc[field] is None, doc[field])


def sort_docs(docs: list[dict], orderby: str | None) -> list[dict]:
    """Sort by `orderby` ("type,name DESC"); by name when absent."""
    specs = []
    for part in (orderby or "name ASC").split(","):
        words = part.strip().split()
        if not words:
            continue
        field = words[0]
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if field not in ORDER_FIELDS or direction not in ("ASC", "DESC"):
            raise bad_request(f"Invalid orderby {part.strip()!r}")
        specs.append((field, direction == "DESC"))
    for field, reverse in reversed(specs):
        if field in CHEAP_FIELDS:
            docs.sort(key=operator.itemgetter(field), reverse=reverse)  # never None
        else:
            docs.sort(key=_none_last(field), reverse=reverse)
    return docs
