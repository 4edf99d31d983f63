"""Access rules of a guest collection: list, add (with a folder picker), change, delete."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from app.admin import access, queries, service
from app.admin.forms import RuleForm, RuleUpdateForm, rule_path_problem
from app.admin.service import NewRule
from app.admin.views import bp
from app.errors import BadInput


def _allow_anonymous_write() -> bool:
    return bool(current_app.config.get("FERRY_ALLOW_ANONYMOUS_WRITE"))


def _browse_path() -> str:
    path = request.args.get("browse") or "/"
    return "/" if rule_path_problem(path) else path


def _rules_url(collection) -> str:
    return url_for(".rules", collection_id=collection.id)


def _new_rule_page(collection, form, error: str | None = None):
    picker = queries.folder_picker(g.user, collection, _browse_path())
    return render_template(
        "admin/rule_new.html", collection=collection, form=form, picker=picker, error=error
    )


@bp.get("/<uuid:collection_id>/rules")
@access.requires("rules")
def rules(collection):
    """The collection's rules, implicit rows of role holders included."""
    return render_template(
        "admin/rules.html",
        collection=collection,
        rules=queries.access_rules(g.user, collection),
    )


@bp.get("/<uuid:collection_id>/rules/folders")
@access.requires("manage_rules")
def rule_folders(collection):
    """The folder picker alone (htmx swaps it in place while browsing)."""
    picker = queries.folder_picker(g.user, collection, _browse_path())
    return render_template("admin/_folders.html", collection=collection, picker=picker)


@bp.get("/<uuid:collection_id>/rules/new")
@access.requires("manage_rules")
def new_rule(collection):
    """The add-a-rule form; `?path=` pre-fills the folder, `?browse=` opens the picker there."""
    path = request.args.get("path") or "/"
    form = RuleForm(formdata=None, path="/" if rule_path_problem(path) else path)
    return _new_rule_page(collection, form)


@bp.post("/<uuid:collection_id>/rules")
@access.requires("manage_rules")
def create_rule(collection):
    """Add the rule; a form error or a refusal shows the form again (400)."""
    form = RuleForm()
    if not form.validate():
        return _new_rule_page(collection, form), 400
    new = NewRule(
        principal_type=form.principal_type.data,
        principal=form.principal.data or "",
        path=form.path.data,
        permissions=form.permissions.data,
        expiration=form.expiration.data,
        notify_email=form.notify_email.data or None,
        notify_message=form.notify_message.data or None,
    )
    try:
        service.add_access_rule(
            g.user, collection, new, allow_anonymous_write=_allow_anonymous_write()
        )
    except BadInput as error:
        return _new_rule_page(collection, form, error.message), 400
    flash(f"Access rule added: {new.permissions} on {new.path}.", "success")
    return redirect(_rules_url(collection))


def _edit_page(collection, rule, form, error: str | None = None):
    return render_template(
        "admin/rule_edit.html",
        collection=collection,
        rule=rule,
        form=form,
        error=error,
    )


@bp.get("/<uuid:collection_id>/rules/<rule_id>")
@access.requires("manage_rules")
def edit_rule(collection, rule_id: str):
    """Change a rule's permissions or expiration, or delete it."""
    rule = queries.find_access_rule(g.user, collection, rule_id)
    expires = rule.expiration_date.replace(tzinfo=None) if rule.expiration_date else None
    form = RuleUpdateForm(formdata=None, permissions=rule.permissions, expiration=expires)
    return _edit_page(collection, rule, form)


@bp.post("/<uuid:collection_id>/rules/<rule_id>")
@access.requires("manage_rules")
def update_rule(collection, rule_id: str):
    """Apply the new permissions and expiration (empty: never expires)."""
    form = RuleUpdateForm()
    rule = queries.find_access_rule(g.user, collection, rule_id)
    if not form.validate():
        return _edit_page(collection, rule, form), 400
    try:
        service.update_access_rule(
            g.user,
            collection,
            rule,
            form.permissions.data,
            form.expiration.data,
            allow_anonymous_write=_allow_anonymous_write(),
        )
    except BadInput as error:
        return _edit_page(collection, rule, form, error.message), 400
    flash("Access rule changed.", "success")
    return redirect(_rules_url(collection))


@bp.post("/<uuid:collection_id>/rules/<rule_id>/delete")
@access.requires("manage_rules")
def delete_rule(collection, rule_id: str):
    """Delete after the browser's confirmation (data-confirm); CSRF checked globally."""
    service.delete_access_rule(g.user, collection, rule_id)
    flash("Access rule deleted.", "success")
    return redirect(_rules_url(collection))
