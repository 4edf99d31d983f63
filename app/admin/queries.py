"""Reads for the admin pages: who a principal is, a collection's rules and roles (with
people named), the tasks that touch it, and its folders. Nothing here changes anything;
an id is always looked up within the collection in the URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app import paths
from app.errors import BadInput, NotFound, PermissionDenied
from app.extensions import db
from app.formatting import day_start
from app.globus import admin, endpoint_manager, files
from app.globus.admin_types import AccessRule, Identity, Role
from app.globus.endpoint_manager import MonitoredTask, MonitoredTaskFilters
from app.globus.task_types import TaskEvent
from app.globus.types import Collection
from app.models import User

PICKER_LIMIT = 200


def resolve_principal(actor, principal_type: str, value: str) -> tuple[str, str]:
    """(principal id for Globus, label for people): a person is looked up by username at
    Globus Auth, else by the email of someone who signed in to this portal; nobody found
    is the user's to fix."""
    if principal_type == "identity":
        identity = admin.find_identity(actor.id, value) or _identity_by_email(actor, value)
        if identity is None:
            raise BadInput(f"Nobody at Globus has the username or email “{value}”.")
        return identity.id, identity.display
    if principal_type == "group":
        return value, f"Group {value}"
    if principal_type == "all_authenticated_users":
        return "", "All signed-in users"
    if principal_type == "anonymous":
        return "", "Anyone (anonymous)"
    raise BadInput("Unknown kind of principal.")


def _identity_by_email(actor, email: str) -> Identity | None:
    """Globus Auth looks people up by username only. An address that is not a username
    may still be the email of exactly one portal user: that identity, confirmed at Globus."""
    if "@" not in email:
        return None
    matches = db.session.scalars(
        select(User.sub).where(func.lower(User.email) == email.strip().lower()).limit(2)
    ).all()
    if len(matches) != 1:
        return None
    return admin.identities_by_id(actor.id, matches).get(matches[0])


def access_rules(actor, collection: Collection) -> list[AccessRule]:
    """The collection's rules, implicit rows included, people named (none but on guest
    collections: elsewhere the storage's own accounts decide)."""
    if not collection.is_guest:
        return []
    return admin.attach_identities(actor.id, admin.list_access_rules(actor.id, collection.id))


def find_access_rule(actor, collection: Collection, rule_id: str) -> AccessRule:
    """The rule `rule_id` *of this collection*: an id from another collection is 404."""
    for rule in admin.list_access_rules(actor.id, collection.id):
        if rule.id is not None and rule.id == rule_id:
            return admin.attach_identities(actor.id, [rule])[0]
    raise NotFound("This collection has no such access rule.")


def roles(actor, collection: Collection) -> list[Role]:
    """The collection's role assignments, people named."""
    return admin.attach_identities(actor.id, admin.list_roles(actor.id, collection.id))


def find_role(actor, collection: Collection, role_id: str) -> Role:
    """The role assignment `role_id` *of this collection*, else 404."""
    for role in admin.list_roles(actor.id, collection.id):
        if role.id == role_id:
            return admin.attach_identities(actor.id, [role])[0]
    raise NotFound("This collection has no such role assignment.")


def find_monitored_task(actor, collection: Collection, task_id: str) -> MonitoredTask:
    """A task that touches this collection, seen through the endpoint manager, else 404."""
    task = endpoint_manager.monitored_task(actor.id, task_id)
    if not task.touches(collection.id):
        raise NotFound("This task does not touch this collection.")
    return task


def monitored_task_with_events(
    actor, collection: Collection, task_id: str
) -> tuple[MonitoredTask, list[TaskEvent]]:
    """(task, its events) for the task page."""
    task = find_monitored_task(actor, collection, task_id)
    return task, endpoint_manager.monitored_task_events(actor.id, task.task_id)


@dataclass
class ActivityQuery:
    """The activity page's filters as the admin typed them (owner by username)."""

    statuses: tuple[str, ...] = ()
    owner: str = ""
    completed_after: date | None = None
    completed_before: date | None = None
    paused: bool | None = None


def monitored_tasks(actor, collection: Collection, query: ActivityQuery, last_key: str | None):
    """One page of the tasks of all users that touch the collection, and the next key."""
    owner_id = None
    if query.owner:
        owner_id, _label = resolve_principal(actor, "identity", query.owner)
    statuses = query.statuses
    if query.paused is not None and not statuses:
        statuses = ("ACTIVE", "INACTIVE")  # Globus filters is_paused among running tasks
    filters = MonitoredTaskFilters(
        statuses=statuses,
        owner_id=owner_id,
        completed_after=day_start(query.completed_after),
        completed_before=day_start(query.completed_before, days=1),
        is_paused=query.paused,
    )
    return endpoint_manager.monitored_tasks(actor.id, collection.id, filters, last_key)


@dataclass
class FolderPicker:
    """The folders under `path`, for choosing a rule's path by browsing."""

    path: str
    folders: list[tuple[str, str]]  # (name, path)
    error: str | None = None
    has_more: bool = False

    @property
    def parent(self) -> str | None:
        """The folder above, or None at the root."""
        return paths.parent(self.path)


def folder_picker(actor, collection: Collection, path: str) -> FolderPicker:
    """List the sub-folders of `path` (a folder the admin can read on the collection);
    a folder Globus refuses shows its message in the picker, not an error page."""
    try:
        listing = files.list_folder(actor.id, collection.id, path, limit=PICKER_LIMIT)
    except (NotFound, PermissionDenied, BadInput) as error:
        return FolderPicker(path=path, folders=[], error=error.message)
    folders = [
        (entry.name, paths.join(path, entry.name + "/"))
        for entry in listing.entries
        if entry.is_dir
    ]
    return FolderPicker(path=path, folders=folders, has_more=listing.has_more)
