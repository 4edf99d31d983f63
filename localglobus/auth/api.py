"""Auth resource endpoints: userinfo, identities, and client registration."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from localglobus.auth.clients import create_client, delete_client
from localglobus.auth.identities import identity_provider_document, lookup_identities
from localglobus.auth.oidc import oidc_claims
from localglobus.auth.tokens import AUTH_RS, authenticate
from localglobus.db import as_utc
from localglobus.errors import AuthAPIError
from localglobus.models import Client, Consent, Identity
from localglobus.state import get_state

bp = Blueprint("auth_api", __name__)


@bp.route("/v2/oauth2/userinfo", methods=["GET", "POST"])
def userinfo():
    """The caller's identity claims, as far as the token's scopes allow (docs/globus-api.md A.6)."""
    caller = authenticate(AUTH_RS)
    if "openid" not in caller.scopes:
        raise AuthAPIError(403, "FORBIDDEN", "The token does not have the openid scope.")
    with get_state().db.session() as session:
        identity = session.get_one(Identity, caller.identity_id)
        return jsonify(oidc_claims(identity, caller.scopes))


@bp.get("/v2/api/identities")
def identities():
    """Identities by `ids` or by `usernames` (docs/globus-api.md A.7); unknown ones are left out."""
    authenticate(AUTH_RS)
    ids, usernames = request.args.get("ids"), request.args.get("usernames")
    if ids and usernames:
        raise AuthAPIError(400, "INVALID_PARAMETERS", "Use either ids or usernames, not both.")
    for value in (ids or "").split(","):
        if value.strip() and not _is_uuid(value.strip()):
            raise AuthAPIError(400, "INVALID_PARAMETERS", f"Not an identity id: {value!r}.")
    found = lookup_identities(ids=ids, usernames=usernames)
    body: dict = {"identities": found}
    if "identity_provider" in request.args.get("include", "").split(","):
        # As Globus: the providers of the identities found, once each.
        with get_state().db.session() as session:
            providers: dict[str, dict] = {}
            for doc in found:
                identity = session.get_one(Identity, doc["id"])
                providers.setdefault(doc["identity_provider"], identity_provider_document(identity))
        body["included"] = {"identity_providers": list(providers.values())}
    return jsonify(body)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@bp.get("/v2/api/identities/<identity_id>/consents")
def consents(identity_id: str):
    """The caller's consent forest: rooted at the calling client, or every client with
    `all=true`. globus-cli checks dependent-scope requirements against it."""
    caller = authenticate(AUTH_RS)
    if identity_id != caller.identity_id:
        raise AuthAPIError(403, "FORBIDDEN", "You may only see your own consents.")
    stmt = select(Consent).where(Consent.identity_id == identity_id)
    if request.args.get("all", "").lower() not in ("true", "1"):
        stmt = stmt.where(Consent.client_id == caller.client_id)
    with get_state().db.session() as session:
        rows = session.scalars(stmt.order_by(Consent.created_at, Consent.path)).all()
    return jsonify({"consents": consent_documents(rows)})


def consent_documents(rows: Sequence[Consent]) -> list[dict]:
    """Consents as Globus shows them: integer ids, `dependency_path` from the root."""
    number = {(row.client_id, row.path): uuid.UUID(row.id).int >> 76 for row in rows}
    documents = []
    for row in rows:
        path = row.path.split(" ")
        ancestry = [number.get((row.client_id, " ".join(path[:i]))) for i in range(1, len(path))]
        if None in ancestry:  # a parent consent was removed: the node has no tree
            continue
        created = as_utc(row.created_at).isoformat()
        documents.append(
            {
                "id": number[(row.client_id, row.path)],
                "client": row.client_id,
                "scope": str(uuid.uuid5(uuid.NAMESPACE_URL, row.scope)),
                "scope_name": row.scope,
                "effective_identity": row.identity_id,
                "dependency_path": [*ancestry, number[(row.client_id, row.path)]],
                "created": created,
                "updated": created,
                "last_used": created,
                "status": "approved",
                "allows_refresh": True,
                "auto_approved": False,
                "atomically_revocable": False,
            }
        )
    return documents


@bp.post("/v2/api/clients")
def create_templated_client():
    """Create an instance of a native app (globus-cli's login, docs/globus-api.md A.11).

    A native app cannot keep a secret, so its request names it by id only, as on Globus:
    the template must be a native app registered here. Nobody else may make clients over
    HTTP (Globus wants a token allowed to manage projects); operators use `localglobus
    client add`."""
    spec = (request.get_json(silent=True) or {}).get("client") or {}
    template_id = str(spec.get("template_id") or "")
    with get_state().db.session() as session:
        template = session.get(Client, template_id) if _is_uuid(template_id) else None
        if template is None or template.client_type != "native":
            raise AuthAPIError(
                401,
                "UNAUTHORIZED",
                "Only instances of a registered native app (template_id) can be made here.",
            )
    name = str(spec.get("name") or "Native app instance")[:255]
    with get_state().db.session() as session:
        client, secret = create_client(session, name, template_id=template_id)
        document = client_document(client)
    credential = {
        "name": "Auto-created at client creation",
        "id": str(uuid.uuid4()),
        "client": client.id,
        "secret": secret,
    }
    return jsonify({"client": document, "included": {"client_credential": credential}}), 201


@bp.delete("/v2/api/clients/<client_id>")
def delete_templated_client(client_id: str):
    """A client deletes itself (`globus logout --delete-client`), Basic-authenticated."""
    from localglobus.auth.oauth import server

    try:
        client = server().authenticate_client(
            server().create_oauth2_request(None), ["client_secret_basic"], endpoint="clients"
        )
    except Exception as exc:
        raise AuthAPIError(401, "UNAUTHORIZED", "Call must be authenticated.") from exc
    if client.get_client_id() != client_id:
        raise AuthAPIError(403, "FORBIDDEN", "A client may only delete itself here.")
    with get_state().db.session() as session:
        row = session.get_one(Client, client_id)
        document = client_document(row)
        delete_client(session, row)
    return jsonify({"client": document})


def client_document(client: Client) -> dict:
    """A client as Globus Auth's clients API shows it."""
    confidential = client.is_confidential
    return {
        "id": client.id,
        "name": client.name,
        "public_client": not confidential,
        "client_type": "confidential_client" if confidential else "public_installed_client",
        "grant_types": (
            ["authorization_code", "client_credentials", "refresh_token"]
            if confidential
            else ["authorization_code", "refresh_token"]
        ),
        "redirect_uris": list(client.redirect_uris or []),
        "parent_client": client.template_id,
        "scopes": [],
        "fqdns": [],
        "visibility": "private",
        "project": None,
        "required_idp": None,
        "preselect_idp": None,
        "userinfo_from_effective_identity": True,
        "prompt_for_named_grant": False,
        "links": {"privacy_policy": None, "terms_and_conditions": None},
    }
