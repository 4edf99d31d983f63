"""Input rules for transfers and deletes (SECURITY.md, Input), shared by the forms and
the services so that nothing invalid ever reaches Globus."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

# Globus's sync levels, as the form names them -> as the API numbers them (reference B.5).
SYNC_LEVELS = {"exists": 0, "size": 1, "mtime": 2, "checksum": 3}
LABEL_MAX = 128
PATH_MAX = 4096
_UNSAFE_PATH = re.compile(r"[\x00\r\n\\]")
_LABEL_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def is_uuid(value: str | None) -> bool:
    """A collection or task id: a UUID in its canonical text form."""
    try:
        return str(uuid.UUID(str(value))) == str(value).lower()
    except (ValueError, TypeError, AttributeError):
        return False


def path_error(path: str | None) -> str | None:
    """Why `path` cannot be sent to Globus, or None when it can. Unicode is fine."""
    if not path:
        return "Enter a path."
    if _UNSAFE_PATH.search(path):
        return "Paths cannot contain NUL, line breaks or backslashes."
    if not path.startswith(("/", "~")):
        return "Paths start with / (or ~ for your home folder)."
    if len(path) > PATH_MAX:
        return f"Paths are at most {PATH_MAX} characters."
    return None


def name_error(name: str) -> str | None:
    """An item picked in a folder: one name, with a trailing / for a folder."""
    bare = name[:-1] if name.endswith("/") else name
    if not bare or bare in (".", "..") or "/" in bare:
        return f"{name!r} is not a name in this folder."
    if _UNSAFE_PATH.search(bare):
        return "Names cannot contain NUL, line breaks or backslashes."
    return None


def label_error(label: str | None) -> str | None:
    if not label:
        return None
    if len(label) > LABEL_MAX:
        return f"Labels are at most {LABEL_MAX} characters."
    if _LABEL_FORBIDDEN.search(label):
        return "Labels cannot contain line breaks or control characters."
    return None


def deadline_error(deadline: datetime | None, now: datetime | None = None) -> str | None:
    if deadline is None:
        return None
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    if deadline <= (now or datetime.now(UTC)):
        return "The deadline must be in the future."
    return None


def join_path(folder: str, name: str) -> str:
    """'/~/data/' + 'run1/' -> '/~/data/run1/'."""
    return folder.rstrip("/") + "/" + name
