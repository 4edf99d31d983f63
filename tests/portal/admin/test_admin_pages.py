"""The admin pages against the live localglobus: rules, roles, activity and the audit
log, as the feature list reads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.admin.models import AuditEntry
from app.extensions import db
from tests.portal.helpers.pages import csrf_token, page
from tests.portal.helpers.signin import sign_in
from tests.waiting import wait_until


@pytest.fixture
def admin_client(client, localglobus, world):
    sign_in(client, localglobus, "admin")
    client.csrf = csrf_token(client)
    yield client
    for username in ("adm-bystander", "adm-norole"):
        world.remove_rules_for(username)
        world.remove_rules_for(username, on=world.other_id)
    world.remove_roles_for("adm-bystander")
    world.remove_roles_for("adm-bystander", on=world.other_id)
    for rule in world.rules():
        if rule.get("id") and rule["principal_type"] in ("anonymous", "all_authenticated_users"):
            world.transfer().delete_endpoint_acl_rule(world.shared_id, str(rule["id"]))


def post(client, url: str, **form):
    return client.post(url, data={**form, "csrf_token": client.csrf})


def audit_rows(app) -> list[AuditEntry]:
    with app.app_context():
        return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_rules_show_people_by_name_and_implicit_rows_as_not_editable(admin_client, world):
    html = page(admin_client.get(f"/admin/{world.shared_id}/rules"))
    rows = html.select("table.access-rules tr.rule")
    researcher = [r for r in rows if "Rosalind Researcher (researcher@uni.example)" in r.get_text()]
    assert researcher, "the demo rule for researcher is listed by name"
    assert researcher[0].select_one("code.path").get_text() == "/"
    for row in html.select("tr.rule.implicit"):
        assert row.select_one(".not-editable") and not row.select("form")


def test_share_a_folder_change_it_and_delete_it_each_step_audited(app, admin_client, world):
    world.make_folder("/pages-share/")
    base = f"/admin/{world.shared_id}/rules"
    response = post(
        admin_client,
        base,
        principal_type="identity",
        principal="adm-bystander@uni.example",
        path="/pages-share/",
        permissions="r",
    )
    assert response.status_code == 302, page(response).get_text()[:500]
    [made] = [r for r in world.rules() if r.get("principal") == world.identities["adm-bystander"]]
    assert (made["path"], made["permissions"]) == ("/pages-share/", "r")
    rule_id = str(made["id"])

    assert post(admin_client, f"{base}/{rule_id}", permissions="rw").status_code == 302
    assert [r["permissions"] for r in world.rules() if str(r.get("id")) == rule_id] == ["rw"]
    assert post(admin_client, f"{base}/{rule_id}/delete").status_code == 302
    assert not [r for r in world.rules() if str(r.get("id")) == rule_id]

    added, changed, deleted = audit_rows(app)[-3:]
    assert [e.action for e in (added, changed, deleted)] == [
        "rule.add",
        "rule.update",
        "rule.delete",
    ]
    assert all(
        e.result == "ok" and e.actor_username == "admin@uni.example"
        for e in (added, changed, deleted)
    )
    assert added.before is None and added.after["path"] == "/pages-share/"
    assert changed.before["permissions"] == "r" and changed.after["permissions"] == "rw"
    assert deleted.before["id"] == rule_id and deleted.after is None
    audit = page(admin_client.get(f"/admin/{world.shared_id}/audit"))
    actions = [row["data-action"] for row in audit.select("tr.audit-entry")]
    assert actions[:3] == ["rule.delete", "rule.update", "rule.add"]  # newest first
    filtered = page(admin_client.get(f"/admin/{world.shared_id}/audit?action=rule.update"))
    assert {row["data-action"] for row in filtered.select("tr.audit-entry")} == {"rule.update"}


def test_the_folder_picker_browses_the_collection(admin_client, world):
    world.make_folder("/picker/")
    world.make_folder("/picker/inner/")
    base = f"/admin/{world.shared_id}/rules"
    picker = page(admin_client.get(f"{base}/folders?browse=/"))
    folder = picker.select_one('li.folder a.pick[data-pick-path="/picker/"]')
    assert folder is not None
    deeper = picker.find("a", string=lambda text: text and "picker" in text)
    assert deeper["hx-get"].endswith("browse=/picker/")
    inner = page(admin_client.get(deeper["hx-get"]))
    assert inner.select_one('a.pick[data-pick-path="/picker/inner/"]')
    assert inner.select_one("code.picker-path").get_text() == "/picker/"
    # Without script, "Use" reloads the form with the folder filled in.
    form = page(admin_client.get(f"{base}/new?path=/picker/inner/&browse=/picker/"))
    assert form.select_one("input#path")["value"] == "/picker/inner/"
    assert page(admin_client.get(f"{base}/new?path=/../")).select_one("input#path")["value"] == "/"


def test_activity_pages_with_last_key(admin_client, world, monkeypatch):
    from app.globus import endpoint_manager

    world.researcher_task()
    world.researcher_task()
    monkeypatch.setattr(endpoint_manager, "PAGE_SIZE", 1)
    url = f"/admin/{world.shared_id}/activity"
    first = page(admin_client.get(url))
    [row] = first.select("tr.task")
    nxt = first.select_one('nav.pager a[rel="next"]')
    second = page(admin_client.get(nxt["href"]))
    [row2] = second.select("tr.task")
    assert row2["data-task-id"] != row["data-task-id"]
    assert second.find("a", string="First page")


def test_a_rule_gets_an_expiration_and_loses_it_again(admin_client, world):
    rule_id = world.add_rule("/")
    url = f"/admin/{world.shared_id}/rules/{rule_id}"
    form = page(admin_client.get(url))
    assert form.select_one("input[name=permissions][value=r]").has_attr("checked")
    past = post(admin_client, url, permissions="r", expiration="2001-01-01T00:00")
    assert past.status_code == 400 and page(past).select_one("#expiration-error")
    assert (
        post(admin_client, url, permissions="r", expiration="2031-01-02T03:04").status_code == 302
    )
    [rule] = [r for r in world.rules() if str(r.get("id")) == rule_id]
    assert rule["expiration_date"].startswith("2031-01-02T03:04")
    shown = page(admin_client.get(url)).select_one("input#expiration")["value"]
    assert shown == "2031-01-02T03:04"
    assert post(admin_client, url, permissions="r", expiration="").status_code == 302
    [rule] = [r for r in world.rules() if str(r.get("id")) == rule_id]
    assert rule["expiration_date"] is None


@pytest.mark.parametrize(
    "path",
    ["no-slash/", "/no-end", "/a/../b/", "/a\\b/", "/a\x00b/", "/a\r\nb/"],
)
def test_bad_rule_paths_are_refused_before_any_call_to_globus(admin_client, world, path):
    before = world.rules()
    response = post(
        admin_client,
        f"/admin/{world.shared_id}/rules",
        principal_type="identity",
        principal="adm-bystander@uni.example",
        path=path,
        permissions="r",
    )
    assert response.status_code == 400
    assert page(response).select_one("#path-error")
    assert world.rules() == before


def test_anonymous_write_is_refused_unless_the_portal_allows_it(admin_client, world, app):
    url = f"/admin/{world.shared_id}/rules"
    before = world.rules()
    response = post(admin_client, url, principal_type="anonymous", path="/", permissions="rw")
    assert response.status_code == 400
    assert "does not allow write access for anonymous" in page(response).get_text()
    assert world.rules() == before and audit_rows(app) == []
    # With FERRY_ALLOW_ANONYMOUS_WRITE the portal asks Globus, which has the last word
    # (localglobus, like many Globus deployments, keeps anonymous access read-only).
    app.config["FERRY_ALLOW_ANONYMOUS_WRITE"] = True
    response = post(admin_client, url, principal_type="anonymous", path="/", permissions="rw")
    [entry] = audit_rows(app)
    # localglobus refuses it: the refusal is audited and shown on the form.
    assert (entry.action, entry.result, entry.after) == ("rule.add", "failed", None)
    assert response.status_code == 400
    assert entry.error in page(response).select_one(".form-error").get_text()


def test_nobody_matching_is_a_clear_message(admin_client, world):
    before = world.rules()
    response = post(
        admin_client,
        f"/admin/{world.shared_id}/rules",
        principal_type="identity",
        principal="no-such-person@example.org",
        path="/",
        permissions="r",
    )
    assert response.status_code == 400
    error = page(response).select_one(".form-error")
    assert "Nobody at Globus has the username or email" in error.get_text()
    assert world.rules() == before


def test_a_rule_or_role_id_of_another_collection_is_404_and_changes_nothing(admin_client, world):
    rule_id = world.add_rule("/", on=world.other_id)
    role_id = world.add_role("adm-bystander", "activity_monitor", on=world.other_id)
    before = world.snapshot()
    base = f"/admin/{world.shared_id}"
    assert admin_client.get(f"{base}/rules/{rule_id}").status_code == 404
    assert post(admin_client, f"{base}/rules/{rule_id}", permissions="rw").status_code == 404
    assert post(admin_client, f"{base}/rules/{rule_id}/delete").status_code == 404
    assert post(admin_client, f"{base}/roles/{role_id}/delete").status_code == 404
    assert world.snapshot() == before


def test_grant_and_revoke_a_role_by_username(app, admin_client, world):
    url = f"/admin/{world.shared_id}/roles"
    response = post(
        admin_client,
        url,
        principal_type="identity",
        principal="adm-bystander@uni.example",
        role="activity_manager",
    )
    assert response.status_code == 302
    [role] = [r for r in world.roles() if r["principal"] == world.identities["adm-bystander"]]
    assert role["role"] == "activity_manager"
    html = page(admin_client.get(url))
    row = html.select_one(f'tr.role[data-role-id="{role["id"]}"]')
    assert "Adm Bystander" in row.get_text() or "adm-bystander" in row.get_text()
    assert post(admin_client, f"{url}/{role['id']}/delete").status_code == 302
    assert not [r for r in world.roles() if r["principal"] == world.identities["adm-bystander"]]
    granted, revoked = audit_rows(app)[-2:]
    assert (granted.action, granted.after["role"]) == ("role.grant", "activity_manager")
    assert (revoked.action, revoked.before["id"]) == ("role.revoke", role["id"])


def test_a_role_can_be_granted_by_the_email_of_someone_who_signed_in_here(
    app, admin_client, localglobus, world
):
    sign_in(app.test_client(), localglobus, "adm-bystander")  # the portal learns the email
    email = "ADM-bystander@lab.example"  # not a username; case does not matter
    response = post(
        admin_client,
        f"/admin/{world.shared_id}/roles",
        principal_type="identity",
        principal=email,
        role="activity_monitor",
    )
    assert response.status_code == 302
    assert [
        r["role"] for r in world.roles() if r["principal"] == world.identities["adm-bystander"]
    ] == ["activity_monitor"]


def test_access_managers_see_roles_read_only(client, localglobus, world):
    sign_in(client, localglobus, "adm-accessmanager")
    html = page(client.get(f"/admin/{world.shared_id}/roles"))
    assert html.select("tr.role")
    assert not html.select("form.role-form") and not html.select("tr.role form")


def test_the_activity_monitor_sees_everyones_tasks_and_their_events(client, localglobus, world):
    task_id = world.researcher_task("monitored by the admin pages")
    sign_in(client, localglobus, "adm-monitor")
    html = page(client.get(f"/admin/{world.shared_id}/activity"))
    row = html.select_one(f'tr.task[data-task-id="{task_id}"]')
    assert row is not None and "researcher" in row.select_one(".owner").get_text()
    detail = page(client.get(f"/admin/{world.shared_id}/activity/{task_id}"))
    assert detail.select_one("dl.monitored-task")["data-task-id"] == task_id
    assert detail.select("table.events tr.event")
    assert not detail.select("section.admin-cancel")  # monitors watch, they do not cancel


def test_activity_filters_by_owner_and_refuses_unknown_owners(client, localglobus, world):
    world.researcher_task()
    sign_in(client, localglobus, "admin")
    url = f"/admin/{world.shared_id}/activity"
    html = page(client.get(url + "?owner=researcher@uni.example"))
    owners = {cell.get_text(strip=True) for cell in html.select("tr.task .owner")}
    assert owners and all("researcher" in o for o in owners)
    response = client.get(url + "?owner=nobody-at-all")
    assert response.status_code == 400
    assert "Nobody at Globus" in page(response).select_one(".form-error").get_text()


def test_admin_cancel_stops_researchers_task_with_a_message_and_is_audited(
    app, admin_client, world
):
    task_id = world.running_task("to be canceled by admin")
    url = f"/admin/{world.shared_id}/activity/{task_id}"
    form = page(admin_client.get(url)).select_one("section.admin-cancel form")
    assert form["action"] == f"{url}/cancel"
    response = post(admin_client, f"{url}/cancel", message="Disk maintenance, sorry")
    assert response.status_code == 302
    wait_until(
        lambda: world.task_state(task_id)[0] != "ACTIVE", "the canceled task to end", timeout=10
    )
    assert world.task_state(task_id) == ("FAILED", "BOTH", "Disk maintenance, sorry")
    [entry] = [e for e in audit_rows(app) if e.action == "task.admin_cancel"]
    assert entry.result == "ok" and entry.before["status"] == "ACTIVE"
    assert entry.before["owner"].startswith("researcher")
    assert entry.after["message"] == "Disk maintenance, sorry"
    shown = page(admin_client.get(url))
    assert shown.select_one(".admin-cancel-message").get_text() == "Disk maintenance, sorry"
    assert not shown.select("section.admin-cancel")  # nothing left to cancel


def test_a_cancel_message_is_required(admin_client, world):
    task_id = world.running_task()
    response = post(admin_client, f"/admin/{world.shared_id}/activity/{task_id}/cancel", message="")
    assert response.status_code == 400
    assert page(response).select_one("#message-error")
    assert world.task_state(task_id)[1] is None


@pytest.fixture
def operator_client(make_app, localglobus):
    portal = localglobus.portal_client
    app = make_app(
        FERRY_BASE_URL=localglobus.portal_base_url,
        FERRY_GLOBUS_AUTH_URL=localglobus.base_url,
        FERRY_GLOBUS_TRANSFER_URL=localglobus.base_url,
        FERRY_GLOBUS_CLIENT_ID=portal["client_id"],
        FERRY_GLOBUS_CLIENT_SECRET=portal["client_secret"],
        FERRY_ADMINS=["adm-norole@uni.example"],
    )
    with app.app_context():
        for i, collection_id in enumerate(("c-one", "c-two")):
            db.session.add(
                AuditEntry(
                    actor_sub="s",
                    actor_username=f"someone{i}",
                    collection_id=collection_id,
                    action="role.grant",
                    target="x",
                    result="ok",
                )
            )
        db.session.commit()
    client = app.test_client()
    sign_in(client, localglobus, "adm-norole")
    return client


def test_portal_operators_see_every_audit_entry(operator_client):
    html = page(operator_client.get("/admin/audit"))
    assert len(html.select("tr.audit-entry")) == 2
    assert page(operator_client.get("/admin/")).select_one('a[href="/admin/audit"]')
    only = page(operator_client.get("/admin/audit?collection=c-two"))
    assert [r.select_one(".actor").get_text() for r in only.select("tr.audit-entry")] == [
        "someone1"
    ]
