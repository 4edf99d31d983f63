"""Who may use which admin page: the roles Globus reports for the signed-in user on the
collection in the URL, fetched on every request (never cached: a revoked role stops
working at once).

Roles follow Globus: only administrators grant and revoke roles (so an access manager
cannot make administrators, nor anyone else); access managers see the role list read-only,
next to the rules they manage. Activity monitors watch tasks; activity managers and
administrators may also cancel them. A collection's audit log is for those who can change
something on it; portal operators (FERRY_ADMINS) read every entry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g

from app.errors import LoginRequired, NotFound, PermissionDenied
from app.globus.admin_types import ROLE_NAMES
from app.globus.collections import get_collection, search_collections
from app.globus.types import Collection

ADMIN, ACCESS_MANAGER = "administrator", "access_manager"
ACTIVITY_MANAGER, ACTIVITY_MONITOR = "activity_manager", "activity_monitor"

# What each page group needs: any one of these roles.
NEEDS: dict[str, frozenset[str]] = {
    "rules": frozenset({ADMIN, ACCESS_MANAGER}),
    "manage_rules": frozenset({ADMIN, ACCESS_MANAGER}),
    "roles": frozenset({ADMIN, ACCESS_MANAGER}),
    "manage_roles": frozenset({ADMIN}),
    "activity": frozenset({ADMIN, ACTIVITY_MANAGER, ACTIVITY_MONITOR}),
    "cancel": frozenset({ADMIN, ACTIVITY_MANAGER}),
    "audit": frozenset({ADMIN, ACCESS_MANAGER, ACTIVITY_MANAGER}),
    "any": frozenset(ROLE_NAMES),
}


def signed_in_user():
    """The signed-in User, or a trip to the login page."""
    user = g.get("user")
    if user is None:
        raise LoginRequired()
    return user


def is_operator(user) -> bool:
    """Portal operators (FERRY_ADMINS usernames) read every audit entry."""
    # Globus usernames (name@domain) are case-insensitive.
    operators = {name.lower() for name in current_app.config.get("FERRY_ADMINS", [])}
    return user.username.lower() in operators


def can(collection: Collection, what: str) -> bool:
    """True when the user's effective roles on `collection` allow `what` (see NEEDS)."""
    return not NEEDS[what].isdisjoint(collection.my_effective_roles)


def administered_collections(user) -> list[Collection]:
    """Collections where the user holds a role, by name: endpoint_search with scope
    administered-by-me, plus those the user can use at all (an access manager of a guest
    collection need not administer it), kept when my_effective_roles is not empty."""
    found: dict[str, Collection] = {}
    for scope in ("administered-by-me", "hide-no-permissions"):
        page = search_collections(user.id, text="", scope=scope, limit=100)
        found.update((c.id, c) for c in page.collections if can(c, "any"))
    return sorted(found.values(), key=lambda c: c.display_name.lower())


def requires(what: str) -> Callable:
    """Decorate a view of `/admin/<uuid:collection_id>/...`: ask Globus for the user's
    roles on that collection, refuse with 403 unless they allow `what`, and call the view
    with the Collection in place of the id. Nothing else runs when refused."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(collection_id, **kwargs):
            user = signed_in_user()
            collection = get_collection(user.id, str(collection_id))
            if collection.id != str(collection_id):
                raise NotFound("No such collection.")
            if not can(collection, what):
                raise PermissionDenied(_refusal(what))
            return view(collection, **kwargs)

        return wrapper

    return decorator


def _refusal(what: str) -> str:
    needed = " or ".join(sorted(r.replace("_", " ") for r in NEEDS[what]))
    return f"This page needs the {needed} role on this collection at Globus."
