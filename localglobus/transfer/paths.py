"""Collection paths: what a client may name, and where it lands on disk.

A client path is absolute inside the collection ("/a/b/"). `/~/` is the collection's
default directory, which on localglobus is the collection root: there are no per-user
home directories. A path never leaves the root: `..` components, NUL and control
characters, backslashes and percent-encoded dots or slashes are refused before touching
the disk, and the disk path is checked after `realpath` so that a symlink pointing
outside the root is refused too.
"""

from __future__ import annotations

import os
import re

# Percent-encoded ".", "/", "\", NUL and "%" itself: a client that sends them is trying
# to smuggle a traversal past a decoder somewhere; Globus paths are never URL-encoded.
_ENCODED = re.compile(r"%(2e|2f|5c|00|25)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PathRefused(Exception):
    """A malformed path (`bad=True`, a 400) or one that leaves the root (a 403)."""

    def __init__(self, message: str, bad: bool = True):
        super().__init__(message)
        self.message = message
        self.bad = bad


def normalize(path: str | None, default: str = "/~/") -> str:
    """The canonical collection path of `path`: "/" or "/a/b" (no trailing slash).

    Raises PathRefused for anything that could name a place outside the collection.
    """
    if path is None or path == "":
        path = default
    if not isinstance(path, str):
        raise PathRefused("Path must be a string")
    if _CONTROL.search(path) or "\\" in path or _ENCODED.search(path):
        raise PathRefused(f"Invalid path {path!r}")
    if path == "~" or path.startswith("~/"):
        path = "/" + path
    if not path.startswith("/"):
        raise PathRefused(f"Path must be absolute: {path!r}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if parts and parts[0] == "~":
        parts = parts[1:]
    if ".." in parts:
        raise PathRefused(f"Path may not contain '..': {path!r}")
    return "/" + "/".join(parts)


def join(vpath: str, name: str) -> str:
    """The collection path of entry `name` inside directory `vpath`."""
    return vpath.rstrip("/") + "/" + name if vpath != "/" else "/" + name


def parent(vpath: str) -> str:
    head = vpath.rsplit("/", 1)[0]
    return head or "/"


def basename(vpath: str) -> str:
    return vpath.rsplit("/", 1)[-1]


def as_dir(vpath: str) -> str:
    """A directory path as Globus echoes it, with a trailing slash."""
    return vpath if vpath.endswith("/") else vpath + "/"


def inside(root: str, real: str) -> bool:
    """Whether the real path `real` is `root` or below it."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def real_root(root: str) -> str:
    return os.path.realpath(root)


def resolve(root: str, vpath: str) -> str:
    """The disk path of `vpath`, following symlinks; refused if it lands outside root."""
    root = real_root(root)
    real = os.path.realpath(os.path.join(root, vpath.lstrip("/")))
    if not inside(root, real):
        raise PathRefused(f"Path {vpath!r} leads outside the collection", bad=False)
    return real


def resolve_entry(root: str, vpath: str) -> str:
    """The disk path of `vpath` itself (its last component not followed), for operations
    that act on a link rather than its target: delete, rename, mkdir, stat of the link."""
    root = real_root(root)
    if vpath == "/":
        return root
    folder = resolve(root, parent(vpath))
    return os.path.join(folder, basename(vpath))


def to_virtual(root: str, real: str) -> str | None:
    """The collection path of a disk path, or None when it is outside the root."""
    root = real_root(root)
    if not inside(root, real):
        return None
    rel = os.path.relpath(real, root)
    return "/" if rel == "." else "/" + rel.replace(os.sep, "/")


def covers(rule_path: str, vpath: str) -> bool:
    """Whether an ACL/dir path ("/a/", always with a trailing slash) covers `vpath`."""
    rule = as_dir(rule_path)
    return rule == "/" or as_dir(vpath).startswith(rule)


TEMP_PREFIX = ".lgpart."


def temp_name(name: str, task_id: str, seq: int) -> str:
    """The hidden name a file is written under before it is renamed into place; it is
    fixed per task record, so a resumed task overwrites its own leftover."""
    return f"{TEMP_PREFIX}{task_id[:8]}.{seq}.{name}"[:255]


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)
