"""The audit log: a collection's entries, and every entry for portal operators."""

from __future__ import annotations

from flask import render_template, request

from app.admin import access
from app.admin.audit import AuditFilters, list_entries
from app.admin.forms import AuditFilterForm
from app.admin.views import bp
from app.errors import PermissionDenied


def _filters(form: AuditFilterForm, collection_id: str | None) -> AuditFilters:
    """The valid filters; a field with an error shows it and filters nothing."""
    form.validate()

    def value(field):
        return None if field.errors else (field.data or None)

    return AuditFilters(
        collection_id=collection_id,
        action=value(form.action),
        actor=value(form.actor),
        result=value(form.result),
        since=value(form.since),
        until=value(form.until),
    )


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/<uuid:collection_id>/audit")
@access.requires("audit")
def collection_audit(collection):
    """This collection's entries, newest first, filterable."""
    form = AuditFilterForm(formdata=request.args)
    page = list_entries(_filters(form, collection.id), _page_number())
    return render_template("admin/audit.html", collection=collection, form=form, page=page)


@bp.get("/audit")
def all_audit():
    """Every entry, for portal operators (FERRY_ADMINS)."""
    if not access.is_operator(access.signed_in_user()):
        raise PermissionDenied("The whole audit log is for the portal's operators.")
    form = AuditFilterForm(formdata=request.args)
    collection_id = (form.collection.data or "").strip() or None
    page = list_entries(_filters(form, collection_id), _page_number())
    return render_template("admin/audit.html", collection=None, form=form, page=page)
