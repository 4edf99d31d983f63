"""Collections: search, a collection's page, bookmarks, and the home page's summary."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.collections import forms, service
from app.errors import BadInput, NotFound, PermissionDenied
from app.inputs import clean_collection_id
from app.security import safe_next

bp = Blueprint("collections", __name__, url_prefix="/collections")

# What a bookmark action can run into that the user can fix: shown on the form.
ACTION_ERRORS = (BadInput, NotFound, PermissionDenied)


@bp.get("/")
def search():
    """Full-text search and the filter-scope tabs, a page at a time."""
    query = forms.parse_search(request.args)
    results = service.search(g.user.id, query)
    return render_template("collections/search.html", results=results, scopes=forms.SCOPES)


@bp.get("/<collection_id>")
def detail(collection_id: str):
    """Owner, type, description, host, my roles, a way to browse, its bookmarks."""
    collection_id = clean_collection_id(collection_id)
    found = service.collection_detail(g.user.id, collection_id)
    return render_template("collections/detail.html", found=found)


@bp.get("/bookmarks")
def bookmarks():
    """Every bookmark, with its collection's name."""
    return render_template(
        "collections/bookmarks.html", named=service.bookmarks_with_names(g.user.id)
    )


@bp.get("/bookmarks/<bookmark_id>/edit")
def rename_bookmark_form(bookmark_id: str):
    """The rename form for one bookmark."""
    bookmark = service.get_bookmark(g.user.id, forms.clean_bookmark_id(bookmark_id))
    form = forms.RenameBookmarkForm(formdata=None, name=bookmark.name, return_to=_back())
    return render_template(
        "collections/rename_bookmark.html", bookmark_id=bookmark.id, bookmark=bookmark, form=form
    )


@bp.post("/bookmarks/new")
def create_bookmark():
    """Bookmark a folder (from the file manager or a collection's page)."""
    form = forms.BookmarkForm()
    if not form.validate_on_submit():
        return render_template("collections/bookmark_form.html", form=form), 400
    try:
        service.add_bookmark(g.user.id, form.collection.data, form.path.data, form.name.data)
    except ACTION_ERRORS as error:
        return render_template("collections/bookmark_form.html", form=form, error=error), 400
    flash(f"Bookmarked {form.path.data} as “{form.name.data}”.", "success")
    return redirect(safe_next(form.return_to.data, url_for("collections.bookmarks")))


@bp.post("/bookmarks/<bookmark_id>/rename")
def rename_bookmark(bookmark_id: str):
    """Give a bookmark a new name."""
    bookmark_id = forms.clean_bookmark_id(bookmark_id)
    form = forms.RenameBookmarkForm()
    page = "collections/rename_bookmark.html"
    if not form.validate_on_submit():
        return render_template(page, bookmark_id=bookmark_id, form=form), 400
    try:
        service.rename_bookmark(g.user.id, bookmark_id, form.name.data)
    except ACTION_ERRORS as error:
        return render_template(page, bookmark_id=bookmark_id, form=form, error=error), error.status
    flash(f"Renamed the bookmark to “{form.name.data}”.", "success")
    return redirect(safe_next(form.return_to.data, url_for("collections.bookmarks")))


@bp.post("/bookmarks/<bookmark_id>/delete")
def delete_bookmark(bookmark_id: str):
    """Delete a bookmark (not the folder)."""
    bookmark_id = forms.clean_bookmark_id(bookmark_id)
    form = forms.DeleteBookmarkForm()
    if not form.validate_on_submit():
        raise BadInput("This form has expired; please try again.")
    service.remove_bookmark(g.user.id, bookmark_id)
    flash("Deleted the bookmark.", "success")
    return redirect(safe_next(form.return_to.data, url_for("collections.bookmarks")))


@bp.get("/home-summary")
def home_summary():
    """The signed-in home page's tasks, bookmarks and recent collections (an htmx
    fragment; a page of its own without JavaScript)."""
    summary = service.home_summary(g.user.id)
    fragment = request.headers.get("HX-Request") == "true"
    template = "collections/_home_summary.html" if fragment else "collections/home_summary.html"
    return render_template(template, summary=summary)


def _back() -> str:
    return safe_next(request.args.get("return_to"), url_for("collections.bookmarks"))
