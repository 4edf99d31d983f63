"""The signed-in home page: the user's active and recent tasks, bookmarks and recently
used collections (loaded as one htmx fragment), against the live localglobus."""

from __future__ import annotations

import uuid

from tests.portal.helpers.files import LAB, NO_GLOBUS_PAGE, browse, confirm_form, confirm_page
from tests.portal.helpers.pages import csrf_token, page
from tests.portal.helpers.signin import sign_in
from tests.waiting import wait_until

HX = {"HX-Request": "true"}


def test_signed_out_home_has_no_summary(client, localglobus):
    soup = page(client.get("/"))
    assert soup.find(id="home-summary") is None


def test_signed_in_home_loads_the_summary_as_a_fragment_with_a_fallback_link(client, localglobus):
    sign_in(client, localglobus)
    soup = page(client.get("/"))
    summary = soup.find(id="home-summary")
    assert summary["hx-get"] == "/collections/home-summary"
    assert summary["hx-trigger"] == "load"
    assert summary.find("a")["href"] == "/collections/home-summary"
    full = page(client.get("/collections/home-summary"))
    assert full.find("h1") is not None and full.find("footer") is not None
    fragment = page(client.get("/collections/home-summary", headers=HX))
    assert fragment.find("h1") is None and fragment.find("footer") is None
    titles = [h.get_text(strip=True) for h in fragment.find_all("h2")]
    assert titles == ["Your tasks", "Bookmarks", "Recently used collections"]


def section(soup, title: str):
    return soup.find("h2", string=title).find_parent("section")


def test_summary_shows_tasks_bookmarks_and_recent_collections(client, localglobus, scratch):  # noqa: F811
    sign_in(client, localglobus)
    path, disk = scratch
    (disk / "to-delete.txt").write_text("x")
    browse(client, localglobus, LAB, path=path)
    # The summary shows the first bookmarks by name (pinned first): this one leads.
    name = f"000 Home bookmark {uuid.uuid4().hex[:6]}"
    data = {
        "csrf_token": csrf_token(client, NO_GLOBUS_PAGE),
        "collection": LAB,
        "path": path,
        "name": name,
    }
    assert client.post("/collections/bookmarks/new", data=data).status_code == 302
    submitted = client.post(
        "/files/delete", data=confirm_form(confirm_page(client, path, "to-delete.txt"))
    )
    task_url = submitted.headers["Location"]
    wait_until(lambda: not (disk / "to-delete.txt").exists(), "to-delete.txt to be gone")

    soup = page(client.get("/collections/home-summary", headers=HX))
    tasks = section(soup, "Your tasks")
    task_links = [a["href"] for a in tasks.select("tbody th a")]
    assert task_url in task_links
    assert tasks.find("table").find("caption") is not None
    bookmarks = section(soup, "Bookmarks")
    link = bookmarks.find("a", string=name)
    assert link is not None and f"collection={LAB}" in link["href"]
    recent = section(soup, "Recently used collections")
    assert "Lab Storage" in [a.get_text(strip=True) for a in recent.find_all("a")]
