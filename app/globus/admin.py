"""Collection administration at Globus: access rules (ACL), roles and identity lookups,
all as the signed-in user.

Every call carries the user's own token, so Globus enforces the roles as well; the admin
views check them first (app.admin.access). Wrappers live in app.globus.admin_types.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.globus.admin_types import (
    AccessRule,
    Identity,
    Outcome,
    Role,
    request_id_of,
)
from app.globus.client import auth_user_client, transfer_client
from app.globus.errors import calling_globus


def _outcome(response, id_key: str | None = None) -> Outcome:
    data = response.data if isinstance(response.data, dict) else {}
    new_id = data.get(id_key) if id_key else None
    return Outcome(
        code=data.get("code"),
        new_id=str(new_id) if new_id is not None else None,
        request_id=request_id_of(response),
        message=data.get("message"),
    )


# -- access rules ---------------------------------------------------------------------------


def list_access_rules(user_id: int, collection_id: str) -> list[AccessRule]:
    """GET /endpoint/<id>/access_list, implicit role rows included."""
    with calling_globus():
        response = transfer_client(user_id).endpoint_acl_list(collection_id)
    return [AccessRule.from_api(doc) for doc in response["DATA"]]


def get_access_rule(user_id: int, collection_id: str, rule_id: str) -> AccessRule:
    """GET /endpoint/<id>/access/<rule_id>: Globus looks the rule up in that collection."""
    with calling_globus():
        response = transfer_client(user_id).get_endpoint_acl_rule(collection_id, rule_id)
    return AccessRule.from_api(response.data)


def create_access_rule(user_id: int, collection_id: str, rule: dict) -> Outcome:
    """POST /endpoint/<id>/access; `new_id` is the access_id."""
    with calling_globus():
        response = transfer_client(user_id).add_endpoint_acl_rule(
            collection_id, {"DATA_TYPE": "access", **rule}
        )
    return _outcome(response, "access_id")


def update_access_rule(user_id: int, collection_id: str, rule_id: str, changes: dict) -> Outcome:
    """PUT /endpoint/<id>/access/<rule_id> (permissions, expiration_date)."""
    with calling_globus():
        response = transfer_client(user_id).update_endpoint_acl_rule(
            collection_id, rule_id, {"DATA_TYPE": "access", **changes}
        )
    return _outcome(response)


def delete_access_rule(user_id: int, collection_id: str, rule_id: str) -> Outcome:
    """DELETE /endpoint/<id>/access/<rule_id>."""
    with calling_globus():
        response = transfer_client(user_id).delete_endpoint_acl_rule(collection_id, rule_id)
    return _outcome(response)


# -- roles ----------------------------------------------------------------------------------


def list_roles(user_id: int, collection_id: str) -> list[Role]:
    """GET /endpoint/<id>/role_list."""
    with calling_globus():
        response = transfer_client(user_id).endpoint_role_list(collection_id)
    return [Role.from_api(doc) for doc in response["DATA"]]


def get_role(user_id: int, collection_id: str, role_id: str) -> Role:
    """GET /endpoint/<id>/role/<role_id>."""
    with calling_globus():
        response = transfer_client(user_id).get_endpoint_role(collection_id, role_id)
    return Role.from_api(response.data)


def create_role(
    user_id: int, collection_id: str, principal_type: str, principal: str, role: str
) -> tuple[Role, Outcome]:
    """POST /endpoint/<id>/role; answers the new role document."""
    body = {
        "DATA_TYPE": "role",
        "principal_type": principal_type,
        "principal": principal,
        "role": role,
    }
    with calling_globus():
        response = transfer_client(user_id).add_endpoint_role(collection_id, body)
    created = Role.from_api(response.data)
    return created, Outcome(code="Created", new_id=created.id, request_id=request_id_of(response))


def delete_role(user_id: int, collection_id: str, role_id: str) -> Outcome:
    """DELETE /endpoint/<id>/role/<role_id>."""
    with calling_globus():
        response = transfer_client(user_id).delete_endpoint_role(collection_id, role_id)
    return _outcome(response)


# -- identities -----------------------------------------------------------------------------


def identities_by_id(user_id: int, ids: Iterable[str]) -> dict[str, Identity]:
    """GET /v2/api/identities?ids=...: {id: Identity} for those Globus knows."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    with calling_globus():
        response = auth_user_client(user_id).get_identities(ids=wanted)
    return {doc["id"]: Identity.from_api(doc) for doc in response["identities"]}


def find_identity(user_id: int, username_or_email: str) -> Identity | None:
    """GET /v2/api/identities?usernames=...: the identity with that username or email.

    Globus usernames are usually the person's institutional address, so one lookup
    serves both; an identity only matches on an exact (case-insensitive) username or email.
    """
    wanted = username_or_email.strip().lower()
    if not wanted:
        return None
    with calling_globus():
        response = auth_user_client(user_id).get_identities(usernames=[wanted], provision=False)
    for doc in response["identities"]:
        identity = Identity.from_api(doc)
        if wanted in (identity.username.lower(), identity.email.lower()):
            return identity
    return None


def attach_identities(user_id: int, rows: list) -> list:
    """Fill `.identity` on rules or roles whose principal is an identity (one lookup)."""
    found = identities_by_id(user_id, (r.principal for r in rows if r.principal_type == "identity"))
    for row in rows:
        row.identity = found.get(row.principal)
    return rows
