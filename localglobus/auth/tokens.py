"""Bearer-token authentication shared by every localglobus API area.

Contract used by the Transfer half:

    caller = authenticate("transfer.api.globus.org")   # reads flask.request
    caller.identity_id, caller.username, caller.client_id, caller.scopes
    caller.has_consent("https://auth.globus.org/scopes/<collection_id>/data_access")

A missing, unknown, expired or revoked token, or one for another resource server, raises
TransferAPIError(401, "ClientError.AuthenticationFailed", ...) for the Transfer resource
server and AuthAPIError(401, "UNAUTHORIZED", ...) for Auth.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSFER_RS = "transfer.api.globus.org"
AUTH_RS = "auth.globus.org"
TRANSFER_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"


def data_access_scope(collection_id: str) -> str:
    """The dependent scope a GCSv5 mapped collection requires (reference A.9)."""
    return f"https://auth.globus.org/scopes/{collection_id}/data_access"


@dataclass(frozen=True)
class Caller:
    """Who made this request, and through which client."""

    identity_id: str
    username: str
    client_id: str
    scopes: frozenset[str]
    consents: frozenset[str]

    def has_consent(self, scope: str) -> bool:
        return scope in self.consents


def authenticate(resource_server: str = TRANSFER_RS) -> Caller:
    """Authenticate the current request's Bearer token for `resource_server`."""
    raise NotImplementedError("filled in by the Auth half")
