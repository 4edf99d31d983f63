"""Auth's other endpoints: discovery, JWKS, client credentials, dependent tokens,
userinfo, identities, validate, and client registration."""

from __future__ import annotations

import globus_sdk
import pytest
import requests

from tests.localglobus.conftest import auth_register_client

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
AUTH_SCOPES = "openid profile email urn:globus:auth:scope:auth.globus.org:view_identity_set"


@pytest.fixture(scope="module")
def service_client(localglobus) -> dict:
    """A confidential client acting as itself (client credentials)."""
    return auth_register_client(localglobus, "Service app")


def client_tokens(lg, client, scopes) -> globus_sdk.OAuthTokenResponse:
    ac = globus_sdk.ConfidentialAppAuthClient(
        client["client_id"], client["client_secret"], base_url=lg.base_url
    )
    return ac.oauth2_client_credentials_tokens(scopes)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_discovery_points_every_url_at_this_server(localglobus):
    config = requests.get(localglobus.base_url + ".well-known/openid-configuration").json()

    assert config["issuer"] == localglobus.base_url.rstrip("/")
    assert config["id_token_signing_alg_values_supported"] == ["RS512"]
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert config[key].startswith(localglobus.base_url), key
    assert requests.get(config["jwks_uri"]).status_code == 200


def test_jwks_publishes_one_rs512_rsa_key_kept_private_in_the_home(localglobus):
    keys = requests.get(localglobus.base_url + "jwk.json").json()["keys"]

    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS512" and keys[0]["use"] == "sig"
    assert "d" not in keys[0]  # never the private part
    key_file = localglobus.home / "id_token_key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_discovery_ignores_the_basic_header_confidential_clients_send(localglobus, service_client):
    response = requests.get(
        localglobus.base_url + ".well-known/openid-configuration",
        auth=(service_client["client_id"], "wrong"),
    )
    assert response.status_code == 200


def test_client_credentials_gives_the_client_identity_and_userinfo(localglobus, service_client):
    tokens = client_tokens(localglobus, service_client, f"{AUTH_SCOPES} {TRANSFER}")

    assert set(tokens.by_resource_server) == {"auth.globus.org", "transfer.api.globus.org"}
    assert tokens["resource_server"] == "auth.globus.org"
    assert "refresh_token" not in tokens.data
    assert tokens.decode_id_token()["sub"] == service_client["client_id"]
    info = requests.get(
        localglobus.base_url + "v2/oauth2/userinfo", headers=bearer(tokens["access_token"])
    ).json()
    assert info["sub"] == service_client["client_id"]
    assert info["preferred_username"] == service_client["client_id"] + "@clients.auth.globus.org"
    assert info["identity_set"][0]["sub"] == service_client["client_id"]


def test_userinfo_with_a_transfer_token_is_unauthorized(localglobus, service_client):
    tokens = client_tokens(localglobus, service_client, TRANSFER)

    response = requests.post(
        localglobus.base_url + "v2/oauth2/userinfo", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_client_credentials_records_dependent_scopes_as_the_clients_consents(
    localglobus, service_client
):
    """globus-cli's ConsentRequired retry in client mode relies on it."""
    import sqlite3

    data_access = "https://auth.globus.org/scopes/5e4e1b1c-0000-4000-8000-00000000da7a/data_access"
    client_tokens(localglobus, service_client, f"{TRANSFER}[*{data_access}]")

    with sqlite3.connect(localglobus.home / "localglobus.db") as db:
        rows = db.execute(
            "SELECT scope FROM consents WHERE identity_id = ? AND client_id = ?",
            (service_client["client_id"], service_client["client_id"]),
        ).fetchall()
    assert {TRANSFER, data_access} <= {scope for (scope,) in rows}


def test_dependent_token_grant_answers_an_array_of_the_approved_dependencies(
    localglobus, auth_browser, auth_confidential_client
):
    resource_server = auth_register_client(localglobus, "A resource server")
    rs_scope = f"https://auth.globus.org/scopes/{resource_server['client_id']}/all"
    app = globus_sdk.ConfidentialAppAuthClient(
        auth_confidential_client["client_id"],
        auth_confidential_client["client_secret"],
        base_url=localglobus.base_url,
    )
    app.oauth2_start_flow(auth_confidential_client["redirect_uri"], [f"{rs_scope}[{TRANSFER}]"])
    code = auth_browser.code_from(auth_browser.sign_in(app.oauth2_get_authorize_url()))["code"]
    user_tokens = app.oauth2_exchange_code_for_tokens(code)
    assert user_tokens["resource_server"] == resource_server["client_id"]
    rs = globus_sdk.ConfidentialAppAuthClient(
        resource_server["client_id"],
        resource_server["client_secret"],
        base_url=localglobus.base_url,
    )

    dependent = rs.oauth2_get_dependent_tokens(user_tokens["access_token"], refresh_tokens=True)

    assert isinstance(dependent.data, list)
    [transfer] = dependent.data
    assert transfer["resource_server"] == "transfer.api.globus.org"
    assert transfer["scope"] == TRANSFER
    assert "refresh_token" in transfer
    # Only the resource server the token was issued for may exchange it.
    with pytest.raises(globus_sdk.AuthAPIError) as err:
        app.oauth2_get_dependent_tokens(user_tokens["access_token"])
    assert err.value.http_status == 400


def test_identities_by_ids_and_by_usernames(localglobus, service_client):
    token = client_tokens(localglobus, service_client, AUTH_SCOPES)["access_token"]
    ac = globus_sdk.AuthClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(token), base_url=localglobus.base_url
    )

    by_name = ac.get_identities(
        usernames=[
            "researcher@uni.example",
            "ADMIN@uni.example",
            "researcher",
            "nobody@uni.example",
        ]
    )
    ids = [identity["id"] for identity in by_name]
    by_id = ac.get_identities(ids=ids)

    # Full usernames only, case-insensitive; a bare name is nobody on Globus.
    assert [i["username"] for i in by_name] == ["researcher@uni.example", "admin@uni.example"]
    assert [i["username"] for i in by_id] == ["researcher@uni.example", "admin@uni.example"]
    researcher = by_id["identities"][0]
    assert researcher["name"] == "Rosalind Researcher"
    assert researcher["email"] == "researcher@uni.example"
    assert researcher["status"] == "used" and researcher["identity_type"] == "login"
    assert ac.get_identities(usernames="nobody")["identities"] == []
    client_identity = ac.get_identities(ids=service_client["client_id"])["identities"][0]
    assert client_identity["username"].endswith("@clients.auth.globus.org")


def test_identities_refuses_both_ids_and_usernames_and_anonymous_calls(localglobus, service_client):
    token = client_tokens(localglobus, service_client, AUTH_SCOPES)["access_token"]
    url = localglobus.base_url + "v2/api/identities"

    both = requests.get(
        url,
        params={"ids": service_client["client_id"], "usernames": "admin@uni.example"},
        headers=bearer(token),
    )
    anonymous = requests.get(url, params={"usernames": "admin@uni.example"})

    assert both.status_code == 400
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_templated_client_is_created_without_auth_and_deletes_itself(localglobus):
    created = requests.post(
        localglobus.base_url + "v2/api/clients",
        json={"client": {"template_id": "95fdeba8-fac2-42bd-a357-e068d82ff78e", "name": "CLI"}},
    )
    assert created.status_code in (200, 201)
    body = created.json()
    credential = body["included"]["client_credential"]
    assert credential["client"] == body["client"]["id"]
    client = {"client_id": credential["client"], "client_secret": credential["secret"]}
    assert client_tokens(localglobus, client, TRANSFER)["access_token"]

    deleted = requests.delete(
        localglobus.base_url + f"v2/api/clients/{client['client_id']}",
        auth=(client["client_id"], client["client_secret"]),
    )

    assert deleted.status_code == 200
    with pytest.raises(globus_sdk.AuthAPIError) as err:
        client_tokens(localglobus, client, TRANSFER)
    assert err.value.http_status == 401


def test_creating_a_client_without_a_template_needs_authentication(localglobus):
    response = requests.post(
        localglobus.base_url + "v2/api/clients", json={"client": {"name": "Anything"}}
    )
    assert response.status_code == 401


def test_only_a_registered_native_app_can_be_a_template(localglobus):
    made_up = requests.post(
        localglobus.base_url + "v2/api/clients",
        json={"client": {"template_id": "0d4b5a3e-0d3c-4b5e-9a71-6a1f0f8f9e11", "name": "Me"}},
    )
    confidential = auth_register_client(localglobus, "Not a template")
    from_confidential = requests.post(
        localglobus.base_url + "v2/api/clients",
        json={"client": {"template_id": confidential["client_id"], "name": "Me"}},
    )

    assert made_up.status_code == 401 and from_confidential.status_code == 401
    assert "registered native app" in made_up.json()["errors"][0]["detail"]
    assert "Me" not in localglobus.cli("client", "list").stdout


def test_a_client_identity_reads_a_mapped_collection_only_where_it_is_mapped(transfer_live):
    lg = transfer_live.lg
    lab = transfer_live.collections["Lab Storage"]
    client = auth_register_client(lg, "Crawler")
    scope = f"{TRANSFER}[*https://auth.globus.org/scopes/{lab}/data_access]"
    tokens = client_tokens(lg, client, scope).by_resource_server["transfer.api.globus.org"]
    tc = transfer_live.transfer_client(tokens["access_token"])

    with pytest.raises(globus_sdk.TransferAPIError) as refused:
        tc.operation_ls(lab, path="/")
    lg.map_client(client["client_id"])
    listing = tc.operation_ls(lab, path="/")

    assert refused.value.http_status == 502
    assert refused.value.code == "ExternalError.DirListingFailed.LoginFailed"
    # (Whether the gateway already allows clients' domain depends on the tests run before.)
    assert "Message: Login Failed" in refused.value.message
    assert "c=LOGIN_DENIED" in refused.value.message
    assert {e["name"] for e in listing} >= {"README.txt"}


def test_validate_says_active_for_its_own_refresh_token_only(
    localglobus, auth_browser, auth_confidential_client, service_client
):
    app = globus_sdk.ConfidentialAppAuthClient(
        auth_confidential_client["client_id"],
        auth_confidential_client["client_secret"],
        base_url=localglobus.base_url,
    )
    app.oauth2_start_flow(auth_confidential_client["redirect_uri"], [TRANSFER], refresh_tokens=True)
    code = auth_browser.code_from(auth_browser.sign_in(app.oauth2_get_authorize_url()))["code"]
    refresh = app.oauth2_exchange_code_for_tokens(code)["refresh_token"]
    url = localglobus.base_url + "v2/oauth2/token/validate"
    own = (auth_confidential_client["client_id"], auth_confidential_client["client_secret"])

    assert requests.post(url, data={"token": refresh}, auth=own).json() == {"active": True}
    other = (service_client["client_id"], service_client["client_secret"])
    assert requests.post(url, data={"token": refresh}, auth=other).json() == {"active": False}
    app.oauth2_revoke_token(refresh)
    assert requests.post(url, data={"token": refresh}, auth=own).json() == {"active": False}
    assert requests.post(url, data={"token": refresh}).status_code == 401


def test_consents_form_the_forest_globus_sdk_checks_requirements_against(
    localglobus, auth_browser, auth_confidential_client
):
    collection = "https://auth.globus.org/scopes/c0ffee00-0000-4000-8000-0000000000c1"
    requested = f"{TRANSFER}[*{collection}/data_access]"
    app = globus_sdk.ConfidentialAppAuthClient(
        auth_confidential_client["client_id"],
        auth_confidential_client["client_secret"],
        base_url=localglobus.base_url,
    )
    app.oauth2_start_flow(auth_confidential_client["redirect_uri"], ["openid", requested])
    code = auth_browser.code_from(auth_browser.sign_in(app.oauth2_get_authorize_url()))["code"]
    tokens = app.oauth2_exchange_code_for_tokens(code)
    ac = globus_sdk.AuthClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(tokens["access_token"]),
        base_url=localglobus.base_url,
    )
    me = tokens.decode_id_token()["sub"]

    forest = ac.get_consents(me).to_forest()

    assert forest.meets_scope_requirements(requested)
    assert forest.meets_scope_requirements(TRANSFER)
    assert not forest.meets_scope_requirements(f"{TRANSFER}[{collection}-other/data_access]")
    assert {node.client for node in forest.nodes} == {auth_confidential_client["client_id"]}
    with pytest.raises(globus_sdk.AuthAPIError) as err:
        ac.get_consents(auth_confidential_client["client_id"])
    assert err.value.http_status == 403
