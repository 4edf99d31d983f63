"""The admin entry: the collections where the user holds a role, and one collection's
overview."""

from __future__ import annotations

from flask import render_template

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
