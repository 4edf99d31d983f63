"""The one grammar of paths on a collection (docs/security.md, Input): what the file manager,
the transfer page and the access-rule pages accept, how a name joins a folder, and the
way up (parent, breadcrumbs). Strict, so that nothing ambiguous ever reaches Globus.

A path is absolute ('/…', or '~/…' for the home folder), has no control characters or
backslashes, no '.' or '..' parts and no empty parts ('//'); folders end with '/'.
"""

from __future__ import annotations

from app.errors import BadInput
from app.inputs import has_control

MAX_PATH_CHARS = 4096

UNSAFE = "A path cannot contain backslashes, line breaks or control characters."
RELATIVE = "A path starts with / (or ~ for your home folder)."
DOTS = "A path cannot contain '.' or '..' parts: use Up or the breadcrumbs."
EMPTY_PART = "A path cannot contain empty parts (//)."
TOO_LONG = f"A path is at most {MAX_PATH_CHARS} characters."


def clean(value: str | None, *, folder: bool = True) -> str:
    """`value` checked, stripped of surrounding blanks and, for a folder, ending with '/'.
    Empty stays empty (the collection's default folder); raises `BadInput` otherwise."""
    path = (value or "").strip()
    if not path:
        return ""
    if len(path) > MAX_PATH_CHARS:
        raise BadInput(TOO_LONG)
    if has_control(path) or "\\" in path:
        raise BadInput(UNSAFE)
    if not path.startswith(("/", "~")):
        raise BadInput(RELATIVE)
    if "//" in path:
        raise BadInput(EMPTY_PART)
    if any(part in (".", "..") for part in path.split("/")):
        raise BadInput(DOTS)
    if folder and not path.endswith("/"):
        path += "/"
    return path


def problem(value: str | None, *, folder: bool = True) -> str | None:
    """Why `value` is not a path (the message of `clean`), or None; empty is a problem."""
    if not (value or "").strip():
        return "Enter a path."
    try:
        clean(value, folder=folder)
    except BadInput as error:
        return error.message
    return None


def join(folder: str, name: str) -> str:
    """'/~/data/' + 'run1/' -> '/~/data/run1/'; an empty folder is the root."""
    return (folder or "/").rstrip("/") + "/" + name


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """(label, path) for each folder from the top down to `path` (a folder)."""
    lead = "/" if path.startswith("/") else ""
    crumbs = [("/", "/")] if lead else []
    here = lead
    for part in (p for p in path.split("/") if p):
        here = f"{here}{part}/"
        crumbs.append((part, here))
    return crumbs


def parent(path: str) -> str | None:
    """The folder above `path`, or None at the top ('/' or '~/')."""
    crumbs = breadcrumbs(path)
    return crumbs[-2][1] if len(crumbs) > 1 else None
