"""The admin entry: the collections where the user holds a role, and one collection's
overview."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for

from app.admin import access
from app.admin.views import bp


@bp.get("/")
def index():
    """Collections where the signed-in user holds a role at Globus."""
    user = access.signed_in_user()
    collections = access.administered_collections(user)
    return render_template(
        "admin/index.html", collections=collections, is_operator=access.is_operator(user)
    )


@bp.get("/<uuid:collection_id>/")
@access.requires("any")
def collection(collection):
    """What the user may do on this collection, by role."""
    return render_template("admin/collection.html", collection=collection)


@bp.get("/open")
def open_collection():
    """Go to a collection's admin pages by its id (roles Globus finds by no search)."""
    access.signed_in_user()
    try:
        collection_id = uuid.UUID((request.args.get("collection_id") or "").strip())
    except ValueError:
        flash("A collection id looks like 1a2b3c4d-5e6f-...", "error")
        return redirect(url_for(".index"))
    return redirect(url_for(".collection", collection_id=collection_id))
