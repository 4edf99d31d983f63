"""Who may use a GCSv5 mapped collection (issue 9, part 2): the storage gateway's allowed
domains and identity mapping, the collection's path restrictions, guest collections
bounded by their owner, and the refusals real GCSv5 collections send
(docs/globus-api.md B.15)."""

from __future__ import annotations

import json
import os

import pytest

LS = "/v0.10/operation/endpoint/{}/ls"


def _change(h, fn):
    """Apply `fn(session)` to the harness's state database, as a `localglobus` command would."""
    with h.app.extensions["localglobus"].db.session() as session:
        fn(session)


def _gateway_of(session, h, name: str):
    from localglobus.transfer.models import Collection, StorageGateway

    coll = session.get(Collection, h.collections[name])
    return session.get(StorageGateway, coll.gateway_id)


def _restrict(h, name: str, restrict: dict) -> None:
    from localglobus.transfer.models import Collection

    _change(
        h, lambda s: setattr(s.get(Collection, h.collections[name]), "restrict_paths", restrict)
    )


def _gridftp_result(message: str) -> dict:
    """The GridFTP-JSON-Result document inside a LoginFailed message."""
    line = next(p for p in message.split("\\r\\n") if p.startswith("530-GridFTP-JSON-Result: "))
    return json.loads(line.partition(": ")[2])


def test_an_identity_of_another_domain_cannot_log_in_on_any_operation(transfer_harness):
    h = transfer_harness.act_as("admin")  # admin@uni.example only
    partner = h.collections["Partner Cluster"]

    listing = h.client.get(LS.format(partner), query_string={"path": "/"})
    mkdir = h.client.post(
        f"/v0.10/operation/endpoint/{partner}/mkdir", json={"path": "/new-folder"}
    )
    rename = h.client.post(
        f"/v0.10/operation/endpoint/{partner}/rename",
        json={"old_path": "/README.txt", "new_path": "/README.md"},
    )

    assert listing.status_code == 502
    assert listing.json["code"] == "ExternalError.DirListingFailed.LoginFailed"
    message = listing.json["message"]
    assert message.startswith("Command Failed: Error (login)\nEndpoint: Partner Cluster (")
    assert "Message: Login Failed" in message and "c=LOGIN_DENIED" in message
    result = _gridftp_result(message)
    assert result["code"] == "permission_denied"
    assert result["detail"] == {
        "DATA_TYPE": "not_from_allowed_domain#1.0.0",
        "allowed_domains": ["partner.example"],
    }
    assert (
        mkdir.status_code == 502 and mkdir.json["code"] == "ExternalError.MkdirFailed.LoginFailed"
    )
    assert rename.status_code == 502
    assert rename.json["code"] == "ExternalError.RenameFailed.LoginFailed"
    # Nothing was done.
    assert not (h.root("Partner Cluster") / "new-folder").exists()
    assert (h.root("Partner Cluster") / "README.txt").exists()


def test_a_linked_identity_of_the_allowed_domain_logs_in(transfer_harness):
    # Rosalind signed in as researcher@uni.example; her linked partner identity maps.
    h = transfer_harness.act_as("researcher")
    partner = h.collections["Partner Cluster"]

    listing = h.client.get(LS.format(partner), query_string={"path": "/"})

    assert listing.status_code == 200, listing.json
    assert "README.txt" in {e["name"] for e in listing.json["DATA"]}


def test_an_identity_that_maps_to_no_valid_account_is_refused(transfer_harness):
    from localglobus.transfer.commands import update_gateway

    h = transfer_harness
    lab = h.collections["Lab Storage"]
    assert h.client.get(LS.format(lab), query_string={"path": "/"}).status_code == 200

    _change(h, lambda s: update_gateway(s, _gateway_of(s, h, "Lab Storage"), deny=["researcher"]))
    refused = h.client.get(LS.format(lab), query_string={"path": "/"})

    assert refused.status_code == 502
    result = _gridftp_result(refused.json["message"])
    assert result["detail"] == {"DATA_TYPE": "invalid_user#1.0.0", "usernames": ["researcher"]}
    assert "does not map to a valid username" in result["message"]
    # Others on the same gateway are not affected.
    assert (
        h.act_as("admin").client.get(LS.format(lab), query_string={"path": "/"}).status_code == 200
    )


def test_an_explicit_mapping_wins_over_the_default_one(transfer_harness):
    from localglobus.transfer.commands import update_gateway

    h = transfer_harness
    lab = h.collections["Lab Storage"]

    def remap(session):
        gateway = _gateway_of(session, h, "Lab Storage")
        update_gateway(session, gateway, mappings={"researcher@uni.example": "rfranklin"})
        gateway.accounts = ["rfranklin", "admin"]

    _change(h, remap)

    assert h.client.get(LS.format(lab), query_string={"path": "/"}).status_code == 200
    _change(h, lambda s: update_gateway(s, _gateway_of(s, h, "Lab Storage"), deny=["rfranklin"]))
    result = _gridftp_result(
        h.client.get(LS.format(lab), query_string={"path": "/"}).json["message"]
    )
    assert result["detail"]["usernames"] == ["rfranklin"]


def test_path_restrictions_narrow_every_operation(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    _restrict(h, "Lab Storage", {"read_write": ["/"], "read": ["/shared/"], "none": ["/data/raw/"]})

    hidden = h.client.get(LS.format(lab), query_string={"path": "/data/raw/"})
    readable = h.client.get(LS.format(lab), query_string={"path": "/shared/"})
    read_only = h.client.post(
        f"/v0.10/operation/endpoint/{lab}/mkdir", json={"path": "/shared/new"}
    )
    writable = h.client.post(f"/v0.10/operation/endpoint/{lab}/mkdir", json={"path": "/new"})
    sid = h.client.get("/v0.10/submission_id").json["value"]
    into_read_only = h.client.post(
        "/v0.10/transfer",
        json={
            "submission_id": sid,
            "source_endpoint": h.collections["Archive"],
            "destination_endpoint": lab,
            "DATA": [{"source_path": "/README.txt", "destination_path": "/shared/readme.txt"}],
        },
    )

    assert hidden.status_code == 403 and "permission denied" in hidden.json["message"]
    assert readable.status_code == 200
    assert read_only.status_code == 403 and not (h.root("Lab Storage") / "shared/new").exists()
    assert writable.status_code == 200 and (h.root("Lab Storage") / "new").is_dir()
    assert into_read_only.status_code == 403
    assert into_read_only.json["code"] == "PermissionDenied"
    assert "/shared/readme.txt" in into_read_only.json["message"]


def test_a_symlink_does_not_open_a_restricted_folder(transfer_harness):
    h = transfer_harness
    lab = h.collections["Lab Storage"]
    root = h.root("Lab Storage")
    (root / "private").mkdir()
    (root / "private" / "secret.txt").write_text("not for you\n")
    os.symlink("../private", root / "shared" / "peek")
    _restrict(h, "Lab Storage", {"read_write": ["/shared/"], "none": ["/private/"]})

    through_link = h.client.get(LS.format(lab), query_string={"path": "/shared/peek/"})
    direct = h.client.get(LS.format(lab), query_string={"path": "/private/"})

    assert direct.status_code == 403
    assert through_link.status_code == 403, through_link.json
    assert "secret.txt" not in json.dumps(through_link.json)


def test_a_guest_collection_grants_no_more_than_its_owner_may_do(transfer_harness):
    from localglobus.transfer.commands import update_gateway
    from localglobus.transfer.models import AccessRule

    h = transfer_harness
    shared = h.collections["Shared Results"]  # admin's guest collection on Lab Storage /shared/

    def grant_rw(session):
        rule = session.query(AccessRule).filter_by(collection_id=shared).one()
        rule.permissions = "rw"

    _change(h, grant_rw)
    assert (
        h.client.post(
            f"/v0.10/operation/endpoint/{shared}/mkdir", json={"path": "/first"}
        ).status_code
        == 200
    )

    # The host now lets its users only read /shared/: the guest's rw rule is worth r.
    _restrict(h, "Lab Storage", {"read_write": ["/"], "read": ["/shared/"]})
    bounded = h.client.post(f"/v0.10/operation/endpoint/{shared}/mkdir", json={"path": "/second"})
    still_readable = h.client.get(LS.format(shared), query_string={"path": "/"})

    assert bounded.status_code == 403
    assert not (h.root("Lab Storage") / "shared" / "second").exists()
    assert still_readable.status_code == 200

    # The owner can no longer log in to the host: the guest collection serves nobody.
    _change(h, lambda s: update_gateway(s, _gateway_of(s, h, "Lab Storage"), deny=["admin"]))
    refused = h.client.get(LS.format(shared), query_string={"path": "/"})
    assert refused.status_code == 502
    assert refused.json["code"] == "ExternalError.DirListingFailed.LoginFailed"
    assert "Endpoint: Shared Results" in refused.json["message"]


def test_guest_collections_follow_the_host_rules(transfer_harness):
    from localglobus.transfer.commands import CollectionError, create_collection
    from localglobus.transfer.models import Collection

    h = transfer_harness
    lab = h.collections["Lab Storage"]
    users = h.users

    def attempt(session, owner, host_path="/data/"):
        return create_collection(
            session, "Try", kind="guest", owner_id=owner, host_id=lab, host_path=host_path
        )

    def check(session):
        host = session.get(Collection, lab)
        host.sharing_restrict_paths = {"read_write": ["/data/"]}
        with pytest.raises(CollectionError, match="does not allow sharing /shared/"):
            attempt(session, users["researcher@uni.example"], "/shared/")
        assert attempt(session, users["researcher@uni.example"]).host_path == "/data/"
        partner = session.get(Collection, h.collections["Partner Cluster"])
        with pytest.raises(CollectionError, match="admin@uni.example cannot log in"):
            create_collection(
                session,
                "Nope",
                kind="guest",
                owner_id=users["admin@uni.example"],
                host_id=partner.id,
                host_path="/data/",
            )
        host.allow_guest_collections = False
        with pytest.raises(CollectionError, match="does not allow guest collections"):
            attempt(session, users["researcher@uni.example"])
        session.rollback()

    _change(h, check)


def test_a_task_to_a_collection_that_refuses_the_login_waits_with_a_fault(transfer_harness):
    """Transfer accepts the task (it does not log in to accept it); the task then stays
    ACTIVE with PERMISSION_DENIED faults, and runs once the gateway lets the owner in."""
    from localglobus.transfer.commands import update_gateway
    from tests.waiting import wait_until

    h = transfer_harness.act_as("admin")  # admin@uni.example: Partner Cluster refuses her
    (h.root("Lab Storage") / "for-partner.txt").write_text("results\n")
    sub = h.submit(
        "transfer",
        {
            "source_endpoint": h.collections["Lab Storage"],
            "destination_endpoint": h.collections["Partner Cluster"],
            "DATA": [
                {
                    "DATA_TYPE": "transfer_item",
                    "source_path": "/for-partner.txt",
                    "destination_path": "/from-uni.txt",
                }
            ],
        },
    )
    task_url = f"/v0.10/task/{sub['task_id']}"

    def faulted():
        doc = h.client.get(task_url).json
        return doc if doc["faults"] >= 2 else None

    doc = wait_until(faulted, "the task to be refused twice")
    assert doc["status"] == "ACTIVE" and doc["is_ok"] is False
    assert doc["nice_status"] == "PERMISSION_DENIED"
    assert doc["nice_status_short_description"] == "Permission denied"
    events = h.client.get(f"{task_url}/event_list").json["DATA"]
    refused = [e for e in events if e["code"] == "PERMISSION_DENIED"]
    assert refused and all(e["is_error"] for e in refused)
    assert "Error (login)\nEndpoint: Partner Cluster (" in refused[0]["details"]
    assert not (h.root("Partner Cluster") / "from-uni.txt").exists()

    _change(
        h,
        lambda s: update_gateway(
            s, _gateway_of(s, h, "Partner Cluster"), add_domains=["uni.example"]
        ),
    )
    done = h.wait(sub["task_id"])
    assert done["status"] == "SUCCEEDED" and done["faults"] >= 2
    assert (h.root("Partner Cluster") / "from-uni.txt").read_text() == "results\n"


def test_a_session_policy_wants_a_recent_sign_in_of_an_allowed_domain(transfer_harness):
    """A high-assurance gateway with an authentication timeout (and then MFA) refuses a
    session without a recent enough sign-in of an allowed identity, with the recorded
    LoginFailed answer and the authorization parameters a new sign-in must meet."""
    import dataclasses
    from datetime import timedelta

    from localglobus.auth.identities import SessionAuthentication
    from localglobus.db import utcnow
    from localglobus.transfer.commands import update_gateway
    from tests.localglobus.conftest import PARTNER_ID

    h = transfer_harness.act_as("researcher", consent=False)
    lab = h.collections["Lab Storage"]
    researcher = h.users["researcher@uni.example"]
    _change(
        h,
        lambda s: update_gateway(
            s,
            _gateway_of(s, h, "Lab Storage"),
            high_assurance=True,
            authentication_timeout_mins=60,
        ),
    )

    def ls_with(**signed_in):
        auths = {
            identity: SessionAuthentication(identity, utcnow() - age, "idp", mfa)
            for identity, (age, mfa) in signed_in.items()
        }
        h.caller = dataclasses.replace(h.caller, authentications=auths)
        return h.client.get(LS.format(lab), query_string={"path": "/"})

    fresh, stale = timedelta(minutes=5), timedelta(hours=2)
    none = ls_with()
    old = ls_with(**{researcher: (stale, False)})
    partner_only = ls_with(**{PARTNER_ID: (fresh, False)})
    recent = ls_with(**{researcher: (fresh, False)})
    doc = h.client.get(f"/v0.10/endpoint/{lab}").json

    for refused in (none, old, partner_only):
        assert refused.status_code == 502
        assert refused.json["code"] == "ExternalError.DirListingFailed.LoginFailed"
        params = refused.json["authorization_parameters"]
        assert params["session_required_single_domain"] == ["uni.example"]
        assert "session_required_mfa" not in params
        result = _gridftp_result(refused.json["message"])
        assert result["message"] == (
            "None of your authenticated identities are from domains allowed by resource policies"
        )
        assert result["authorization_parameters"] == {
            "session_required_single_domain": ["uni.example"]
        }
    # High assurance: no data_access consent, as on Globus (this caller has none).
    assert recent.status_code == 200
    assert doc["high_assurance"] is True and doc["authentication_timeout_mins"] == 60

    _change(h, lambda s: update_gateway(s, _gateway_of(s, h, "Lab Storage"), require_mfa=True))
    no_mfa = ls_with(**{researcher: (fresh, False)})
    with_mfa = ls_with(**{researcher: (fresh, True)})

    assert no_mfa.status_code == 502
    assert no_mfa.json["authorization_parameters"]["session_required_mfa"] is True
    assert with_mfa.status_code == 200
