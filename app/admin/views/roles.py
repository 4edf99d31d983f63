"""Roles on a collection: list (administrators and access managers), grant and revoke
(administrators only, as on Globus)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for

from app.admin import access, queries, service
from app.admin.forms import RoleForm
from app.admin.views import bp
from app.errors import BadInput


def _roles_page(collection, form, error: str | None = None):
    return render_template(
        "admin/roles.html",
        collection=collection,
        roles=queries.roles(g.user, collection),
        form=form,
        error=error,
    )


@bp.get("/<uuid:collection_id>/roles")
@access.requires("roles")
def roles(collection):
    """Who holds which role, named; the grant form for administrators."""
    return _roles_page(collection, RoleForm(formdata=None))


@bp.post("/<uuid:collection_id>/roles")
@access.requires("manage_roles")
def grant_role(collection):
    """Grant a role to a person (username or email) or a group."""
    form = RoleForm()
    if not form.validate():
        return _roles_page(collection, form), 400
    try:
        service.grant_role(
            g.user, collection, form.principal_type.data, form.principal.data, form.role.data
        )
    except BadInput as error:
        return _roles_page(collection, form, error.message), 400
    flash(f"Role granted: {form.role.data.replace('_', ' ')}.", "success")
    return redirect(url_for(".roles", collection_id=collection.id))


@bp.post("/<uuid:collection_id>/roles/<role_id>/delete")
@access.requires("manage_roles")
def revoke_role(collection, role_id: str):
    """Revoke after the browser's confirmation; CSRF checked globally."""
    service.revoke_role(g.user, collection, role_id)
    flash("Role revoked.", "success")
    return redirect(url_for(".roles", collection_id=collection.id))
