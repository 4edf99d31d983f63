"""Plain-language labels for the consent page."""

from __future__ import annotations

import re

from localglobus.auth.scopes import Scope

_LABELS = {
    "openid": "Know who you are in localglobus",
    "profile": "See your name, username and organization",
    "email": "See your email address",
    "urn:globus:auth:scope:auth.globus.org:view_identity_set": "See the identities in your set",
    "urn:globus:auth:scope:auth.globus.org:view_identities": "Look up other identities",
    "urn:globus:auth:scope:auth.globus.org:manage_projects": (
        "Manage your Globus Auth projects and their policies"
    ),
    "urn:globus:auth:scope:transfer.api.globus.org:all": (
        "Manage your data with Globus Transfer: list, move and delete files, "
        "and see and cancel your transfers"
    ),
    "urn:globus:auth:scope:groups.api.globus.org:all": "View and manage your groups",
    "urn:globus:auth:scope:search.api.globus.org:all": "Search and manage search indexes",
    "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer": (
        "Schedule timers that run on your behalf"
    ),
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all": (
        "Run and manage flows"
    ),
}
_DATA_ACCESS = re.compile(r"^https://auth\.globus\.org/scopes/([^/]+)/data_access$")


def collection_ids(forest: list[Scope]) -> set[str]:
    """The collections whose data_access the forest asks for."""
    found = set()
    for scope in forest:
        match = _DATA_ACCESS.match(scope.name)
        if match:
            found.add(match.group(1))
        found |= collection_ids(scope.children)
    return found


def describe(scope: Scope, collection_names: dict[str, str] | None = None) -> dict:
    """The scope with a label and its dependencies, for the consent template."""
    names = collection_names or {}
    match = _DATA_ACCESS.match(scope.name)
    if match:
        label = f"Access your data on collection {names.get(match.group(1), match.group(1))}"
    else:
        label = _LABELS.get(scope.name, "Use the service " + scope.name)
    return {
        "name": scope.name,
        "label": label,
        "optional": scope.optional,
        "children": [describe(child, names) for child in scope.children],
    }
