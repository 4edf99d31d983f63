"""The admin permission matrix: every admin route × {anonymous, a user without a role,
an activity monitor, an access manager, an administrator} → the expected status, and
nothing changed at Globus when refused (docs/security.md: Access control)."""

from __future__ import annotations

import pytest

from tests.portal.helpers.pages import csrf_token
from tests.portal.helpers.signin import sign_in

ANON, NOROLE, MONITOR, ACCESS, ADMIN = "anonymous", "norole", "monitor", "access", "admin"
ACTMGR = "activity_manager"  # beyond the five: cancels but manages no access
PERSONAS = [ANON, NOROLE, MONITOR, ACCESS, ADMIN, ACTMGR]
USERNAMES = {
    NOROLE: "adm-norole",
    MONITOR: "adm-monitor",
    ACCESS: "adm-accessmanager",
    ADMIN: "admin",
    ACTMGR: "adm-actmanager",
}

# route name -> who gets 200 (GET) or 302 after the change (POST); others get 403.
# Anonymous: every GET goes to sign in (302), every POST fails CSRF first (400).
ALLOWED = {
    "index": {NOROLE, MONITOR, ACCESS, ADMIN, ACTMGR},
    "open": {NOROLE, MONITOR, ACCESS, ADMIN, ACTMGR},  # a redirect to the collection's page
    "overview": {MONITOR, ACCESS, ADMIN, ACTMGR},
    "rules": {ACCESS, ADMIN},
    "new_rule": {ACCESS, ADMIN},
    "rule_folders": {ACCESS, ADMIN},
    "edit_rule": {ACCESS, ADMIN},
    "roles": {ACCESS, ADMIN},
    "activity": {MONITOR, ADMIN, ACTMGR},
    "task": {MONITOR, ADMIN, ACTMGR},
    "audit": {ACCESS, ADMIN, ACTMGR},
    "all_audit": set(),  # portal operators only (FERRY_ADMINS is empty here)
    "create_rule": {ACCESS, ADMIN},
    "update_rule": {ACCESS, ADMIN},
    "delete_rule": {ACCESS, ADMIN},
    "grant_role": {ADMIN},
    "revoke_role": {ADMIN},
    "cancel_task": {ADMIN, ACTMGR},
}
POSTS = ("create_rule", "update_rule", "delete_rule", "grant_role", "revoke_role", "cancel_task")


def expected(persona: str) -> dict[str, int]:
    out = {}
    for name, who in ALLOWED.items():
        post = name in POSTS
        if persona == ANON:
            out[name] = 400 if post else 302
        elif persona in who:
            out[name] = 302 if post or name == "open" else 200
        else:
            out[name] = 403
    return out


def routes(world, rule_id: str, role_id: str, task_id: str, persona: str):
    """(name, method, url, form) for every admin route, with real targets so that a
    missing check would change something."""
    c = f"/admin/{world.shared_id}"
    folder = f"/matrix-{persona}/"
    return [
        ("index", "GET", "/admin/", None),
        ("open", "GET", f"/admin/open?collection_id={world.shared_id}", None),
        ("overview", "GET", f"{c}/", None),
        ("rules", "GET", f"{c}/rules", None),
        ("new_rule", "GET", f"{c}/rules/new", None),
        ("rule_folders", "GET", f"{c}/rules/folders?browse=/", None),
        ("edit_rule", "GET", f"{c}/rules/{rule_id}", None),
        ("roles", "GET", f"{c}/roles", None),
        ("activity", "GET", f"{c}/activity", None),
        ("task", "GET", f"{c}/activity/{task_id}", None),
        ("audit", "GET", f"{c}/audit", None),
        ("all_audit", "GET", "/admin/audit", None),
        (
            "create_rule",
            "POST",
            f"{c}/rules",
            {
                "principal_type": "identity",
                "principal": "adm-bystander@uni.example",
                "path": folder,
                "permissions": "r",
            },
        ),
        ("update_rule", "POST", f"{c}/rules/{rule_id}", {"permissions": "rw"}),
        ("delete_rule", "POST", f"{c}/rules/{rule_id}/delete", {}),
        (
            "grant_role",
            "POST",
            f"{c}/roles",
            {
                "principal_type": "identity",
                "principal": "adm-bystander@uni.example",
                "role": "administrator",
            },
        ),
        ("revoke_role", "POST", f"{c}/roles/{role_id}/delete", {}),
        ("cancel_task", "POST", f"{c}/activity/{task_id}/cancel", {"message": "matrix"}),
    ]


@pytest.fixture
def targets(world):
    """A rule and a role of the bystander on Shared Results, made directly at Globus, and
    a task touching it; all removed afterwards, whatever the test did."""
    for folder in ("/matrix/", *(f"/matrix-{p}/" for p in PERSONAS)):
        world.make_folder(folder)
    rule_id = world.add_rule("/matrix/")
    role_id = world.add_role("adm-bystander", "activity_monitor")
    task_id = world.running_task()
    yield rule_id, role_id, task_id
    world.remove_rules_for("adm-bystander")
    world.remove_roles_for("adm-bystander")


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_admin_route_answers_by_role_and_refusals_change_nothing(
    persona, client, localglobus, world, targets
):
    rule_id, role_id, task_id = targets
    token = ""
    if persona != ANON:
        sign_in(client, localglobus, USERNAMES[persona])
        token = csrf_token(client)
    before = world.snapshot()

    seen = {}
    for name, method, url, form in routes(world, rule_id, role_id, task_id, persona):
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={**form, **({"csrf_token": token} if token else {})})
        seen[name] = response.status_code
        if persona == ANON and method == "GET":
            assert "/auth/login" in response.headers["Location"], name

    assert seen == expected(persona)
    after = world.snapshot()
    if persona in (ANON, NOROLE, MONITOR):
        assert after == before
    if persona == ACCESS:
        assert after["roles"] == before["roles"]
        assert after["rules"] != before["rules"]  # its rule changes did go through
    if persona == ACTMGR:
        assert after["rules"] == before["rules"] and after["roles"] == before["roles"]
    if persona not in (ADMIN, ACTMGR):
        assert world.task_state(task_id)[1:] == (None, None)  # never canceled by an admin
        assert after["other_rules"] == before["other_rules"]


def test_a_role_revoked_at_globus_stops_working_on_the_next_request(client, localglobus, world):
    """The portal asks Globus for the caller's roles on every request; it keeps none."""
    role_id = world.add_role("adm-bystander", "activity_monitor")
    activity = f"/admin/{world.shared_id}/activity"
    try:
        sign_in(client, localglobus, "adm-bystander")
        assert client.get(activity).status_code == 200
        world.owner_of(None).delete_endpoint_role(world.shared_id, role_id)
        assert client.get(activity).status_code == 403
    finally:
        world.remove_roles_for("adm-bystander")
