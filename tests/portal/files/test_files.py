"""The file manager against the live localglobus: browse the demo collections (through the
data_access consent step-up), page, sort, filter, make folders, rename and delete, with
the results checked in the parsed HTML and on disk under `lg.home`.

Its helpers, shared with the collections and home tests, are in
tests/portal/helpers/files.py; its fixtures in conftest.py beside it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.portal.helpers.files import (
    LAB,
    NO_GLOBUS_PAGE,
    SHARED,
    browse,
    confirm_form,
    confirm_page,
    errors,
    lab_root,
    row_names,
    url,
)
from tests.portal.helpers.pages import csrf_token, forget_cached_csrf_token, page
from tests.portal.helpers.signin import globus_round_trip, sign_in
from tests.waiting import wait_until

# -- browsing -------------------------------------------------------------------------


def test_browse_goes_through_consent_then_lists_folders_first(
    client, localglobus, fresh_collection
):
    sign_in(client, localglobus)
    collection_id, _ = fresh_collection
    first = client.get(url("/files/", collection=collection_id))
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/auth/consent")
    scope = parse_qs(urlsplit(first.headers["Location"]).query)["scope"][0]
    assert f"{collection_id}/data_access" in scope
    fresh = page(browse(client, localglobus, collection_id))
    assert row_names(fresh) == ["inside.txt"]
    soup = page(browse(client, localglobus, LAB))
    # Other tests add folders to the shared demo collection: check the demo's own
    # entries keep their order, folders first, and README.txt after every folder.
    names = row_names(soup)
    demo = [n for n in names if n in {"data", "large", "many", "shared", "README.txt"}]
    assert demo == ["data", "large", "many", "shared", "README.txt"]
    assert names.index("README.txt") > max(names.index(d) for d in ("data", "large", "many"))
    assert soup.find("h1").get_text(strip=True) == "Files"
    assert "Lab Storage" in soup.select_one(".page-kicker").get_text()
    headers = soup.select("table.listing thead th")
    assert all(th.get("scope") == "col" for th in headers)
    sorted_by = [th for th in headers if th.has_attr("aria-sort")]
    assert [(th.get_text(strip=True), th["aria-sort"]) for th in sorted_by] == [
        ("Name▲", "ascending")
    ]
    readme = soup.find("input", attrs={"name": "item", "value": "README.txt"})
    assert readme["aria-label"] == "Select README.txt" and readme["form"] == "selection"
    assert soup.find("nav", attrs={"aria-label": "Breadcrumb"}) is not None


def test_breadcrumbs_up_and_path_box(researcher, localglobus):
    soup = page(browse(researcher, localglobus, path="/data/raw/"))
    crumbs = soup.select("nav[aria-label=Breadcrumb] li a")
    assert [a.get_text(strip=True) for a in crumbs] == ["/", "data", "raw"]
    assert crumbs[-1]["aria-current"] == "page"
    assert parse_qs(urlsplit(crumbs[1]["href"]).query)["path"] == ["/data/"]
    up = soup.select_one("a.up")
    assert parse_qs(urlsplit(up["href"]).query)["path"] == ["/data/"]
    box = soup.find("input", id="path-box")
    assert box["value"] == "/data/raw/"
    assert soup.find("label", attrs={"for": "path-box"}) is not None
    assert row_names(soup) == ["run-001", "run-002"]
    # The path box accepts a path without its trailing slash.
    assert row_names(page(browse(researcher, localglobus, path="/data"))) == ["processed", "raw"]


def test_a_folder_of_1000_entries_is_shown_100_at_a_time(researcher, localglobus):
    soup = page(browse(researcher, localglobus, path="/many/"))
    names = row_names(soup)
    assert names == [f"file-{i:04d}.txt" for i in range(100)]
    summary = soup.find(id="listing-summary").get_text(" ", strip=True)
    assert summary.startswith("Items 1–100")
    pager = soup.find("nav", attrs={"aria-label": "Pages of this folder"})
    next_link = pager.find("a", rel="next")
    assert parse_qs(urlsplit(next_link["href"]).query)["page"] == ["2"]
    last = page(browse(researcher, localglobus, path="/many/", page=10))
    assert row_names(last) == [f"file-{i:04d}.txt" for i in range(900, 1000)]
    last_pager = last.find("nav", attrs={"aria-label": "Pages of this folder"})
    assert last_pager.find("a", rel="next") is None
    assert last_pager.find("a", rel="prev") is not None


def test_sort_by_size_descending_and_by_modified(researcher, localglobus):
    soup = page(browse(researcher, localglobus, path="/large/", sort="size", order="desc"))
    assert row_names(soup) == ["sample-3.bin", "sample-2.bin", "sample-1.bin"]
    size_header = [th for th in soup.select("table.listing thead th") if th.has_attr("aria-sort")]
    assert size_header[0].get_text(strip=True).startswith("Size")
    assert size_header[0]["aria-sort"] == "descending"
    ascending = page(browse(researcher, localglobus, path="/large/", sort="size"))
    assert row_names(ascending) == ["sample-1.bin", "sample-2.bin", "sample-3.bin"]
    by_type = page(browse(researcher, localglobus, sort="type", order="desc"))
    assert row_names(by_type)[0] == "README.txt"


def test_filter_by_name_any_case_and_with_a_pattern(researcher, localglobus):
    soup = page(browse(researcher, localglobus, path="/many/", filter="FILE-099"))
    assert row_names(soup) == [f"file-{i:04d}.txt" for i in range(990, 1000)]
    assert "matching" in soup.find(id="listing-summary").get_text()
    soup = page(browse(researcher, localglobus, path="/many/", filter="file-00?1.txt"))
    assert row_names(soup) == [f"file-{i:04d}.txt" for i in range(1, 100, 10)]
    none = page(browse(researcher, localglobus, path="/many/", filter="nothing-like-this"))
    assert row_names(none) == []
    assert "No names match" in none.find(id="listing-summary").get_text()


def test_show_hidden(researcher, localglobus, scratch):
    path, disk = scratch
    (disk / ".secret").write_text("x")
    (disk / "visible.txt").write_text("y")
    assert row_names(page(browse(researcher, localglobus, path=path))) == ["visible.txt"]
    shown = page(browse(researcher, localglobus, path=path, hidden="1"))
    assert row_names(shown) == [".secret", "visible.txt"]
    assert shown.find("input", id="show-hidden").has_attr("checked")


def test_sorting_and_paging_links_update_only_the_listing_with_htmx(researcher, localglobus):
    browse(researcher, localglobus, path="/many/")
    headers = {"HX-Request": "true", "HX-Target": "listing"}
    fragment = researcher.get(
        url("/files/", collection=LAB, path="/many/", page=2), headers=headers
    )
    soup = page(fragment)
    assert soup.find("html") is None and soup.find("h1") is None
    assert row_names(soup)[0] == "file-0100.txt"
    link = soup.find("a", rel="next")
    assert link["hx-get"] == link["href"] and link["hx-target"] == "#listing"


def test_a_missing_folder_is_a_clear_not_found_page(researcher, localglobus):
    response = researcher.get(url("/files/", collection=LAB, path="/no/such/folder/"))
    assert response.status_code == 404
    assert page(response).find("h1").get_text(strip=True) == "Not found"


def test_without_a_collection_the_file_manager_offers_a_choice(researcher, localglobus):
    soup = page(researcher.get("/files/"))
    assert soup.find("h1").get_text(strip=True) == "Files"
    assert soup.find("label", attrs={"for": "collection-id"}) is not None
    recent = soup.find(id="shortcut-recent-title").find_parent("section")
    assert "Lab Storage" in recent.get_text()


# -- input rules: a clear 400 before any call to Globus ------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"collection": "not-a-uuid"},
        {"collection": LAB, "path": "/data\\raw/"},
        {"collection": LAB, "path": "/data\r\nraw/"},
        {"collection": LAB, "path": "/data\x00/"},
        {"collection": LAB, "path": "/data/../../etc/"},
        {"collection": LAB, "sort": "owner"},
        {"collection": LAB, "page": "0"},
        {"collection": LAB, "filter": "a/b"},
    ],
)
def test_bad_browse_parameters_are_refused_before_globus(researcher, no_globus, params):
    response = researcher.get(url("/files/", **params))
    assert response.status_code == 400
    assert page(response).find("h1").get_text(strip=True) == "Check your input"
    assert no_globus == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("two\nlines", "line breaks"),
        ("a/b", "'/'"),
        ("back\\slash", "line breaks"),
        ("..", "'.' or '..'"),
        ("é" * 128, "too long"),  # 256 bytes in UTF-8
        ("", "required"),
    ],
)
def test_bad_folder_names_are_refused_before_globus(researcher, no_globus, name, message):
    form = {
        "csrf_token": csrf_token(researcher, NO_GLOBUS_PAGE),
        "collection": LAB,
        "path": "/",
        "name": name,
    }
    response = researcher.post("/files/mkdir", data=form)
    assert response.status_code == 400
    assert message in errors(page(response))
    assert no_globus == []


def test_state_changing_routes_need_post_and_csrf(researcher, localglobus, scratch, no_globus):
    path, disk = scratch
    for route in ("/files/mkdir", "/files/rename", "/files/delete"):
        assert researcher.get(route).status_code == 405
    response = researcher.post(
        "/files/mkdir", data={"collection": LAB, "path": path, "name": "sneaky"}
    )
    assert response.status_code == 400
    assert not (disk / "sneaky").exists()
    assert no_globus == []


# -- make folder, rename, delete (checked on disk) -------------------------------------


def test_make_folder_with_a_unicode_name_and_then_already_exists(researcher, localglobus, scratch):
    path, disk = scratch
    name = "Résultats 2024 ✓"
    form = {
        "csrf_token": csrf_token(researcher, NO_GLOBUS_PAGE),
        "collection": LAB,
        "path": path,
        "name": name,
    }
    response = researcher.post("/files/mkdir", data=form)
    assert response.status_code == 302
    assert (disk / name).is_dir()
    soup = page(researcher.get(response.headers["Location"]))
    assert f"Created the folder “{name}”." in soup.select_one(".flash-success").get_text()
    assert row_names(soup) == [name]
    again = researcher.post("/files/mkdir", data=form)
    assert again.status_code == 409
    assert f"“{name}” already exists in {path}" in errors(page(again))


def test_file_names_are_escaped(researcher, localglobus, scratch):
    path, disk = scratch
    name = "<img src=x onerror=alert(1)>"
    form = {
        "csrf_token": csrf_token(researcher, NO_GLOBUS_PAGE),
        "collection": LAB,
        "path": path,
        "name": name,
    }
    assert researcher.post("/files/mkdir", data=form).status_code == 302
    assert (disk / name).is_dir()
    soup = page(browse(researcher, localglobus, path=path))
    assert soup.find("img") is None
    assert row_names(soup) == [name]


def test_make_folder_where_the_user_may_not_write_says_so(researcher, localglobus):
    browse(researcher, localglobus, SHARED)
    form = {
        "csrf_token": csrf_token(researcher, NO_GLOBUS_PAGE),
        "collection": SHARED,
        "path": "/",
        "name": "x",
    }
    response = researcher.post("/files/mkdir", data=form)
    assert response.status_code == 403
    assert "You may not create folders in /" in errors(page(response))
    assert not (lab_root(localglobus) / "shared" / "x").exists()


def test_rename_a_file_and_refuse_an_existing_name(researcher, localglobus, scratch):
    path, disk = scratch
    (disk / "old.txt").write_text("content")
    (disk / "other.txt").write_text("other")
    form_page = page(
        researcher.get(url("/files/rename-item", collection=LAB, path=path, name="old.txt"))
    )
    new_name = form_page.find("input", attrs={"name": "new_name"})
    assert new_name["value"] == "old.txt"
    assert form_page.find("label", attrs={"for": new_name["id"]}) is not None
    form = {
        "csrf_token": csrf_token(researcher, NO_GLOBUS_PAGE),
        "collection": LAB,
        "path": path,
        "old_name": "old.txt",
        "new_name": "nouveau ✓.txt",
    }
    response = researcher.post("/files/rename", data=form)
    assert response.status_code == 302
    assert (disk / "nouveau ✓.txt").read_text() == "content"
    assert not (disk / "old.txt").exists()
    clash = researcher.post(
        "/files/rename", data={**form, "old_name": "other.txt", "new_name": "nouveau ✓.txt"}
    )
    assert clash.status_code == 409
    assert "“nouveau ✓.txt” already exists" in errors(page(clash))
    assert (disk / "other.txt").read_text() == "other"
    gone = researcher.post("/files/rename", data={**form, "old_name": "ghost.txt", "new_name": "x"})
    assert gone.status_code == 404
    assert "“ghost.txt” no longer exists" in errors(page(gone))


def test_delete_files_and_a_folder_after_confirming_the_exact_items(
    researcher, localglobus, scratch
):
    path, disk = scratch
    (disk / "a.txt").write_text("a")
    (disk / "keep.txt").write_text("keep")
    (disk / "folder" / "inner").mkdir(parents=True)
    (disk / "folder" / "inner" / "deep.txt").write_text("deep")
    soup = confirm_page(researcher, path, "a.txt", "folder", "missing.txt")
    listed = [th.get_text(strip=True) for th in soup.select("form table tbody th[scope=row]")]
    assert listed == ["a.txt", "folder"]
    assert "missing.txt" in soup.find(attrs={"role": "alert"}).get_text()
    box = soup.find("input", attrs={"name": "confirm_recursive"})
    assert box.has_attr("required")
    assert soup.find("label", attrs={"for": box["id"]}) is not None
    data = confirm_form(soup)
    assert data["recursive"] == "1"

    refused = researcher.post("/files/delete", data=data)  # the box not ticked
    assert refused.status_code == 400
    assert (disk / "folder").exists()

    response = researcher.post("/files/delete", data={**data, "confirm_recursive": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/tasks/")
    wait_until(
        lambda: not (disk / "a.txt").exists() and not (disk / "folder").exists(),
        "a.txt and folder/ to be gone from disk",
    )
    assert (disk / "keep.txt").read_text() == "keep"


def test_a_double_submitted_delete_makes_one_task(researcher, localglobus, scratch):
    path, disk = scratch
    (disk / "once.txt").write_text("x")
    data = confirm_form(confirm_page(researcher, path, "once.txt"))
    assert data["recursive"] == ""
    first = researcher.post("/files/delete", data=data)
    second = researcher.post("/files/delete", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    wait_until(lambda: not (disk / "once.txt").exists(), "once.txt to be gone from disk")


def test_delete_needs_a_selection(researcher, localglobus, scratch):
    path, _ = scratch
    response = researcher.get(url("/files/confirm-delete", collection=LAB, path=path))
    assert response.status_code == 400
    assert "Select at least one" in page(response).find(class_="error-message").get_text()


def test_a_delete_takes_at_most_100_items(researcher, localglobus, scratch):
    path, disk = scratch
    names = [f"f{i:03}.txt" for i in range(101)]
    for name in names:
        (disk / name).write_text("x")
    asked = researcher.get(url("/files/confirm-delete", collection=LAB, path=path, item=names))
    assert asked.status_code == 400
    message = page(asked).find(class_="error-message").get_text()
    assert "Select at most 100 items" in message
    # The confirmation of 100 is fine; the same form with a 101st item is refused whole.
    data = confirm_form(confirm_page(researcher, path, *names[:100]))
    refused = researcher.post("/files/delete", data={**data, "item": names})
    assert refused.status_code == 400
    assert sorted(p.name for p in disk.iterdir()) == names


def test_the_file_manager_links_to_a_transfer_from_this_folder(researcher, localglobus):
    soup = page(browse(researcher, localglobus, path="/data/"))
    link = soup.find("a", string="Transfer from here")
    assert urlsplit(link["href"]).path == "/transfers/"
    assert parse_qs(urlsplit(link["href"]).query) == {"src": [LAB], "src_path": ["/data/"]}
    assert researcher.get(link["href"]).status_code == 200


def test_an_action_that_needs_consent_goes_through_the_step_up_and_comes_back(
    client, localglobus, fresh_collection
):
    collection_id, root = fresh_collection
    sign_in(client, localglobus)
    back_to = url("/files/", collection=collection_id, path="/")
    form = {
        "csrf_token": csrf_token(client, NO_GLOBUS_PAGE),
        "collection": collection_id,
        "path": "/",
        "name": "after-consent",
        "return_to": back_to,
    }
    response = client.post("/files/mkdir", data=form)
    assert response.status_code == 302
    consent = urlsplit(response.headers["Location"])
    assert consent.path == "/auth/consent"
    assert parse_qs(consent.query)["next"] == [back_to]
    assert not (root / "after-consent").exists()
    step_up = client.get(response.headers["Location"])
    landing = client.get(globus_round_trip(step_up.headers["Location"], localglobus))
    assert landing.headers["Location"] == back_to
    forget_cached_csrf_token()
    assert row_names(page(client.get(back_to))) == ["inside.txt"]
    again = client.post(
        "/files/mkdir", data={**form, "csrf_token": csrf_token(client, NO_GLOBUS_PAGE)}
    )
    assert again.status_code == 302
    assert (root / "after-consent").is_dir()
