"""What a researcher does, end to end in headless Chromium against a localglobus of this
module's own, checked on the collections' disks.

researcher signs in through localglobus's pages, finds "Lab Storage" on the Collections
page, browses it (the consent step-up for its data_access, once), makes a folder and
renames it, transfers it to "Archive" with the two-pane page (the consent step-up for
Archive, once, and back to the same two panes), watches the task page reach SUCCEEDED
without a reload, finds the same bytes on Archive's disk, deletes them with the file
manager (confirming the exact items) and finds them gone; then cancels a long transfer
from its task page.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from localglobus.transfer.commands import _DEMO_NS
from tests.e2e.conftest import (
    CHROMIUM,
    allow_consent,
    goto_through_consent,
    is_consent_page,
    many_tiny_files,
    navigations,
    sign_in,
    tree_digests,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

# localglobus's demo collections have fixed ids.
LAB_STORAGE_ID = str(uuid.uuid5(_DEMO_NS, "lab-storage"))
ARCHIVE_ID = str(uuid.uuid5(_DEMO_NS, "archive"))
# Enough files that the transfer is still running when its page first shows (a few
# seconds), and far more for the one to cancel.
STORY_FILES = 4000
LONG_FILES = 20000
TASK_WAIT_MS = 90_000


@pytest.fixture(scope="module")
def disks(e2e_globus):
    """Each mapped demo collection's root folder on disk, by name."""
    base = e2e_globus.home / "collections"
    return {"Lab Storage": base / "lab-storage", "Archive": base / "archive"}


@pytest.fixture(scope="module")
def researcher(chromium_browser, e2e_portal, e2e_globus):
    """researcher, signed in through localglobus's own sign-in page."""
    page = sign_in(chromium_browser, e2e_portal, e2e_globus, "researcher")
    yield page
    page.context.close()


def consent_pages(lg, urls: list[str]) -> list[str]:
    return [url for url in urls if is_consent_page(lg, url)]


def wait_for_status(page, status: str, timeout: int = TASK_WAIT_MS) -> None:
    """The task page's progress panel says `status` (it updates itself)."""
    expect(page.locator("#task-progress")).to_have_attribute("data-status", status, timeout=timeout)


def test_researcher_finds_browses_transfers_and_deletes(researcher, e2e_portal, e2e_globus, disks):
    page, portal, lg = researcher, e2e_portal, e2e_globus
    lab, archive = disks["Lab Storage"], disks["Archive"]
    visited = navigations(page)
    folder, renamed = f"e2e-{uuid.uuid4().hex[:8]}", f"e2e-renamed-{uuid.uuid4().hex[:8]}"

    # Search a collection on the Collections page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()
    page.fill("#collection-search", "Lab")
    page.get_by_role("search", name="Search collections").get_by_role("button").click()
    results = page.locator("table.collections tbody tr")
    expect(results.locator("th")).to_have_text(["Lab Storage", "Shared Results"])
    row = results.filter(has=page.get_by_role("rowheader", name="Lab Storage", exact=True))
    expect(row.locator("td")).to_have_text(
        [
            "admin@uni.example",
            "Mapped collection",
            "Demo mapped collection: Lab Storage",
            "Browse Lab Storage",
        ]
    )

    # Browse it: Globus wants consent for its data first, once; then the file manager.
    row.get_by_role("link", name="Browse Lab Storage").click()
    page.wait_for_url(lambda url: is_consent_page(lg, url))
    expect(page.locator("main")).to_contain_text("Lab Storage")
    allow_consent(page, lg, portal)
    assert page.url.startswith(f"{portal}/files/?collection={LAB_STORAGE_ID}")
    assert len(consent_pages(lg, visited)) == 1
    listing = page.locator("table.listing tbody")
    expect(listing.locator("th.name")).to_contain_text(["data/", "large/", "README.txt"])
    listing.get_by_role("link", name="data/").click()
    expect(page.locator("#listing-title")).to_have_text("Contents of /~/data/")
    expect(listing.locator("th.name")).to_have_count(2)
    expect(listing.locator("th.name")).to_contain_text(["processed/", "raw/"])
    page.get_by_role("link", name="Up to /~/").click()
    expect(page.locator("#listing-title")).to_have_text("Contents of /~/")

    # Make a folder, then rename it; both show on the page and on disk.
    page.fill("#new-folder", folder)
    page.get_by_role("button", name="Make folder").click()
    expect(page.locator(".flash-success")).to_have_text(f"Created the folder “{folder}”.")
    expect(listing.get_by_role("link", name=f"{folder}/")).to_be_visible()
    assert (lab / folder).is_dir()
    listing.get_by_role("link", name=f"Rename {folder}").click()
    expect(page.locator("h1")).to_have_text(f"Rename “{folder}”")
    page.fill("#new_name", renamed)
    page.get_by_role("button", name="Rename").click()
    expect(page.locator(".flash-success")).to_have_text(f"Renamed “{folder}” to “{renamed}”.")
    expect(listing.get_by_role("link", name=f"{renamed}/")).to_be_visible()
    assert not (lab / folder).exists() and (lab / renamed).is_dir()

    # Data arrives in the new folder (an instrument writes it, not the portal).
    (lab / renamed / "runs").mkdir()
    (lab / renamed / "runs" / "run-1.csv").write_bytes(b"t,value\n" + b"1,0.5\n" * 2000)
    (lab / renamed / "sample.bin").write_bytes(uuid.uuid4().bytes * 65536)  # 1 MiB
    many_tiny_files(lab / renamed / "many", STORY_FILES)
    source = tree_digests(lab / renamed)

    # The two-pane transfer page, from here; the destination found by search. Archive
    # needs consent too: asked once, then the same two panes are back.
    page.get_by_role("link", name="Transfer from here").click()
    expect(page.locator("#pane-src-title")).to_have_text("Source: Lab Storage")
    readme = page.locator("#pane-src tbody tr", has_text="README.txt").locator("td")
    expect(readme).to_have_text(["", "README.txt", "40 Bytes", re.compile(r"\d{4}-\d\d-\d\d")])
    page.fill("#dst_q", "Archive")
    page.get_by_role("search", name="Find a destination collection").get_by_role("button").click()
    page.locator("#pane-dst .search-results").get_by_role("link", name="Archive").click()
    page.wait_for_url(lambda url: is_consent_page(lg, url))
    expect(page.locator("main")).to_contain_text("Archive")
    allow_consent(page, lg, portal)
    assert len(consent_pages(lg, visited)) == 2
    assert page.url.startswith(f"{portal}/transfers/?")
    expect(page.locator("#pane-src-title")).to_have_text("Source: Lab Storage")
    expect(page.locator("#pane-dst-title")).to_have_text("Destination: Archive")
    page.locator(f"#pane-src input[name=items][value='{renamed}/']").check()
    page.fill("#label", f"e2e {renamed}")
    page.get_by_role("button", name="Start transfer").click()

    # The task page updates itself until SUCCEEDED: no reload, no navigation.
    page.wait_for_url(f"{portal}/tasks/*")
    expect(page.locator("h1")).to_have_text(f"e2e {renamed}")
    progress = page.locator("#task-progress")
    assert progress.get_attribute("data-status") == "ACTIVE", "finished before the page showed"
    page.evaluate("window.__ferryMarker = 1")
    seen = len(visited)
    wait_for_status(page, "SUCCEEDED")
    expect(progress.locator(".task-status .badge")).to_have_text("Succeeded")
    expect(progress.locator("#task-progressbar")).to_have_attribute("value", "100")
    assert page.evaluate("window.__ferryMarker") == 1
    assert len(visited) == seen

    # The same bytes at the destination.
    assert tree_digests(archive / renamed) == source
    assert len(source) == STORY_FILES + 2

    # Delete them with the file manager, which asks to confirm the exact items.
    goto_through_consent(page, lg, portal, f"/files/?collection={ARCHIVE_ID}")
    assert len(consent_pages(lg, visited)) == 2  # Archive's consent still holds
    page.get_by_label(f"Select {renamed}").check()
    page.get_by_role("button", name="Delete selected…").click()
    expect(page.locator("h1")).to_have_text("Delete 1 item?")
    expect(page.locator("main table tbody th")).to_have_text([renamed])
    page.get_by_label("Yes, delete these folders and everything in them").check()
    page.get_by_role("button", name="Delete 1 item").click()
    page.wait_for_url(f"{portal}/tasks/*")
    wait_for_status(page, "SUCCEEDED")
    assert not (archive / renamed).exists()
    assert tree_digests(lab / renamed) == source  # the source is untouched


def test_researcher_cancels_a_long_transfer_from_its_task_page(
    researcher, e2e_portal, e2e_globus, disks
):
    page, portal, lg = researcher, e2e_portal, e2e_globus
    folder = f"e2e-long-{uuid.uuid4().hex[:8]}"
    many_tiny_files(disks["Lab Storage"] / folder / "many", LONG_FILES)

    goto_through_consent(
        page,
        lg,
        portal,
        f"/transfers/?src={LAB_STORAGE_ID}&src_path=/~/{folder}/&dst={ARCHIVE_ID}&dst_path=/~/",
    )
    page.locator("#pane-src input[name=items][value='many/']").check()
    page.fill("#label", folder)
    page.get_by_role("button", name="Start transfer").click()
    page.wait_for_url(f"{portal}/tasks/*")
    wait_for_status(page, "ACTIVE", timeout=5000)

    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))  # sign_in accepts it
    page.get_by_role("button", name="Cancel task").click()
    expect(page.locator(".flash")).to_be_visible()
    assert len(asked) == 1 and asked[0].startswith(f"Cancel “{folder}”?"), asked
    wait_for_status(page, "FAILED", timeout=30_000)
    expect(page.locator(".task-status .badge")).to_have_text("Canceled")
    expect(page.get_by_role("button", name="Cancel task")).to_have_count(0)
    copied = disks["Archive"] / "many"
    assert not copied.exists() or len(list(copied.iterdir())) < LONG_FILES


def test_consent_step_up_survives_requests_from_another_tab(
    chromium_browser, e2e_portal, e2e_globus
):
    """A second tab of the same browser keeps asking the portal for something (a task
    page polling its progress, the home page's summary) while the first goes through the
    consent step-up: the portal must still know the sign-in it started, and the first tab
    must land on the page it asked for."""
    portal, lg = e2e_portal, e2e_globus
    page = sign_in(chromium_browser, portal, lg, "admin")
    busy = page.context.new_page()
    busy.goto(f"{portal}/tasks/")
    busy.evaluate(
        """() => {
          window.__busy = true;
          for (let i = 0; i < 3; i++) {
            (async () => {
              while (window.__busy) { await fetch('/collections/home-summary'); }
            })();
          }
        }"""
    )
    try:
        page.goto(f"{portal}/files/?collection={ARCHIVE_ID}")
        assert is_consent_page(lg, page.url), page.url
        allow_consent(page, lg, portal)
        expect(page.locator("h1")).to_have_text("Files")
        assert page.url.startswith(f"{portal}/files/?collection={ARCHIVE_ID}")
    finally:
        busy.evaluate("window.__busy = false")
        page.context.close()
