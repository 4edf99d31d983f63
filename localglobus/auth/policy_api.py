"""Globus Auth's policies API (`/v2/api/policies`, docs/globus-api.md A.12): what a
session must hold (domains, a recent sign-in, MFA) for the resources that name the
policy. Needs a token with the `manage_projects` scope, as on Globus; each caller sees
the policies it made (localglobus has no projects)."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from localglobus.auth.api import bp
from localglobus.auth.policies import policy_document
from localglobus.auth.tokens import AUTH_RS, authenticate
from localglobus.errors import AuthAPIError
from localglobus.models import AuthPolicy
from localglobus.state import get_state

MANAGE_PROJECTS = "urn:globus:auth:scope:auth.globus.org:manage_projects"


def _caller_id() -> str:
    caller = authenticate(AUTH_RS)
    if MANAGE_PROJECTS not in caller.scopes:
        raise AuthAPIError(403, "FORBIDDEN", "The token does not have the manage_projects scope.")
    return caller.identity_id


def _spec() -> dict:
    spec = (request.get_json(silent=True) or {}).get("policy")
    if not isinstance(spec, dict):
        raise AuthAPIError(400, "INVALID_PARAMETERS", 'The body must be {"policy": {...}}.')
    return spec


def _apply(policy: AuthPolicy, spec: dict, creating: bool) -> None:
    """Set the fields the document gives, each checked; nothing is set when one is wrong."""
    changes: dict = {}
    for key in ("project_id", "display_name", "description"):
        if key in spec:
            if not isinstance(spec[key], str):
                raise AuthAPIError(400, "INVALID_PARAMETERS", f"{key} must be a string.")
            changes[key] = spec[key].strip()
        elif creating:
            raise AuthAPIError(400, "INVALID_PARAMETERS", f"{key} is required.")
    for key in ("high_assurance", "required_mfa"):
        if key in spec:
            if not isinstance(spec[key], bool):
                raise AuthAPIError(400, "INVALID_PARAMETERS", f"{key} must be true or false.")
            changes[key] = spec[key]
    if "authentication_assurance_timeout" in spec:
        timeout = spec["authentication_assurance_timeout"]
        if timeout is not None and (
            not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 < timeout < 10**9
        ):
            raise AuthAPIError(
                400, "INVALID_PARAMETERS", "authentication_assurance_timeout: seconds, or null."
            )
        changes["authentication_assurance_timeout"] = timeout
    for key in ("domain_constraints_include", "domain_constraints_exclude"):
        if key in spec:
            value = spec[key]
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(d, str) for d in value)
            ):
                raise AuthAPIError(400, "INVALID_PARAMETERS", f"{key}: a list of domains, or null.")
            changes[key] = [d.strip().lower() for d in value] if value is not None else None
    for key, value in changes.items():
        setattr(policy, key, value)


def _own(session, policy_id: str, caller_id: str) -> AuthPolicy:
    policy = session.get(AuthPolicy, policy_id)
    if policy is None or policy.created_by != caller_id:
        raise AuthAPIError(404, "NOT_FOUND", f"No policy {policy_id}.")
    return policy


@bp.get("/v2/api/policies")
def list_policies():
    caller_id = _caller_id()
    with get_state().db.session() as session:
        rows = session.scalars(
            select(AuthPolicy).where(AuthPolicy.created_by == caller_id).order_by(AuthPolicy.id)
        )
        return jsonify({"policies": [policy_document(p) for p in rows]})


@bp.post("/v2/api/policies")
def create_policy():
    caller_id = _caller_id()
    spec = _spec()
    with get_state().db.session() as session:
        policy = AuthPolicy(created_by=caller_id)
        _apply(policy, spec, creating=True)
        session.add(policy)
        session.flush()
        return jsonify({"policy": policy_document(policy)})


@bp.get("/v2/api/policies/<policy_id>")
def get_policy(policy_id: str):
    caller_id = _caller_id()
    with get_state().db.session() as session:
        return jsonify({"policy": policy_document(_own(session, policy_id, caller_id))})


@bp.put("/v2/api/policies/<policy_id>")
def update_policy(policy_id: str):
    caller_id = _caller_id()
    spec = _spec()
    with get_state().db.session() as session:
        policy = _own(session, policy_id, caller_id)
        _apply(policy, spec, creating=False)
        return jsonify({"policy": policy_document(policy)})


@bp.delete("/v2/api/policies/<policy_id>")
def delete_policy(policy_id: str):
    caller_id = _caller_id()
    with get_state().db.session() as session:
        policy = _own(session, policy_id, caller_id)
        document = policy_document(policy)
        session.delete(policy)
        return jsonify({"policy": document})
