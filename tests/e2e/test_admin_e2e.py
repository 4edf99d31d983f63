"""Admin pages end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; `playwright install` is never run).

On a localglobus of its own (so that researcher starts without access to "Shared
Results"): admin shares a folder with researcher, who sees it; admin cancels
researcher's running task from the activity monitor, and researcher sees it canceled;
admin revokes the share and researcher's access is gone; admin grants and revokes a
role; the audit log shows each step.
"""

from __future__ import annotations

from pathlib import Path

import globus_sdk
import pytest

from tests.conftest import DEMO_PASSWORD, start_localglobus
from tests.e2e.conftest import CHROMIUM, launch_chromium, serve_portal
from tests.portal.admin.world import LAB_STORAGE_ID, World
from tests.waiting import wait_until

SHARED_FOLDER = "e2e-results"
MANY_FILES = 20000  # a transfer of these runs for many seconds: long enough to cancel

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture(scope="module")
def admin_e2e_globus(tmp_path_factory):
    """A localglobus of this module's own, its world, and researcher's demo share gone."""
    lg = start_localglobus(tmp_path_factory.mktemp("lg-admin-e2e"))
    try:
        world = World(lg=lg)
        tc = world.transfer("admin")
        world.shared_id = next(
            d["id"]
            for d in tc.endpoint_search("Shared Results", filter_scope="administered-by-me")
            if d["display_name"] == "Shared Results"
        )
        for rule in tc.endpoint_acl_list(world.shared_id)["DATA"]:
            if rule["id"] and rule["principal_type"] == "identity":
                tc.delete_endpoint_acl_rule(world.shared_id, rule["id"])
        folder = Path(lg.home) / "collections" / "lab-storage" / "shared" / SHARED_FOLDER
        (folder / "many").mkdir(parents=True, exist_ok=True)
        (folder / "results.csv").write_text("sample,value\na,1\n")
        for i in range(MANY_FILES):
            (folder / "many" / f"f{i:05d}.txt").write_bytes(b"x" * 32)
        yield world
    finally:
        lg.stop()


@pytest.fixture(scope="module")
def admin_e2e_portal(admin_e2e_globus, tmp_path_factory):
    """The portal served over HTTP at the origin localglobus's portal client expects."""
    with serve_portal(admin_e2e_globus.lg, tmp_path_factory.mktemp("portal-admin-e2e")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def signed_in_page(browser, portal: str, username: str):
    """A browser context of its own (cookies apart) with `username` signed in."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    page.goto(f"{portal}/auth/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    if page.locator("button[name=decision][value=allow]").count():
        page.click("button[name=decision][value=allow]")
    page.wait_for_url(f"{portal}/**")
    assert page.locator("header .account").inner_text().strip()
    return page


def start_long_task(world: World) -> str:
    """researcher's transfer of many small files out of the shared folder."""
    data = globus_sdk.TransferData(
        source_endpoint=world.shared_id,
        destination_endpoint=LAB_STORAGE_ID,
        label="e2e long transfer",
    )
    data.add_item(f"/{SHARED_FOLDER}/many/", "/e2e-copy/", recursive=True)
    return world.transfer("researcher").submit_transfer(data)["task_id"]


def test_admin_shares_cancels_revokes_and_the_audit_log_shows_it(
    admin_e2e_globus, admin_e2e_portal, browser
):
    world, portal = admin_e2e_globus, admin_e2e_portal
    shared = f"/admin/{world.shared_id}"
    files_url = f"{portal}/files/?collection={world.shared_id}&path=/{SHARED_FOLDER}/"
    admin = signed_in_page(browser, portal, "admin")
    researcher = signed_in_page(browser, portal, "researcher")

    # Admin → Shared Results → Access rules → Add a rule, the folder picked by browsing.
    admin.goto(f"{portal}/admin/")
    admin.click("table.admin-collections a:text('Shared Results')")
    admin.click("nav.admin-tabs a:text('Access rules')")
    admin.click("a:text('Add a rule')")
    admin.fill("#principal", "researcher@uni.example")
    admin.click(f"li.folder a.pick[data-pick-path='/{SHARED_FOLDER}/']")
    assert admin.input_value("#path") == f"/{SHARED_FOLDER}/"
    admin.check("input[name=permissions][value=r]")
    admin.click("button:text('Add the rule')")
    row = admin.locator("tr.rule", has_text="Rosalind Researcher (researcher@uni.example)")
    assert row.locator("code.path").inner_text() == f"/{SHARED_FOLDER}/"

    # researcher sees the shared folder.
    researcher.goto(files_url)
    assert researcher.get_by_text("results.csv").count() >= 1

    # Admin cancels researcher's running task from the activity monitor.
    task_id = start_long_task(world)
    admin.goto(f"{portal}{shared}/activity")
    admin.click(f"tr.task[data-task-id='{task_id}'] a")
    admin.fill("#message", "Maintenance tonight, please resubmit tomorrow")
    admin.click("section.admin-cancel button[type=submit]")
    admin.wait_for_selector(".flash-success")
    researcher.goto(f"{portal}/tasks/{task_id}")

    def shows_the_message() -> bool:
        if "Maintenance tonight" in researcher.content():
            return True
        researcher.reload()
        return False

    wait_until(shows_the_message, "the admin's message on the task page", timeout=15, interval=0.5)
    assert "Maintenance tonight, please resubmit tomorrow" in researcher.content()

    # Admin revokes the share; researcher's access is gone.
    admin.goto(f"{portal}{shared}/rules")
    admin.locator("tr.rule", has_text="Rosalind Researcher").locator("button.danger").click()
    admin.wait_for_selector(".flash-success")
    assert admin.locator("tr.rule", has_text="Rosalind Researcher").count() == 0
    researcher.goto(files_url)
    assert researcher.get_by_text("results.csv").count() == 0

    # Admin grants researcher a role, then revokes it.
    admin.goto(f"{portal}{shared}/roles")
    admin.fill("#principal", "researcher@uni.example")
    admin.select_option("#role", "activity_monitor")
    admin.click("button:text('Grant')")
    granted = admin.locator("tr.role", has_text="Rosalind Researcher")
    assert granted.locator(".role-name").inner_text() == "activity monitor"
    granted.locator("button.danger").click()
    admin.wait_for_selector(".flash-success")
    assert admin.locator("tr.role", has_text="Rosalind Researcher").count() == 0

    # The audit log shows each step, newest first.
    admin.goto(f"{portal}{shared}/audit")
    actions = admin.locator("tr.audit-entry").evaluate_all(
        "rows => rows.map(r => [r.dataset.action, r.dataset.result])"
    )
    assert actions == [
        ["role.revoke", "ok"],
        ["role.grant", "ok"],
        ["rule.delete", "ok"],
        ["task.admin_cancel", "ok"],
        ["rule.add", "ok"],
    ]
