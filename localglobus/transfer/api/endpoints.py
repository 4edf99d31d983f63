"""Collections as Transfer endpoints: GET/PUT /endpoint/<id>, /endpoint_search
(docs/globus-api.md B.1, B.2)."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import policy
from localglobus.transfer.api.arguments import body, int_arg
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import load_collection
from localglobus.transfer.api.responses import result
from localglobus.transfer.documents import endpoint_doc, identity_name
from localglobus.transfer.models import AccessRule, Collection, CollectionUse, Task

SCOPES = (
    "all",
    "my-endpoints",
    "my-gcp-endpoints",
    "recently-used",
    "in-use",
    "shared-by-me",
    "shared-with-me",
    "hide-no-permissions",
    "administered-by-me",
)
ENTITY_TYPES = (
    "GCP_mapped_collection",
    "GCP_guest_collection",
    "GCSv5_endpoint",
    "GCSv5_mapped_collection",
    "GCSv5_guest_collection",
)
_TEXT_FIELDS = (
    "display_name",
    "description",
    "keywords",
    "organization",
    "department",
    "contact_email",
    "info_link",
    "user_message",
)
_BOOL_FIELDS = ("public", "force_encryption")


@bp.get("/endpoint/<endpoint_id>")
def get_endpoint(endpoint_id):
    who = caller()
    with state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        return jsonify(endpoint_doc(session, coll, who.identity_id))


@bp.get("/endpoint/<endpoint_id>/my_shared_endpoint_list")
def my_shared_endpoint_list(endpoint_id):
    """The guest collections on this mapped collection where the caller is an
    administrator or access manager (globus-sdk's `my_shared_endpoint_list`)."""
    who = caller()
    with state().db.session() as session:
        host = load_collection(session, endpoint_id)
        guests = session.scalars(
            select(Collection)
            .where(Collection.host_collection_id == host.id)
            .order_by(Collection.display_name, Collection.id)
        ).all()
        docs = [
            endpoint_doc(session, g, who.identity_id)
            for g in guests
            if {"administrator", "access_manager"}
            & set(policy.effective_roles(session, g, who.identity_id))
        ]
    return jsonify({"DATA_TYPE": "endpoint_list", "DATA": docs})


@bp.put("/endpoint/<endpoint_id>")
def update_endpoint(endpoint_id):
    who = caller()
    doc = body()
    with state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        if "administrator" not in policy.effective_roles(session, coll, who.identity_id):
            raise TransferAPIError(
                403, "PermissionDenied", "Only the owner or an administrator may update it"
            )
        for field in _TEXT_FIELDS + ("contact_info", "user_message_link"):
            if field in doc:
                value = doc[field]
                if value is not None and not isinstance(value, str):
                    raise bad_request(f"{field} must be a string")
                if field == "display_name" and not (value or "").strip():
                    raise bad_request("display_name may not be empty")
                setattr(coll, field, value)
        for field in _BOOL_FIELDS:
            if field in doc:
                if not isinstance(doc[field], bool):
                    raise bad_request(f"{field} must be a boolean")
                setattr(coll, field, doc[field])
    return result("Updated", "Endpoint updated successfully")


def _rank(coll: Collection, words: list[str]) -> float | None:
    """A crude relevance: matches in the name count most; None when a word is missing."""
    score = 0.0
    for word in words:
        hit = False
        for weight, text in (
            (3.0, coll.display_name),
            (1.0, coll.description),
            (1.0, coll.keywords),
            (0.5, coll.organization),
            (2.0, coll.id),
        ):
            if text and word in text.lower():
                score += weight
                hit = True
        if not hit:
            return None
    return score or 1.0


def _in_scope(session, scope: str, coll: Collection, me: str, sets: dict) -> bool:
    if scope == "all":
        return coll.public or policy.has_any_access(session, coll, me)
    if scope == "my-endpoints":
        return coll.owner_id == me
    if scope == "my-gcp-endpoints":
        return False  # localglobus has no Globus Connect Personal endpoints
    if scope == "recently-used":
        return coll.id in sets["recent"]
    if scope == "in-use":
        return coll.id in sets["in_use"]
    if scope == "shared-by-me":
        return coll.is_guest and coll.owner_id == me
    if scope == "shared-with-me":
        return coll.is_guest and coll.owner_id != me and coll.id in sets["granted"]
    if scope == "hide-no-permissions":
        return policy.has_any_access(session, coll, me)
    if scope == "administered-by-me":
        return "administrator" in policy.effective_roles(session, coll, me)
    return False


def _scope_sets(session, me: str) -> dict:
    # Newest first: the position orders a recently-used search, as on Globus.
    recent = {
        collection_id: position
        for position, collection_id in enumerate(
            session.scalars(
                select(CollectionUse.collection_id)
                .where(CollectionUse.identity_id == me)
                .order_by(CollectionUse.last_used.desc())
            )
        )
    }
    active = session.execute(
        select(Task.source_id, Task.destination_id).where(
            Task.owner_id == me, Task.status.in_(("ACTIVE", "INACTIVE"))
        )
    ).all()
    granted = set(
        session.scalars(
            select(AccessRule.collection_id).where(
                (AccessRule.principal == me)
                | AccessRule.principal_type.in_(("all_authenticated_users", "anonymous"))
            )
        )
    )
    return {"recent": recent, "in_use": {c for row in active for c in row if c}, "granted": granted}


@bp.get("/endpoint_search")
def endpoint_search():
    who = caller()
    scope = request.args.get("filter_scope") or "all"
    if scope not in SCOPES:
        raise bad_request(f"Invalid filter_scope {scope!r}")
    limit = int_arg("limit", 25, 1, 100)
    offset = int_arg("offset", 0, 0, 999)
    if offset + limit > 1000:
        raise bad_request("offset + limit must be at most 1000")
    words = (request.args.get("filter_fulltext") or "").lower().split()
    owner = request.args.get("filter_owner_id")
    host = request.args.get("filter_host_endpoint")
    entity_type = request.args.get("filter_entity_type")
    if entity_type and entity_type not in ENTITY_TYPES:
        raise bad_request(f"Invalid filter_entity_type {entity_type!r}")
    with state().db.session() as session:
        sets = _scope_sets(session, who.identity_id)
        found = []
        for coll in session.scalars(select(Collection).order_by(Collection.display_name)):
            rank = _rank(coll, words)
            if rank is None or not _in_scope(session, scope, coll, who.identity_id, sets):
                continue
            if owner and coll.owner_id != owner:
                continue
            if host and coll.host_collection_id != host:
                continue
            if entity_type and coll.entity_type != entity_type:
                continue
            found.append((rank, coll))
        if scope == "recently-used" and not words:
            found.sort(key=lambda pair: sets["recent"][pair[1].id])
        else:
            found.sort(key=lambda pair: -pair[0])
        page = found[offset : offset + limit]
        docs = [{**endpoint_doc(session, c, who.identity_id), "_rank": r} for r, c in page]
    return jsonify(
        {
            "DATA_TYPE": "endpoint_list",
            "limit": limit,
            "offset": offset,
            "has_next_page": offset + limit < min(len(found), 1000),
            "DATA": docs,
        }
    )


__all__ = ["identity_name"]
