"""What the file manager accepts (docs/security.md, Input): checked before any call to Globus.

The rules themselves are app.inputs and app.paths; they raise `BadInput` (a 400 page)
for query strings, and the WTForms validators below reuse them for forms.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import ValidationError

from app import paths
from app.errors import BadInput
from app.inputs import (
    PageLinks,
    clean_collection_id,
    clean_name,
    clean_page,
    clean_uuid,
    has_control,
)
from app.inputs import validator as _validator

PAGE_SIZE = 100
MAX_PAGE = 10_000
MAX_FILTER_CHARS = 255
MAX_DELETE_ITEMS = 100
EXPIRED = "This confirmation has expired; please start again."

SORT_FIELDS = {"name": "name", "size": "size", "modified": "last_modified", "type": "type"}


def clean_submission_id(value: str | None) -> str | None:
    """An optional submission id (a UUID) carried by a confirmation page."""
    if not value:
        return None
    return clean_uuid(value, message=EXPIRED)


class FolderForm(FlaskForm):
    """Where an action happens: a collection and a folder of it, plus where to come
    back after a consent step-up (read by app.errors)."""

    collection = HiddenField(validators=[_validator(clean_collection_id)])
    path = HiddenField(validators=[_validator(paths.clean)])
    return_to = HiddenField()


class MkdirForm(FolderForm):
    name = StringField("Folder name", validators=[_validator(clean_name, what="The name")])


class RenameForm(FolderForm):
    old_name = HiddenField(validators=[_validator(clean_name, what="The current name")])
    new_name = StringField("New name", validators=[_validator(clean_name, what="The new name")])


class DeleteForm(FolderForm):
    """The confirmed delete: exact items, a submission id fixed when the confirmation
    page was shown (a double click sends the same id: one task), and for folders the
    explicit confirmation that everything inside them goes too."""

    submission_id = HiddenField()
    recursive = HiddenField()
    confirm_recursive = BooleanField("Yes, delete these folders and everything in them")

    def validate_submission_id(self, field):
        try:
            field.data = clean_submission_id(field.data)
        except BadInput as error:
            raise ValidationError(error.message) from None
        if not field.data:
            raise ValidationError(EXPIRED)

    def validate_confirm_recursive(self, field):
        if self.recursive.data == "1" and not field.data:
            raise ValidationError("Tick the box to confirm deleting folders with their contents.")


def clean_items(names: list[str]) -> list[str]:
    """The selected names: 1 to 100 distinct valid names, in the order given."""
    if not names:
        raise BadInput("Select at least one file or folder.")
    if len(names) > MAX_DELETE_ITEMS:
        raise BadInput(f"Select at most {MAX_DELETE_ITEMS} items at a time.")
    cleaned = [clean_name(n) for n in names]
    return list(dict.fromkeys(cleaned))


@dataclass(frozen=True)
class BrowseQuery(PageLinks):
    """The file manager's GET parameters, checked."""

    collection_id: str
    path: str
    sort: str = "name"
    descending: bool = False
    show_hidden: bool = False
    name_filter: str = ""
    page: int = 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def orderby(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        if self.sort == "name":
            # Folders first, like every file manager.
            return f"type ASC,name {direction}"
        return f"{SORT_FIELDS[self.sort]} {direction},name ASC"

    @property
    def name_glob(self) -> str:
        """A pattern as typed; plain text matches anywhere in a name, in any case
        (Globus globs are case-sensitive: 'readme' becomes '*[rR][eE]...*')."""
        if not self.name_filter:
            return ""
        if any(c in self.name_filter for c in "*?["):
            return self.name_filter
        return "*" + "".join(_either_case(c) for c in self.name_filter) + "*"

    def params(self, **changes) -> dict:
        """URL parameters for this view, with `changes` (defaults left out)."""
        values = {
            "collection": self.collection_id,
            "path": self.path or None,
            "sort": self.sort if self.sort != "name" else None,
            "order": "desc" if self.descending else None,
            "hidden": "1" if self.show_hidden else None,
            "filter": self.name_filter or None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", False)}


def _either_case(char: str) -> str:
    lower, upper = char.lower(), char.upper()
    if lower == upper or len(lower) != 1 or len(upper) != 1:
        return char
    return f"[{lower}{upper}]"


def parse_browse(args: MultiDict) -> BrowseQuery:
    """Check the file manager's query string; anything odd is a 400 before Globus."""
    name_filter = (args.get("filter") or "").strip()
    if len(name_filter) > MAX_FILTER_CHARS or has_control(name_filter) or "\\" in name_filter:
        raise BadInput("The name filter cannot contain backslashes or control characters.")
    if "/" in name_filter or "," in name_filter:
        # Globus's filter grammar: '/' separates clauses and ',' alternatives.
        raise BadInput("The name filter cannot contain '/' or ','.")
    sort = args.get("sort") or "name"
    if sort not in SORT_FIELDS:
        raise BadInput("Sort by name, size, modified or type.")
    order = args.get("order") or "asc"
    if order not in ("asc", "desc"):
        raise BadInput("Order is asc or desc.")
    page = clean_page(args.get("page"), maximum=MAX_PAGE)
    return BrowseQuery(
        collection_id=clean_collection_id(args.get("collection")),
        path=paths.clean(args.get("path")),
        sort=sort,
        descending=order == "desc",
        show_hidden=args.get("hidden") in ("1", "on", "true"),
        name_filter=name_filter,
        page=page,
    )
