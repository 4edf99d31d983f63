"""One rule per kind of input (docs/security.md, Input): names, labels, ids, free text and
paging numbers. Each rule returns the cleaned value or raises `BadInput` with a message
a user can act on; `validator` makes any of them a WTForms validator, so a query string
and a form are held to the same rule. Paths have their own module (app.paths).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from wtforms.validators import ValidationError

from app.errors import BadInput
from app.formatting import as_utc

# Every C0 control character and DEL: never typed by a person on one line.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_BYTES = 255  # NAME_MAX on the file systems Globus serves
MAX_LABEL_CHARS = 128  # Globus's limit on a task label


def has_control(text: str, *, lines: bool = False) -> bool:
    """Whether `text` holds a control character; with `lines`, tabs and line breaks (a
    text area's) are allowed."""
    if lines:
        text = text.replace("\t", "").replace("\r", "").replace("\n", "")
    return bool(CONTROL.search(text))


def clean_text(
    value: str | None, *, max_chars: int, lines: bool = False, what: str = "The text"
) -> str:
    """Free text (a search, a message, a principal): stripped, at most `max_chars`, and on
    one line unless `lines`."""
    text = (value or "").strip()
    if len(text) > max_chars:
        raise BadInput(f"{what} is at most {max_chars} characters.")
    if has_control(text, lines=lines):
        if lines:
            raise BadInput(f"{what} cannot contain control characters.")
        raise BadInput(f"{what} must be one line, without control characters.")
    return text


def clean_name(value: str | None, *, what: str = "A name") -> str:
    """A single file or folder name: Unicode welcome; no '/', no control characters,
    not '.' or '..', at most 255 bytes in UTF-8."""
    name = (value or "").strip()
    if not name:
        raise BadInput(f"{what} is required.")
    if has_control(name) or "\\" in name or "/" in name:
        raise BadInput(
            f"{what} cannot contain '/', backslashes, line breaks or control characters."
        )
    if name in (".", ".."):
        raise BadInput(f"{what} cannot be '.' or '..'.")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadInput(f"{what} is too long (at most {MAX_NAME_BYTES} bytes).")
    return name


def clean_label(value: str | None) -> str | None:
    """A task label: optional, one line, at most 128 characters (Globus's limit)."""
    if not value:
        return None
    if len(value) > MAX_LABEL_CHARS:
        raise BadInput(f"Labels are at most {MAX_LABEL_CHARS} characters.")
    if has_control(value):
        raise BadInput("Labels cannot contain line breaks or control characters.")
    return value


def is_uuid(value: object) -> bool:
    """A collection, task or group id: a UUID in its canonical text form."""
    try:
        return str(uuid.UUID(str(value))) == str(value).lower()
    except (ValueError, TypeError, AttributeError):
        return False


def clean_uuid(value: str | None, *, message: str) -> str:
    """A UUID in canonical form (blanks around it forgiven), else `message`."""
    try:
        return str(uuid.UUID(str(value or "").strip()))
    except ValueError:
        raise BadInput(message) from None


def clean_collection_id(value: str | None) -> str:
    """A collection id must be a UUID."""
    return clean_uuid(value, message="That is not a collection id (a UUID such as 1f2e…).")


def clean_page(value: object, *, maximum: int) -> int:
    """A page number from a query string: 1 when absent, else 1 to `maximum`."""
    try:
        page = int(str(value)) if value not in (None, "") else 1
    except ValueError:
        raise BadInput("The page must be a number.") from None
    if not 1 <= page <= maximum:
        raise BadInput(f"The page must be between 1 and {maximum}.")
    return page


def clean_deadline(value: datetime | None, *, now: datetime | None = None) -> datetime | None:
    """An optional deadline in the future; one without a zone is UTC (the forms say so)."""
    if value is None:
        return None
    deadline = as_utc(value)
    if deadline <= (now or datetime.now(UTC)):
        raise BadInput("The deadline must be in the future.")
    return deadline


def problem(rule: Callable[..., Any], value: Any, **kwargs: Any) -> str | None:
    """The message `rule` raises for `value`, or None when it passes."""
    try:
        rule(value, **kwargs)
    except BadInput as error:
        return error.message
    return None


def validator(rule: Callable[..., Any], **kwargs: Any) -> Callable[[Any, Any], None]:
    """`rule` as a WTForms validator: the field holds the cleaned value, and a `BadInput`
    becomes the field's error."""

    def check(form: Any, field: Any) -> None:
        try:
            field.data = rule(field.data, **kwargs)
        except BadInput as error:
            raise ValidationError(error.message) from None

    return check


class PageLinks:
    """The neighbouring page numbers of a paged query or result with a 1-based `page`,
    for the Previous/Next links (templates compute no pages themselves)."""

    page: int

    @property
    def previous_page(self) -> int:
        return max(1, self.page - 1)

    @property
    def next_page(self) -> int:
        return self.page + 1
