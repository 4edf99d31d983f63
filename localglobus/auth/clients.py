"""Registering OAuth2 clients, and the identity each confidential client has on Globus."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.orm import Session

from localglobus.auth.identities import CLIENT_USERNAME_DOMAIN, hash_secret
from localglobus.models import Client, Consent, Identity


def new_secret() -> str:
    """A client secret with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def create_client(
    session: Session,
    name: str,
    *,
    client_id: str | None = None,
    secret: str | None = None,
    redirect_uris: list[str] | None = None,
    native: bool = False,
    template_id: str | None = None,
) -> tuple[Client, str | None]:
    """Register a client; return it and its secret (None for a native client).

    Only an argon2 hash of the secret is kept. A confidential client also gets its own
    identity (id = client id, username `<id>@clients.auth.globus.org`), which is who it
    is when it uses client credentials.
    """
    client_id = str(uuid.UUID(client_id)) if client_id else str(uuid.uuid4())
    if native:
        secret = None
    elif not secret:
        secret = new_secret()
    client = Client(
        id=client_id,
        name=name,
        client_type="native" if native else "confidential",
        secret_hash=hash_secret(secret) if secret else None,
        redirect_uris=list(dict.fromkeys(redirect_uris or [])),
        template_id=template_id,
    )
    session.add(client)
    if not native:
        session.add(
            Identity(
                id=client_id,
                username=client_id + CLIENT_USERNAME_DOMAIN,
                name=name,
                email="",
                organization="",
                password_hash=None,
            )
        )
    session.flush()
    return client, secret


def delete_client(session: Session, client: Client) -> None:
    """Remove a client, its identity, its consents and (by cascade) its codes and tokens."""
    session.query(Consent).filter(Consent.client_id == client.id).delete()
    identity = session.get(Identity, client.id)
    if identity is not None and identity.is_client:
        session.delete(identity)
    session.delete(client)
