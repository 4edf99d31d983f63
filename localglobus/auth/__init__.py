"""Globus Auth, locally: OAuth2/OIDC authorization server (authlib), identities, clients."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine reads identities from here and must not load Flask
    from flask import Flask


def register(app: Flask) -> None:
    """Register the Auth routes, the authorization server and the id_token key."""
    from localglobus.auth import api, oauth, pages, policy_api  # noqa: F401 (routes)
    from localglobus.auth.grants import register_grants
    from localglobus.auth.keys import SigningKey
    from localglobus.auth.server import LocalAuthorizationServer, OAuthClient
    from localglobus.models import Client

    state = app.extensions["localglobus"]
    state.extra["auth_signing_key"] = SigningKey.load_or_create(state.settings.home)
    auth_code_page = state.settings.base_url + "v2/web/auth-code"

    def query_client(client_id):
        with state.db.session() as session:
            row = session.get(Client, str(client_id))
        return OAuthClient(row, auth_code_page) if row is not None else None

    def save_token(token, request):  # every grant stores its own tokens
        raise NotImplementedError

    server = LocalAuthorizationServer(app, query_client=query_client, save_token=save_token)
    register_grants(server)
    app.extensions["localglobus_auth_server"] = server

    # authlib logs code verifiers and tokens at DEBUG (docs/security.md).
    logging.getLogger("authlib").setLevel(logging.INFO)

    app.register_blueprint(oauth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
