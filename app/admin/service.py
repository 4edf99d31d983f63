"""Admin use cases: access rules, roles, admin cancel; each change audited around its call
to Globus (app.admin.audit). Views check roles first (app.admin.access); every change
here checks them again on the collection the view fetched this request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.admin import access
from app.admin.audit import audited
from app.admin.queries import find_access_rule, find_monitored_task, find_role, resolve_principal
from app.errors import BadInput, PermissionDenied
from app.formatting import as_utc
from app.globus import admin, endpoint_manager
from app.globus.admin_types import ROLE_NAMES, AccessRule, Role
from app.globus.types import Collection

RULE_LIMIT = 100  # Globus keeps at most 100 access rules per guest collection
ANONYMOUS_WRITE_REFUSED = "This portal does not allow write access for anonymous users."


@dataclass
class NewRule:
    """An access rule as the form describes it; `principal` is a username or email for a
    person, a group id for a group, empty otherwise."""

    principal_type: str
    principal: str
    path: str
    permissions: str
    expiration: datetime | None = None
    notify_email: str | None = None
    notify_message: str | None = None


def _ensure(collection: Collection, what: str) -> None:
    if not access.can(collection, what):
        raise PermissionDenied("Your roles on this collection do not allow this change.")
    if what == "manage_rules" and not collection.is_guest:
        raise BadInput("Access rules apply to guest collections only.")


def _globus_time(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


# -- access rules ---------------------------------------------------------------------------


def add_access_rule(
    actor, collection: Collection, new: NewRule, *, allow_anonymous_write: bool
) -> str:
    """Share a folder of a guest collection; answers the new rule's id."""
    _ensure(collection, "manage_rules")
    if new.principal_type == "anonymous" and "w" in new.permissions and not allow_anonymous_write:
        raise BadInput(ANONYMOUS_WRITE_REFUSED)
    principal, label = resolve_principal(actor, new.principal_type, new.principal)
    existing = [r for r in admin.list_access_rules(actor.id, collection.id) if r.is_editable]
    if len(existing) >= RULE_LIMIT:
        raise BadInput(
            f"This collection already has {RULE_LIMIT} access rules, the most Globus allows. "
            "Delete one before adding another."
        )
    body: dict[str, str | None] = {
        "principal_type": new.principal_type,
        "principal": principal,
        "path": new.path,
        "permissions": new.permissions,
    }
    if new.expiration:
        body["expiration_date"] = _globus_time(new.expiration)
    if new.notify_email:
        body["notify_email"] = new.notify_email
        body["notify_message"] = new.notify_message or None
    target = f"{new.permissions} on {new.path} for {label}"
    with audited(actor, collection, "rule.add", target, before=None) as entry:
        outcome = admin.create_access_rule(actor.id, collection.id, body)
        entry.request_id = outcome.request_id
        entry.after = {**body, "id": outcome.new_id, "principal_label": label}
    return outcome.new_id or ""


def update_access_rule(
    actor,
    collection: Collection,
    rule: AccessRule,
    permissions: str,
    expiration: datetime | None,
    *,
    allow_anonymous_write: bool,
) -> None:
    """Change a rule's permissions and expiration (None: never expires). `rule` comes
    from find_access_rule on this collection."""
    _ensure(collection, "manage_rules")
    rule_id = rule.id  # only explicit rules have one (AccessRule.is_editable)
    if rule_id is None:
        raise BadInput("Implicit rules of role holders cannot be changed.")
    if rule.principal_type == "anonymous" and "w" in permissions and not allow_anonymous_write:
        raise BadInput(ANONYMOUS_WRITE_REFUSED)
    changes = {"permissions": permissions, "expiration_date": _globus_time(expiration)}
    before = rule.snapshot()
    target = f"{rule.path} for {rule.principal_label}"
    with audited(actor, collection, "rule.update", target, before=before) as entry:
        outcome = admin.update_access_rule(actor.id, collection.id, rule_id, changes)
        entry.request_id = outcome.request_id
        entry.after = {**before, **changes}


def delete_access_rule(actor, collection: Collection, rule_id: str) -> None:
    """Remove a rule of this collection."""
    _ensure(collection, "manage_rules")
    rule = find_access_rule(actor, collection, rule_id)
    target = f"{rule.permissions} on {rule.path} for {rule.principal_label}"
    with audited(actor, collection, "rule.delete", target, before=rule.snapshot()) as entry:
        outcome = admin.delete_access_rule(actor.id, collection.id, rule_id)
        entry.request_id = outcome.request_id


# -- roles ----------------------------------------------------------------------------------


def grant_role(
    actor, collection: Collection, principal_type: str, principal: str, role: str
) -> Role:
    """Give a person or group a role; only administrators may (as on Globus)."""
    _ensure(collection, "manage_roles")
    if role not in ROLE_NAMES or principal_type not in ("identity", "group"):
        raise BadInput("Choose a role and a person or group.")
    principal_id, label = resolve_principal(actor, principal_type, principal)
    target = f"{role} for {label}"
    with audited(actor, collection, "role.grant", target, before=None) as entry:
        created, outcome = admin.create_role(
            actor.id, collection.id, principal_type, principal_id, role
        )
        entry.request_id = outcome.request_id
        entry.after = {**created.snapshot(), "principal_label": label}
    return created


def revoke_role(actor, collection: Collection, role_id: str) -> None:
    """Remove a role assignment of this collection."""
    _ensure(collection, "manage_roles")
    role = find_role(actor, collection, role_id)
    target = f"{role.role} for {role.principal_label}"
    with audited(actor, collection, "role.revoke", target, before=role.snapshot()) as entry:
        outcome = admin.delete_role(actor.id, collection.id, role_id)
        entry.request_id = outcome.request_id


# -- activity -------------------------------------------------------------------------------


def admin_cancel_task(actor, collection: Collection, task_id: str, message: str) -> str:
    """Cancel someone's running task that touches this collection; answers the admin
    cancel id."""
    _ensure(collection, "cancel")
    task = find_monitored_task(actor, collection, task_id)
    if not task.is_running:
        raise BadInput("This task has already finished.")
    target = f"task {task.task_id} of {task.owner_string or task.owner_id}"
    with audited(actor, collection, "task.admin_cancel", target, before=task.snapshot()) as entry:
        outcome = endpoint_manager.admin_cancel(actor.id, task.task_id, message)
        entry.request_id = outcome.request_id
        entry.after = {**task.snapshot(), "admin_cancel_id": outcome.new_id, "message": message}
    return outcome.new_id or ""
