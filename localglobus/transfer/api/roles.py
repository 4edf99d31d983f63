"""Roles on collections (docs/globus-api.md B.11): list, create, get, delete.

Any role holder may read the roles; only administrators (the owner is one) may change
them, and the last administrator cannot be removed.
"""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import policy
from localglobus.transfer.api.arguments import body, require_uuid
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import load_collection
from localglobus.transfer.api.responses import result
from localglobus.transfer.models import ROLE_NAMES, Collection, Role


def role_doc(role: Role) -> dict:
    return {
        "DATA_TYPE": "role",
        "id": role.id,
        "principal_type": role.principal_type,
        "principal": role.principal,
        "role": role.role,
    }


def _readable(session: Session, endpoint_id: str, who) -> Collection:
    coll = load_collection(session, endpoint_id)
    if not policy.effective_roles(session, coll, who.identity_id):
        raise TransferAPIError(
            403, "PermissionDenied", "You have no role on this endpoint: its roles are private"
        )
    return coll


def _administered(session: Session, endpoint_id: str, who) -> Collection:
    coll = load_collection(session, endpoint_id)
    if "administrator" not in policy.held_roles(session, coll, who.identity_id):
        raise TransferAPIError(
            403, "PermissionDenied", "Only administrators may change the roles of an endpoint"
        )
    return coll


def _role(session: Session, coll: Collection, role_id: str) -> Role:
    role = session.get(Role, str(role_id))
    if role is None or role.collection_id != coll.id:
        raise TransferAPIError(404, "RoleNotFound", f"Role '{role_id}' not found")
    return role


@bp.get("/endpoint/<endpoint_id>/role_list")
def role_list(endpoint_id):
    who = caller()
    with state().db.session() as session:
        coll = _readable(session, endpoint_id, who)
        roles = session.scalars(
            select(Role).where(Role.collection_id == coll.id).order_by(Role.created_at)
        ).all()
        return jsonify({"DATA_TYPE": "role_list", "DATA": [role_doc(r) for r in roles]})


@bp.post("/endpoint/<endpoint_id>/role")
def create_role(endpoint_id):
    who = caller()
    doc = body()
    principal_type = doc.get("principal_type")
    if principal_type not in ("identity", "group"):
        raise bad_request("principal_type must be 'identity' or 'group'")
    principal = require_uuid(doc.get("principal"), "principal")
    name = doc.get("role")
    if name not in ROLE_NAMES:
        raise bad_request(f"role must be one of {', '.join(ROLE_NAMES)}")
    with state().db.session() as session:
        coll = _administered(session, endpoint_id, who)
        if name == "access_manager" and not coll.is_guest:
            raise bad_request("access_manager only applies to guest collections (access rules)")
        exists = session.scalars(
            select(Role).where(
                Role.collection_id == coll.id,
                Role.principal_type == principal_type,
                Role.principal == principal,
                Role.role == name,
            )
        ).first()
        if exists is not None:
            raise TransferAPIError(409, "Exists", f"{principal} already has the role {name}")
        role = Role(
            collection_id=coll.id, principal_type=principal_type, principal=principal, role=name
        )
        session.add(role)
        session.flush()
        resp = jsonify(role_doc(role))
    resp.status_code = 201
    return resp


@bp.get("/endpoint/<endpoint_id>/role/<role_id>")
def get_role(endpoint_id, role_id):
    who = caller()
    with state().db.session() as session:
        coll = _readable(session, endpoint_id, who)
        return jsonify(role_doc(_role(session, coll, role_id)))


@bp.delete("/endpoint/<endpoint_id>/role/<role_id>")
def delete_role(endpoint_id, role_id):
    who = caller()
    with state().db.session() as session:
        coll = _administered(session, endpoint_id, who)
        role = _role(session, coll, role_id)
        if role.role == "administrator":
            admins = session.execute(
                select(func.count())
                .select_from(Role)
                .where(Role.collection_id == coll.id, Role.role == "administrator")
            ).scalar_one()
            if admins <= 1:
                raise TransferAPIError(
                    409, "Conflict", "Cannot remove the last administrator of an endpoint"
                )
        session.delete(role)
    return result("Deleted", f"Role '{role_id}' deleted successfully")
