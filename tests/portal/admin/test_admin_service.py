"""Admin use cases with the Globus boundary replaced: the audit entry is written before
the call to Globus and finished after it; refusals happen before any change."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.admin import service
from app.admin.audit import AuditFilters, list_entries
from app.admin.forms import rule_path_problem
from app.admin.models import AuditEntry
from app.db import utcnow
from app.errors import BadInput, NotFound, PermissionDenied
from app.extensions import db
from app.globus import admin, endpoint_manager
from app.globus.admin_types import AccessRule, Identity, Outcome, Role
from app.globus.endpoint_manager import MonitoredTask
from app.globus.types import Collection
from app.models import User

COLL = "a7a1d2f4-1111-4222-8333-444455556666"
OTHER_RULE = "99999999-0000-4000-8000-000000000000"
BOB = Identity(id="b0b0b0b0-0000-4000-8000-000000000000", username="bob@uni.edu", name="Bob")


def collection(*roles: str) -> Collection:
    return Collection.from_api(
        {
            "id": COLL,
            "display_name": "Shared",
            "entity_type": "GCSv5_guest_collection",
            "my_effective_roles": list(roles),
        }
    )


def rule(rule_id="r1", path="/data/", permissions="r", principal_type="identity"):
    return AccessRule(
        principal_type=principal_type,
        principal=BOB.id if principal_type == "identity" else "",
        id=rule_id,
        path=path,
        permissions=permissions,
    )


class Calls(list):
    """The boundary calls that changed something."""


@pytest.fixture
def ctx(make_app, monkeypatch):
    """An app context with a signed-in-like actor and a boundary that records calls."""
    app = make_app()
    calls = Calls()
    with app.app_context():
        actor = User(sub="5e5e5e5e-0000-4000-8000-000000000000", username="ada@uni.edu")
        db.session.add(actor)
        db.session.commit()
        monkeypatch.setattr(admin, "find_identity", lambda uid, v: BOB if "bob" in v else None)
        monkeypatch.setattr(admin, "identities_by_id", lambda uid, ids: {BOB.id: BOB})
        monkeypatch.setattr(admin, "list_access_rules", lambda uid, cid: [rule()])
        monkeypatch.setattr(
            admin,
            "list_roles",
            lambda uid, cid: [
                Role(principal_type="identity", principal=BOB.id, id="role1", role="access_manager")
            ],
        )

        def changing(name, outcome=None):
            def call(*args):
                pending = db.session.scalars(select(AuditEntry)).all()
                calls.append((name, args, [(e.action, e.result) for e in pending]))
                return outcome or Outcome(code="Done", request_id=f"req-{name}")

            return call

        monkeypatch.setattr(
            admin, "create_access_rule", changing("create", Outcome(new_id="r2", request_id="q"))
        )
        monkeypatch.setattr(admin, "update_access_rule", changing("update"))
        monkeypatch.setattr(admin, "delete_access_rule", changing("delete"))
        monkeypatch.setattr(admin, "delete_role", changing("delete_role"))
        yield actor, calls


def entries() -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def new_rule(**kw) -> service.NewRule:
    values = {
        "principal_type": "identity",
        "principal": "bob@uni.edu",
        "path": "/results/",
        "permissions": "r",
    }
    return service.NewRule(**{**values, **kw})


def test_add_access_rule_is_audited_pending_before_the_call_and_ok_after(ctx):
    actor, calls = ctx
    new_id = service.add_access_rule(
        actor, collection("access_manager"), new_rule(), allow_anonymous_write=False
    )
    assert new_id == "r2"
    [(name, args, seen_during_call)] = calls
    assert name == "create"
    assert args[2]["principal"] == BOB.id and args[2]["path"] == "/results/"
    assert seen_during_call == [("rule.add", "pending")]
    [entry] = entries()
    assert (entry.action, entry.result, entry.request_id) == ("rule.add", "ok", "q")
    assert entry.before is None
    assert entry.after["id"] == "r2" and entry.after["principal_label"] == "Bob (bob@uni.edu)"
    assert entry.actor_username == "ada@uni.edu" and entry.collection_id == COLL
    assert entry.finished_at is not None


def test_a_refused_globus_call_leaves_a_failed_entry_with_the_error(ctx, monkeypatch):
    actor, _calls = ctx

    def refuse(*args):
        raise PermissionDenied("Globus says no", request_id="gl-42")

    monkeypatch.setattr(admin, "create_access_rule", refuse)
    with pytest.raises(PermissionDenied):
        service.add_access_rule(
            actor, collection("administrator"), new_rule(), allow_anonymous_write=False
        )
    [entry] = entries()
    assert (entry.result, entry.error, entry.request_id) == ("failed", "Globus says no", "gl-42")


def test_update_records_before_and_after(ctx):
    actor, calls = ctx
    coll = collection("administrator")
    found = service.find_access_rule(actor, coll, "r1")
    service.update_access_rule(actor, coll, found, "rw", None, allow_anonymous_write=False)
    [entry] = entries()
    assert entry.before["permissions"] == "r" and entry.after["permissions"] == "rw"
    assert entry.action == "rule.update" and entry.result == "ok"
    assert calls[0][1][2:] == ("r1", {"permissions": "rw", "expiration_date": None})


def test_delete_records_the_rule_it_removed(ctx):
    actor, calls = ctx
    service.delete_access_rule(actor, collection("administrator"), "r1")
    [entry] = entries()
    assert entry.action == "rule.delete" and entry.before["path"] == "/data/"
    assert entry.after is None and entry.request_id == "req-delete"


def test_a_rule_id_of_another_collection_is_not_found_and_nothing_is_called(ctx):
    actor, calls = ctx
    with pytest.raises(NotFound):
        service.delete_access_rule(actor, collection("administrator"), OTHER_RULE)
    with pytest.raises(NotFound):
        service.find_access_rule(actor, collection("administrator"), OTHER_RULE)
    assert calls == [] and entries() == []


def test_implicit_rows_cannot_be_changed(ctx, monkeypatch):
    actor, calls = ctx
    implicit = AccessRule(principal_type="identity", principal=BOB.id, id=None, role_id="x")
    monkeypatch.setattr(admin, "list_access_rules", lambda uid, cid: [implicit])
    with pytest.raises(NotFound):
        service.delete_access_rule(actor, collection("administrator"), "None")
    with pytest.raises(BadInput):
        service.update_access_rule(
            actor, collection("administrator"), implicit, "r", None, allow_anonymous_write=False
        )
    assert calls == []


def test_the_rule_limit_is_respected_with_a_clear_message(ctx, monkeypatch):
    actor, calls = ctx
    full = [rule(rule_id=f"r{i}", path=f"/d{i}/") for i in range(service.RULE_LIMIT)]
    monkeypatch.setattr(admin, "list_access_rules", lambda uid, cid: full)
    with pytest.raises(BadInput, match="already has 100 access rules"):
        service.add_access_rule(
            actor, collection("administrator"), new_rule(), allow_anonymous_write=False
        )
    assert calls == [] and entries() == []


def test_anonymous_write_is_refused_unless_the_portal_allows_it(ctx):
    actor, calls = ctx
    anonymous_rw = new_rule(principal_type="anonymous", principal="", permissions="rw")
    with pytest.raises(BadInput, match="anonymous"):
        service.add_access_rule(
            actor, collection("administrator"), anonymous_rw, allow_anonymous_write=False
        )
    assert calls == []
    service.add_access_rule(
        actor, collection("administrator"), anonymous_rw, allow_anonymous_write=True
    )
    assert calls[0][1][2]["principal_type"] == "anonymous"


def test_nobody_matching_the_username_or_email_is_a_clear_error(ctx):
    actor, calls = ctx
    with pytest.raises(BadInput, match="Nobody at Globus has the username or email"):
        service.add_access_rule(
            actor,
            collection("administrator"),
            new_rule(principal="nobody@nowhere.org"),
            allow_anonymous_write=False,
        )
    assert calls == [] and entries() == []


def test_an_email_that_is_no_username_finds_the_portal_user_with_that_email(ctx, monkeypatch):
    actor, calls = ctx
    rosa = Identity(id="7a7a7a7a-0000-4000-8000-000000000000", username="rosa", name="Rosa")
    db.session.add(User(sub=rosa.id, username="rosa", email="Rosa@Lab.example"))
    db.session.commit()
    looked_up = []
    monkeypatch.setattr(
        admin, "identities_by_id", lambda uid, ids: looked_up.append(list(ids)) or {rosa.id: rosa}
    )
    assert service.resolve_principal(actor, "identity", "rosa@lab.example") == (
        rosa.id,
        "Rosa (rosa)",
    )
    assert looked_up == [[rosa.id]]  # confirmed at Globus, not taken from the portal alone
    with pytest.raises(BadInput):
        service.resolve_principal(actor, "identity", "other@lab.example")


@pytest.mark.parametrize("roles", [(), ("activity_monitor",), ("activity_manager",)])
def test_rule_changes_need_administrator_or_access_manager(ctx, roles):
    actor, calls = ctx
    with pytest.raises(PermissionDenied):
        service.add_access_rule(actor, collection(*roles), new_rule(), allow_anonymous_write=False)
    with pytest.raises(PermissionDenied):
        service.delete_access_rule(actor, collection(*roles), "r1")
    assert calls == [] and entries() == []


def test_an_access_manager_cannot_grant_or_revoke_roles(ctx):
    actor, calls = ctx
    for role in ("administrator", "access_manager"):
        with pytest.raises(PermissionDenied):
            service.grant_role(actor, collection("access_manager"), "identity", "bob", role)
    with pytest.raises(PermissionDenied):
        service.revoke_role(actor, collection("access_manager"), "role1")
    assert calls == [] and entries() == []


def test_revoke_role_records_the_role_and_refuses_other_collections_roles(ctx):
    actor, calls = ctx
    with pytest.raises(NotFound):
        service.revoke_role(actor, collection("administrator"), "role-elsewhere")
    service.revoke_role(actor, collection("administrator"), "role1")
    [entry] = entries()
    assert entry.action == "role.revoke" and entry.before["role"] == "access_manager"
    assert entry.target == "access_manager for Bob (bob@uni.edu)"


def task(source: str, status: str = "ACTIVE") -> MonitoredTask:
    return MonitoredTask.from_api(
        {
            "task_id": "t1",
            "status": status,
            "source_endpoint_id": source,
            "owner_id": BOB.id,
            "owner_string": "bob@uni.edu",
            "type": "TRANSFER",
        }
    )


def test_admin_cancel_only_for_running_tasks_of_this_collection(ctx, monkeypatch):
    actor, calls = ctx
    coll = collection("activity_manager", "activity_monitor")
    cancel = []
    monkeypatch.setattr(
        endpoint_manager,
        "admin_cancel",
        lambda uid, tid, msg: cancel.append((tid, msg)) or Outcome(new_id="ac1"),
    )
    monkeypatch.setattr(endpoint_manager, "monitored_task", lambda uid, tid: task("elsewhere"))
    with pytest.raises(NotFound):
        service.admin_cancel_task(actor, coll, "t1", "stop")
    monkeypatch.setattr(
        endpoint_manager, "monitored_task", lambda uid, tid: task(COLL, "SUCCEEDED")
    )
    with pytest.raises(BadInput):
        service.admin_cancel_task(actor, coll, "t1", "stop")
    with pytest.raises(PermissionDenied):
        service.admin_cancel_task(actor, collection("activity_monitor"), "t1", "stop")
    assert cancel == [] and entries() == []
    monkeypatch.setattr(endpoint_manager, "monitored_task", lambda uid, tid: task(COLL))
    assert service.admin_cancel_task(actor, coll, "t1", "disk full, sorry") == "ac1"
    assert cancel == [("t1", "disk full, sorry")]
    [entry] = entries()
    assert entry.action == "task.admin_cancel" and entry.before["status"] == "ACTIVE"
    assert entry.after["message"] == "disk full, sorry" and entry.after["admin_cancel_id"] == "ac1"


def test_audit_entries_list_newest_first_filtered_and_paged(make_app):
    app = make_app()
    with app.app_context():
        now = utcnow()
        for i in range(60):
            db.session.add(
                AuditEntry(
                    actor_sub="s",
                    actor_username="ada" if i % 2 else "bob",
                    collection_id=COLL if i < 55 else "other",
                    action="rule.add" if i % 3 else "role.grant",
                    target=f"#{i}",
                    result="ok",
                    created_at=now - timedelta(minutes=i),
                )
            )
        db.session.commit()
        first = list_entries(AuditFilters(collection_id=COLL))
        assert first.total == 55 and len(first.entries) == 50 and first.has_next
        assert [e.target for e in first.entries[:3]] == ["#0", "#1", "#2"]
        second = list_entries(AuditFilters(collection_id=COLL), page=2)
        assert [e.target for e in second.entries] == [f"#{i}" for i in range(50, 55)]
        ada = list_entries(AuditFilters(actor="ADA", action="role.grant"))
        assert {e.actor_username for e in ada.entries} == {"ada"}
        assert {e.action for e in ada.entries} == {"role.grant"}
        assert list_entries(AuditFilters(since=date.today() + timedelta(days=1))).total == 0
        assert list_entries(AuditFilters()).total == 60


@pytest.mark.parametrize(
    "path",
    ["results/", "/results", "/a/../b/", "/a/./", "/a\\b/", "/a\x00/", "/a\r\n/", "//", "/a//b/"],
)
def test_rule_paths_must_be_clean_folders(path):
    assert rule_path_problem(path)


@pytest.mark.parametrize("path", ["/", "/results/", "/Ergebnisse 2024/ünïcode/"])
def test_good_rule_paths(path):
    assert rule_path_problem(path) is None
