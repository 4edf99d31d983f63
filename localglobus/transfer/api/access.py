"""Access rules of guest collections (docs/globus-api.md B.10): list, create, get, update, delete.

Only the owner, administrators and access managers may read or change them; role
holders appear in the list as implicit `rw` rules on `/` that cannot be edited.
"""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from localglobus.db import utcnow
from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import policy
from localglobus.transfer.api.arguments import body, require_uuid
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import load_collection, vpath_of
from localglobus.transfer.api.responses import result
from localglobus.transfer.models import AccessRule, Collection, Role
from localglobus.transfer.paths import as_dir
from localglobus.transfer.times import iso, naive, parse_time

RULE_LIMIT = 100
PRINCIPAL_TYPES = ("identity", "group", "all_authenticated_users", "anonymous")


def _guest_for_acl(session: Session, endpoint_id: str, who) -> Collection:
    coll = load_collection(session, endpoint_id)
    if not coll.is_guest:
        raise TransferAPIError(
            400, "NotSupported", "Access rules are only available on guest collections"
        )
    if not policy.can_manage_acl(session, coll, who.identity_id):
        raise TransferAPIError(
            403,
            "PermissionDenied",
            "Only the owner, administrators and access managers may manage access rules",
        )
    return coll


def rule_doc(rule: AccessRule) -> dict:
    return {
        "DATA_TYPE": "access",
        "id": rule.id,
        "principal_type": rule.principal_type,
        "principal": rule.principal,
        "path": rule.path,
        "permissions": rule.permissions,
        "role_id": None,
        "role_type": None,
        "create_time": iso(rule.create_time),
        "expiration_date": iso(rule.expiration_date),
        "notify_email": rule.notify_email,
        "notify_message": rule.notify_message,
    }


def _implicit_doc(role: Role) -> dict:
    return {
        "DATA_TYPE": "access",
        "id": None,
        "principal_type": role.principal_type,
        "principal": role.principal,
        "path": "/",
        "permissions": "rw",
        "role_id": role.id,
        "role_type": role.role,
        "create_time": iso(role.created_at),
        "expiration_date": None,
        "notify_email": None,
        "notify_message": None,
    }


def _rule(session: Session, coll: Collection, rule_id: str) -> AccessRule:
    rule = session.get(AccessRule, str(rule_id))
    # A rule id is always checked against the collection in the URL.
    if rule is None or rule.collection_id != coll.id:
        raise TransferAPIError(404, "AccessRuleNotFound", f"Access rule '{rule_id}' not found")
    return rule


def _expiration(doc: dict):
    raw = doc.get("expiration_date")
    if raw in (None, ""):
        return None
    value = parse_time(raw, "expiration_date")
    if value <= utcnow():
        raise bad_request("expiration_date must be in the future")
    return naive(value)


def _permissions(doc: dict, principal_type: str) -> str:
    perms = doc.get("permissions")
    if perms not in ("r", "rw"):
        raise bad_request("permissions must be 'r' or 'rw'")
    if principal_type == "anonymous" and perms == "rw":
        raise bad_request("Anonymous access can only be read-only")
    return perms


@bp.get("/endpoint/<endpoint_id>/access_list")
def access_list(endpoint_id):
    who = caller()
    with state().db.session() as session:
        coll = _guest_for_acl(session, endpoint_id, who)
        roles = session.scalars(
            select(Role)
            .where(
                Role.collection_id == coll.id, Role.role.in_(("administrator", "access_manager"))
            )
            .order_by(Role.created_at)
        ).all()
        rules = session.scalars(
            select(AccessRule)
            .where(AccessRule.collection_id == coll.id)
            .order_by(AccessRule.create_time)
        ).all()
        data = [_implicit_doc(r) for r in roles] + [rule_doc(r) for r in rules]
    return jsonify(
        {"DATA_TYPE": "access_list", "endpoint": coll.id, "length": len(data), "DATA": data}
    )


@bp.post("/endpoint/<endpoint_id>/access")
def create_access(endpoint_id):
    who = caller()
    doc = body()
    principal_type = doc.get("principal_type")
    if principal_type not in PRINCIPAL_TYPES:
        raise bad_request(f"principal_type must be one of {', '.join(PRINCIPAL_TYPES)}")
    if principal_type in ("identity", "group"):
        principal = require_uuid(doc.get("principal"), "principal")
    elif doc.get("principal") not in (None, ""):
        raise bad_request(f"principal must be empty for {principal_type}")
    else:
        principal = ""
    raw_path = doc.get("path")
    if not isinstance(raw_path, str) or not raw_path.endswith("/"):
        raise bad_request("path must be a directory path ending in '/'")
    path = as_dir(vpath_of(raw_path, default=""))
    perms = _permissions(doc, principal_type)
    with state().db.session() as session:
        coll = _guest_for_acl(session, endpoint_id, who)
        count = session.execute(
            select(func.count()).select_from(AccessRule).where(AccessRule.collection_id == coll.id)
        ).scalar_one()
        if count >= RULE_LIMIT:
            raise TransferAPIError(
                409, "LimitExceeded", f"An endpoint can have at most {RULE_LIMIT} access rules"
            )
        duplicate = session.scalars(
            select(AccessRule).where(
                AccessRule.collection_id == coll.id,
                AccessRule.principal_type == principal_type,
                AccessRule.principal == principal,
                AccessRule.path == path,
            )
        ).first()
        if duplicate is not None:
            raise TransferAPIError(
                409, "Exists", "An access rule for this principal and path exists"
            )
        rule = AccessRule(
            collection_id=coll.id,
            principal_type=principal_type,
            principal=principal,
            path=path,
            permissions=perms,
            expiration_date=_expiration(doc),
            notify_email=doc.get("notify_email"),
            notify_message=doc.get("notify_message"),
        )
        session.add(rule)
        session.flush()
        rule_id = rule.id
    return result(
        "Created",
        "Access rule created successfully.",
        data_type="access_create_result",
        status=201,
        access_id=rule_id,
    )


@bp.get("/endpoint/<endpoint_id>/access/<rule_id>")
def get_access(endpoint_id, rule_id):
    who = caller()
    with state().db.session() as session:
        coll = _guest_for_acl(session, endpoint_id, who)
        return jsonify(rule_doc(_rule(session, coll, rule_id)))


@bp.put("/endpoint/<endpoint_id>/access/<rule_id>")
def update_access(endpoint_id, rule_id):
    who = caller()
    doc = body()
    fixed = ("principal_type", "principal", "path")
    with state().db.session() as session:
        coll = _guest_for_acl(session, endpoint_id, who)
        rule = _rule(session, coll, rule_id)
        for name in fixed:
            if name in doc and doc[name] != getattr(rule, name):
                raise bad_request(f"{name} of an access rule cannot be changed")
        if "permissions" in doc:
            rule.permissions = _permissions(doc, rule.principal_type)
        if "expiration_date" in doc:
            rule.expiration_date = _expiration(doc)
    return result("Updated", f"Access rule '{rule_id}' updated successfully")


@bp.delete("/endpoint/<endpoint_id>/access/<rule_id>")
def delete_access(endpoint_id, rule_id):
    who = caller()
    with state().db.session() as session:
        coll = _guest_for_acl(session, endpoint_id, who)
        session.delete(_rule(session, coll, rule_id))
    return result("Deleted", f"Access rule '{rule_id}' deleted successfully")
