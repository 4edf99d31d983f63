"""Collections against the live localglobus: search with full text and the filter-scope
tabs, paging, a collection's page, and bookmarks (create from a folder, open, rename,
delete), checked in the parsed HTML."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.portal.helpers.files import (
    ARCHIVE,
    LAB,
    NO_GLOBUS_PAGE,
    SHARED,
    browse,
    errors,
    row_names,
    url,
)
from tests.portal.helpers.pages import csrf_token, page
from tests.portal.helpers.signin import sign_in

PAGING_PREFIX = "Paging probe"


def results(soup) -> list[dict[str, str]]:
    """The result rows as {name, owner, type, description}."""
    table = soup.find("table", class_="collections")
    if table is None:
        return []
    rows = []
    for tr in table.select("tbody tr"):
        cells = [tr.find("th")] + tr.find_all("td")
        texts = [c.get_text(" ", strip=True) for c in cells]
        rows.append(dict(zip(("name", "owner", "type", "description"), texts, strict=False)))
    return rows


def names(soup) -> list[str]:
    return [r["name"] for r in results(soup)]


@pytest.fixture
def researcher(client, localglobus):
    sign_in(client, localglobus)
    return client


@pytest.fixture(scope="module")
def many_collections(localglobus):
    """30 extra collections whose names share a word, made once in localglobus's store."""
    from localglobus.db import Database
    from localglobus.transfer.commands import create_collection
    from localglobus.transfer.models import Collection

    db = Database(localglobus.home / "localglobus.db")
    root = localglobus.home / "paging-probe"
    root.mkdir(exist_ok=True)
    with db.session() as session:
        for i in range(30):
            cid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ferry-paging-probe-{i}"))
            if session.get(Collection, cid) is None:
                create_collection(
                    session, f"{PAGING_PREFIX} {i:02d}", root=str(root), collection_id=cid
                )
    return 30


# -- search ---------------------------------------------------------------------------


def test_full_text_search_shows_name_owner_type_and_description(researcher):
    soup = page(researcher.get(url("/collections/", q="Lab Storage")))
    assert soup.find("label", attrs={"for": "collection-search"}) is not None
    assert soup.find("form", attrs={"role": "search"}) is not None
    lab = next(r for r in results(soup) if r["name"] == "Lab Storage")
    assert lab["type"] == "Mapped collection"
    assert lab["description"] == "Demo mapped collection: Lab Storage"
    assert lab["owner"] not in ("", "—")
    headers = soup.select("table.collections thead th")
    assert [th.get("scope") for th in headers] == ["col"] * 5
    link = soup.find("a", string="Lab Storage")
    assert link["href"] == f"/collections/{LAB}"


def test_the_tabs_are_the_filter_scopes_and_keep_the_text(researcher):
    soup = page(researcher.get(url("/collections/", q="Lab")))
    tabs = soup.find("nav", attrs={"aria-label": "Which collections"}).find_all("a")
    assert [a.get_text(strip=True) for a in tabs] == [
        "Recently used",
        "My collections",
        "Shared with me",
        "Administered by me",
        "All",
    ]
    current = [a.get_text(strip=True) for a in tabs if a.get("aria-current") == "page"]
    assert current == ["All"]  # words alone search everything
    shared = parse_qs(urlsplit(tabs[2]["href"]).query)
    assert shared == {"q": ["Lab"], "scope": ["shared-with-me"]}


def test_shared_with_me_and_my_collections_for_a_researcher(researcher):
    shared = page(researcher.get(url("/collections/", scope="shared-with-me")))
    assert names(shared) == ["Shared Results"]
    assert results(shared)[0]["type"] == "Guest collection"
    mine = page(researcher.get(url("/collections/", scope="my-endpoints")))
    assert names(mine) == []
    assert "None yet." in mine.find("section").get_text()


def test_administered_by_me_for_the_admin(client, localglobus):
    sign_in(client, localglobus, "admin")
    soup = page(client.get(url("/collections/", scope="administered-by-me")))
    assert {"Lab Storage", "Archive", "Shared Results"} <= set(names(soup))


def test_recently_used_lists_a_collection_once_browsed(researcher, localglobus):
    browse(researcher, localglobus, ARCHIVE)
    soup = page(researcher.get("/collections/"))
    current = soup.select_one("nav[aria-label='Which collections'] a[aria-current=page]")
    assert current.get_text(strip=True) == "Recently used"  # the default tab
    assert "Archive" in names(soup)


def test_all_without_words_asks_for_words_and_calls_nobody(researcher, monkeypatch):
    from app.globus import collections

    monkeypatch.setattr(collections, "transfer_client", lambda user_id: pytest.fail("called"))
    soup = page(researcher.get(url("/collections/", scope="all")))
    assert "Type words above" in soup.find("section").get_text()


def test_search_results_come_a_page_at_a_time(researcher, many_collections):
    first = page(researcher.get(url("/collections/", q=PAGING_PREFIX)))
    assert names(first) == [f"{PAGING_PREFIX} {i:02d}" for i in range(25)]
    pager = first.find("nav", attrs={"aria-label": "Pages of results"})
    assert pager.find("a", rel="prev") is None
    next_url = pager.find("a", rel="next")["href"]
    assert parse_qs(urlsplit(next_url).query)["page"] == ["2"]
    second = page(researcher.get(next_url))
    assert names(second) == [f"{PAGING_PREFIX} {i:02d}" for i in range(25, 30)]
    pager = second.find("nav", attrs={"aria-label": "Pages of results"})
    assert pager.find("a", rel="next") is None and pager.find("a", rel="prev") is not None


@pytest.mark.parametrize(
    "params",
    [{"scope": "everything"}, {"page": "x"}, {"page": "41"}, {"q": "two\nlines"}],
)
def test_bad_search_parameters_are_a_400(researcher, params):
    response = researcher.get(url("/collections/", **params))
    assert response.status_code == 400


# -- a collection's page --------------------------------------------------------------


def facts(soup) -> dict[str, str]:
    dl = soup.find("dl", class_="facts")
    return {
        dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(" ", strip=True)
        for dt in dl.find_all("dt")
    }


def test_a_guest_collection_page_shows_owner_type_host_roles_and_a_way_to_browse(researcher):
    soup = page(researcher.get(f"/collections/{SHARED}"))
    assert soup.find("h1").get_text(strip=True) == "Shared Results"
    shown = facts(soup)
    assert shown["Type"] == "Guest collection"
    assert shown["Description"] == "Demo guest collection on Lab Storage, shared with researcher"
    assert shown["Host collection"] == "Lab Storage"
    assert shown["My roles"] == "None"
    assert shown["Owner"] not in ("", "—")
    host = soup.find("dl", class_="facts").find("a", string="Lab Storage")
    assert host["href"] == f"/collections/{LAB}"
    button = soup.find("a", string="Browse files")
    assert parse_qs(urlsplit(button["href"]).query)["collection"] == [SHARED]


def test_the_admin_sees_their_roles(client, localglobus):
    sign_in(client, localglobus, "admin")
    shown = facts(page(client.get(f"/collections/{LAB}")))
    assert "Administrator" in shown["My roles"]
    assert shown["Type"] == "Mapped collection"


def test_collection_ids_must_be_uuids_and_unknown_ones_are_not_found(researcher):
    assert researcher.get("/collections/not-a-uuid").status_code == 400
    missing = researcher.get(f"/collections/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert page(missing).find("h1").get_text(strip=True) == "Not found"


# -- bookmarks ------------------------------------------------------------------------


def bookmark_rows(soup) -> dict[str, dict]:
    table = soup.find("table", class_="bookmarks")
    rows = {}
    for tr in table.select("tbody tr") if table else []:
        link = tr.find("th").find("a")
        rows[link.get_text(strip=True)] = {
            "href": link["href"],
            "cells": [td.get_text(" ", strip=True) for td in tr.find_all("td")],
            "tr": tr,
        }
    return rows


def test_bookmark_a_folder_open_it_rename_it_and_delete_it(researcher, localglobus):
    soup = page(browse(researcher, localglobus, path="/data/raw/"))
    form = soup.find("form", attrs={"action": "/collections/bookmarks/new"})
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input")}
    assert fields["path"] == "/data/raw/" and fields["name"] == "Lab Storage: raw"
    assert form.find("label", attrs={"for": "bookmark-name"}) is not None
    name = f"Raw runs ✓ {uuid.uuid4().hex[:6]}"
    created = researcher.post("/collections/bookmarks/new", data={**fields, "name": name})
    assert created.status_code == 302
    assert created.headers["Location"] == fields["return_to"]

    listed = bookmark_rows(page(researcher.get("/collections/bookmarks")))
    row = listed[name]
    assert row["cells"][:2] == ["Lab Storage", "/data/raw/"]
    opened = page(researcher.get(row["href"]))
    assert row_names(opened) == ["run-001", "run-002"]
    on_collection_page = bookmark_rows(page(researcher.get(f"/collections/{LAB}")))
    assert name in on_collection_page

    bookmark_id = row["tr"].find("form")["action"].split("/")[3]  # .../<id>/delete
    edit = page(researcher.get(f"/collections/bookmarks/{bookmark_id}/edit"))
    assert edit.find("input", attrs={"name": "name"})["value"] == name
    renamed = f"{name} (renamed)"
    token = csrf_token(researcher, NO_GLOBUS_PAGE)
    response = researcher.post(
        f"/collections/bookmarks/{bookmark_id}/rename", data={"csrf_token": token, "name": renamed}
    )
    assert response.status_code == 302
    assert renamed in bookmark_rows(page(researcher.get("/collections/bookmarks")))

    response = researcher.post(
        f"/collections/bookmarks/{bookmark_id}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 302
    remaining = bookmark_rows(page(researcher.get("/collections/bookmarks")))
    assert renamed not in remaining and name not in remaining


def test_bookmark_names_are_unique_checked_and_escaped(researcher, localglobus, no_globus_later):
    token = csrf_token(researcher, NO_GLOBUS_PAGE)
    name = f"<b>bold</b> {uuid.uuid4().hex[:6]}"
    data = {"csrf_token": token, "collection": LAB, "path": "/data/", "name": name}
    assert researcher.post("/collections/bookmarks/new", data=data).status_code == 302
    soup = page(researcher.get("/collections/bookmarks"))
    assert soup.find("b") is None and name in bookmark_rows(soup)
    again = researcher.post("/collections/bookmarks/new", data=data)
    assert again.status_code == 400
    assert f"You already have a bookmark named “{name}”" in errors(page(again))
    calls = no_globus_later()
    for bad in ("two\nlines", "x" * 129, "  "):
        response = researcher.post("/collections/bookmarks/new", data={**data, "name": bad})
        assert response.status_code == 400
    response = researcher.post(
        "/collections/bookmarks/new", data={**data, "name": "ok", "collection": "nope"}
    )
    assert response.status_code == 400
    response = researcher.post("/collections/bookmarks/new", data={**data, "path": "/a\\b/"})
    assert response.status_code == 400
    assert researcher.post("/collections/bookmarks/not-a-uuid/delete", data=data).status_code == 400
    assert calls == []


def test_bookmark_actions_need_post_and_csrf(researcher):
    bookmark_id = str(uuid.uuid4())
    assert researcher.get("/collections/bookmarks/new").status_code == 405
    assert researcher.get(f"/collections/bookmarks/{bookmark_id}/delete").status_code == 405
    response = researcher.post(
        "/collections/bookmarks/new", data={"collection": LAB, "path": "/", "name": "x"}
    )
    assert response.status_code == 400


@pytest.fixture
def no_globus_later(monkeypatch):
    """Call it to start refusing (and recording) calls to Globus."""
    from app.globus import client as globus_client
    from app.globus import collections, files

    calls = []

    def start():
        def refuse(user_id):
            calls.append(user_id)
            raise AssertionError("called Globus")

        for module in (collections, files, globus_client):
            monkeypatch.setattr(module, "transfer_client", refuse)
        return calls

    return start


def test_text_from_globus_is_escaped(researcher, localglobus):
    from localglobus.db import Database
    from localglobus.transfer.commands import create_collection
    from localglobus.transfer.models import Collection

    cid = str(uuid.uuid5(uuid.NAMESPACE_URL, "ferry-escaping-probe"))
    db = Database(localglobus.home / "localglobus.db")
    with db.session() as session:
        if session.get(Collection, cid) is None:
            create_collection(
                session,
                "Escaping <i>probe</i>",
                root=str(localglobus.home / "paging-probe"),
                collection_id=cid,
                description="<script>alert(1)</script> & more",
            )
    soup = page(researcher.get(url("/collections/", q="Escaping")))
    assert soup.find("i") is None and soup.find("script", string="alert(1)") is None
    assert results(soup)[0]["description"] == "<script>alert(1)</script> & more"
    detail = page(researcher.get(f"/collections/{cid}"))
    assert detail.find("h1").get_text() == "Escaping <i>probe</i>"
