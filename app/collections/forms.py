"""What the collections area accepts: search parameters and bookmark forms."""

from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, StringField

from app import paths
from app.errors import BadInput
from app.inputs import (
    PageLinks,
    clean_collection_id,
    clean_page,
    clean_uuid,
    has_control,
    validator,
)

# endpoint_search's filter scopes (docs/globus-api.md B.1), as tabs, in order.
SCOPES = {
    "recently-used": "Recently used",
    "my-endpoints": "My collections",
    "shared-with-me": "Shared with me",
    "administered-by-me": "Administered by me",
    "all": "All",
}
DEFAULT_SCOPE = "recently-used"
PAGE_SIZE = 25
MAX_PAGE = 1000 // PAGE_SIZE  # Globus serves the first 1,000 results of a search
MAX_TEXT_CHARS = 200
BOOKMARK_NAME_MAX = 128


@dataclass(frozen=True)
class SearchQuery(PageLinks):
    """The collection search's GET parameters, checked."""

    text: str = ""
    scope: str = DEFAULT_SCOPE
    page: int = 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def params(self, **changes) -> dict:
        values = {"q": self.text or None, "scope": self.scope, "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", 1)}


def parse_search(args: MultiDict) -> SearchQuery:
    """Full text, a scope tab and a page; full text alone searches all collections."""
    text = (args.get("q") or "").strip()
    if len(text) > MAX_TEXT_CHARS or has_control(text):
        raise BadInput(f"Search for at most {MAX_TEXT_CHARS} characters, on one line.")
    scope = args.get("scope") or ("all" if text else DEFAULT_SCOPE)
    if scope not in SCOPES:
        raise BadInput("Choose one of the tabs: " + ", ".join(SCOPES.values()) + ".")
    page = clean_page(args.get("page"), maximum=MAX_PAGE)
    return SearchQuery(text, scope, page)


def clean_bookmark_id(value: str | None) -> str:
    """A bookmark id must be a UUID."""
    return clean_uuid(value, message="That is not a bookmark id.")


def clean_bookmark_name(value: str | None) -> str:
    """1 to 128 characters on one line (Unicode welcome)."""
    name = (value or "").strip()
    if not name:
        raise BadInput("A bookmark needs a name.")
    if len(name) > BOOKMARK_NAME_MAX:
        raise BadInput(f"A bookmark name is at most {BOOKMARK_NAME_MAX} characters.")
    if has_control(name):
        raise BadInput("A bookmark name cannot contain line breaks or control characters.")
    return name


class BookmarkForm(FlaskForm):
    """Bookmark a folder of a collection."""

    collection = HiddenField(validators=[validator(clean_collection_id)])
    path = HiddenField(validators=[validator(paths.clean)])
    name = StringField("Bookmark name", validators=[validator(clean_bookmark_name)])
    return_to = HiddenField()


class RenameBookmarkForm(FlaskForm):
    name = StringField("New name", validators=[validator(clean_bookmark_name)])
    return_to = HiddenField()


class DeleteBookmarkForm(FlaskForm):
    return_to = HiddenField()
