"""The file manager: browse a folder, make a folder, rename, delete."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from app import paths
from app.collections import service as collections_service
from app.errors import AlreadyExists, BadInput, NotFound, PermissionDenied
from app.files import forms, service
from app.inputs import clean_collection_id, clean_name

bp = Blueprint("files", __name__, url_prefix="/files")

# What a file action can run into that the user can fix: shown on the form, not a page.
ACTION_ERRORS = (AlreadyExists, PermissionDenied, NotFound)


def _browse_url(collection_id: str, path: str) -> str:
    return url_for("files.browse", collection=collection_id, path=path or None)


@bp.get("/")
def browse():
    """A page of a folder; without a collection, a way to choose one."""
    if not request.args.get("collection"):
        shortcuts = collections_service.shortcuts(g.user.id)
        return render_template("files/choose.html", shortcuts=shortcuts)
    query = forms.parse_browse(request.args)
    folder = service.browse(g.user.id, query)
    template = "files/_listing.html" if _wants_fragment() else "files/browse.html"
    return render_template(template, folder=folder, query=query)


def _wants_fragment() -> bool:
    # htmx swaps only the listing when sorting, paging or filtering.
    return request.headers.get("HX-Request") == "true" and (
        request.headers.get("HX-Target") == "listing"
    )


@bp.get("/new-folder")
def mkdir_form():
    """The make-folder form on its own page (also where its errors are shown)."""
    form = forms.MkdirForm(formdata=None, **_place_from_args())
    return render_template("files/mkdir.html", form=form)


@bp.post("/mkdir")
def mkdir():
    """Create a folder in the current folder."""
    form = forms.MkdirForm()
    if not form.validate_on_submit():
        return render_template("files/mkdir.html", form=form), 400
    collection_id, path, name = form.collection.data, form.path.data, form.name.data
    try:
        service.make_folder(g.user.id, collection_id, path, name)
    except ACTION_ERRORS as error:
        return render_template("files/mkdir.html", form=form, error=error), error.status
    flash(f"Created the folder “{name}”.", "success")
    return redirect(_browse_url(collection_id, path))


@bp.get("/rename-item")
def rename_form():
    """The rename form for one item of a folder."""
    old_name = clean_name(request.args.get("name"), what="The current name")
    form = forms.RenameForm(
        formdata=None, old_name=old_name, new_name=old_name, **_place_from_args()
    )
    return render_template("files/rename.html", form=form)


@bp.post("/rename")
def rename():
    """Rename one item of a folder."""
    form = forms.RenameForm()
    if not form.validate_on_submit():
        return render_template("files/rename.html", form=form), 400
    collection_id, path = form.collection.data, form.path.data
    try:
        service.rename_item(g.user.id, collection_id, path, form.old_name.data, form.new_name.data)
    except ACTION_ERRORS as error:
        return render_template("files/rename.html", form=form, error=error), error.status
    flash(f"Renamed “{form.old_name.data}” to “{form.new_name.data}”.", "success")
    return redirect(_browse_url(collection_id, path))


@bp.get("/confirm-delete")
def confirm_delete():
    """The confirmation page: exactly the selected items, each checked at Globus."""
    place = _place_from_args()
    names = forms.clean_items(request.args.getlist("item"))
    # Back from a consent step-up, the same submission id: the pending delete resumes.
    reuse = forms.clean_submission_id(request.args.get("submission_id"))
    plan = service.plan_delete(g.user.id, place["collection"], place["path"], names, reuse)
    form = forms.DeleteForm(
        formdata=None,
        submission_id=plan.submission_id,
        recursive="1" if plan.recursive else "",
        **place,
    )
    return render_template("files/confirm_delete.html", plan=plan, form=form)


@bp.post("/delete")
def delete():
    """Submit the confirmed delete as a task, then show the task."""
    form = forms.DeleteForm()
    if not form.validate_on_submit():
        raise BadInput(" ".join(e for errors in form.errors.values() for e in errors))
    names = forms.clean_items(request.form.getlist("item"))
    task_id = service.submit_delete(
        g.user.id,
        form.collection.data,
        form.path.data,
        names,
        recursive=form.recursive.data == "1",
        submission_id=form.submission_id.data,
    )
    flash(f"Deleting {len(names)} item{'s' if len(names) != 1 else ''}: task submitted.", "success")
    if "tasks.detail" not in current_app.view_functions:
        return redirect(_browse_url(form.collection.data, form.path.data))
    return redirect(url_for("tasks.detail", task_id=task_id))


def _place_from_args() -> dict:
    """collection, path and return_to for a form page, checked (400 if odd)."""
    collection_id = clean_collection_id(request.args.get("collection"))
    path = paths.clean(request.args.get("path")) or "/"
    return {
        "collection": collection_id,
        "path": path,
        "return_to": request.full_path.rstrip("?"),
    }
