"""globus-sdk clients built per user, per request, from the token store."""

from __future__ import annotations

import globus_sdk
from flask import current_app
from globus_sdk.authorizers import GlobusAuthorizer
from globus_sdk.transport import RequestsTransport, RetryConfig

TRANSFER_RS = "transfer.api.globus.org"
AUTH_RS = "auth.globus.org"

# docs/security.md, Reliability: short timeouts, and a bounded number of retries of 429/5xx
# (globus-sdk's backoff), so a slow Globus gives a clear page instead of a hung worker.
HTTP_TIMEOUT = 10.0
MAX_RETRIES = 2
MAX_RETRY_SLEEP = 2


class TokenStoreAuthorizer(GlobusAuthorizer):
    """Reads the user's access token from the token store at each request; on a 401,
    asks the store to refresh once (only if the rejected token is still the stored one)
    and lets globus-sdk retry."""

    def __init__(self, user_id: int, resource_server: str):
        self.user_id = user_id
        self.resource_server = resource_server
        self._last_token: str | None = None

    def get_authorization_header(self) -> str:
        from app.globus import tokens

        self._last_token = tokens.get_access_token(self.user_id, self.resource_server)
        return f"Bearer {self._last_token}"

    def handle_missing_authorization(self) -> bool:
        from app.globus import tokens

        if self._last_token is None:
            return False
        return tokens.refresh_after_rejection(self.user_id, self.resource_server, self._last_token)


def transport() -> RequestsTransport:
    return RequestsTransport(http_timeout=HTTP_TIMEOUT)


def retry_config() -> RetryConfig:
    return RetryConfig(max_retries=MAX_RETRIES, max_sleep=MAX_RETRY_SLEEP)


def transfer_client(user_id: int) -> globus_sdk.TransferClient:
    """A TransferClient for this user at FERRY_GLOBUS_TRANSFER_URL."""
    return globus_sdk.TransferClient(
        base_url=current_app.config["FERRY_GLOBUS_TRANSFER_URL"],
        authorizer=TokenStoreAuthorizer(user_id, TRANSFER_RS),
        transport=transport(),
        retry_config=retry_config(),
    )


def auth_app_client() -> globus_sdk.ConfidentialAppAuthClient:
    """The portal's own confidential client at FERRY_GLOBUS_AUTH_URL (refresh, revoke,
    introspect, identities lookups)."""
    config = current_app.config
    return globus_sdk.ConfidentialAppAuthClient(
        client_id=config["FERRY_GLOBUS_CLIENT_ID"],
        client_secret=config["FERRY_GLOBUS_CLIENT_SECRET"],
        base_url=config["FERRY_GLOBUS_AUTH_URL"],
        transport=transport(),
        retry_config=retry_config(),
    )


def auth_user_client(user_id: int) -> globus_sdk.AuthClient:
    """An AuthClient acting as the user (userinfo, identities lookups)."""
    return globus_sdk.AuthClient(
        base_url=current_app.config["FERRY_GLOBUS_AUTH_URL"],
        authorizer=TokenStoreAuthorizer(user_id, AUTH_RS),
        transport=transport(),
        retry_config=retry_config(),
    )
