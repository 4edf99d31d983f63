"""Activity against the live localglobus: the task list (filters, paging, newest first),
a task's page (progress that polls while active and stops, counts, options, events,
transferred files), cancel and edit of a long transfer, and someone else's task → 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.tasks import service as tasks_service
from tests.portal.helpers.pages import csrf_token, page
from tests.portal.helpers.signin import sign_in
from tests.portal.helpers.transfers import (
    SCRATCH,
    demo,
    scratch,
    task_id_of,
    tasks_labelled,
    transfer_form,
    unique,
    wait_for_task,
)

# Enough small files that the transfer is still running when the test acts on it.
LONG_FILES = 4000


def submit(
    client, demo_collections, items=("raw/",), src_path="/data/", **options
) -> tuple[str, str]:
    """Submit a transfer Lab Storage → Archive; return (task id, label)."""
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    label = options.pop("label", None) or unique("task")
    fields = transfer_form(
        client, lab, src_path, archive, f"/{SCRATCH}/{label}/", list(items), label=label, **options
    )
    return task_id_of(client.post("/transfers/", data=fields)), label


@pytest.fixture(scope="module")
def many_files(localglobus) -> str:
    """A folder of LONG_FILES small files in Lab Storage, made once for the module (the
    long tasks only read it): its path."""
    folder = scratch("many")
    root = demo(localglobus)["Lab Storage"].root / folder / "files"
    root.mkdir(parents=True)
    for i in range(LONG_FILES):
        (root / f"f{i:05d}.txt").write_bytes(b"x" * (100 + i % 50))
    return f"/{folder}/"


@pytest.fixture
def long_task(client, demo_collections, many_files):
    """A transfer of many small files, checksummed: running for a while."""
    task_id, label = submit(client, demo_collections, items=["files/"], src_path=many_files)
    return task_id, label


def test_task_page_updates_itself_until_the_task_succeeds(client, demo_collections, long_task):
    # While a task runs (the long one: thousands of checksummed files), its page polls.
    running_id, _ = long_task
    progress = page(client.get(f"/tasks/{running_id}")).find(id="task-progress")
    assert progress["data-status"] == "ACTIVE", "the long task ended before its page showed"
    assert progress["hx-get"] == f"/tasks/{running_id}/progress"
    assert progress["hx-trigger"] == "every 2s" and progress["hx-swap"] == "outerHTML"
    fragment = page(client.get(f"/tasks/{running_id}/progress")).find(id="task-progress")
    assert fragment["hx-get"] == f"/tasks/{running_id}/progress"
    stop = client.post(f"/tasks/{running_id}/cancel", data={"csrf_token": csrf_token(client)})
    assert stop.status_code == 302

    # Once a task has ended, its page stops polling.
    task_id, label = submit(client, demo_collections)
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == 200
    soup = page(response)
    assert soup.find("h1").get_text() == label

    final = wait_for_task(client, task_id).find(id="task-progress")
    assert final["data-status"] == "SUCCEEDED"
    assert not final.has_attr("hx-trigger") and not final.has_attr("hx-get")

    soup = page(client.get(f"/tasks/{task_id}"))
    bar = soup.find("progress", id="task-progressbar")
    assert (bar["value"], bar["aria-valuenow"], bar["aria-valuemax"]) == ("100", "100", "100")
    assert bar["aria-label"]
    counts = {dd["data-count"]: int(dd.get_text()) for dd in soup.select("dd[data-count]")}
    assert counts["files"] == 2 and counts["files_transferred"] == 2 and counts["faults"] == 0
    assert soup.select_one(".task-status .badge").get_text() == "Succeeded"
    done = [td.get_text() for td in soup.select("table.successful-transfers tbody td.mono")]
    assert f"/{SCRATCH}/{label}/raw/run-001/measurements.csv" in done
    assert soup.select("table.events tbody tr")
    assert soup.find("form", class_="task-cancel") is None  # nothing left to cancel
    assert soup.select_one(".task-status .badge").get_text() == "Succeeded"
    facts = {dt.get_text(): dt.find_next("dd").get_text() for dt in soup.select("dl.facts dt")}
    assert facts["Verify checksum"] == "yes" and facts["Sync level"] == "always transfer"


def test_transferred_files_and_skipped_errors_have_their_own_pages(client, demo_collections):
    lab = demo_collections["Lab Storage"]
    folder = scratch("several")
    for i in range(12):
        (lab.root / folder / "set" / f"f{i:02d}.txt").parent.mkdir(parents=True, exist_ok=True)
        (lab.root / folder / "set" / f"f{i:02d}.txt").write_text(f"file {i}\n")
    task_id, label = submit(client, demo_collections, items=["set/"], src_path=f"/{folder}/")
    wait_for_task(client, task_id)
    detail = page(client.get(f"/tasks/{task_id}"))
    assert len(detail.select("table.successful-transfers tbody tr")) == tasks_service.PREVIEW
    more = detail.find("a", href=f"/tasks/{task_id}/transferred")
    assert more is not None
    full = page(client.get(more["href"]))
    paths = [tr.find("td").get_text() for tr in full.select("table.successful-transfers tbody tr")]
    assert sorted(paths) == [f"/{folder}/set/f{i:02d}.txt" for i in range(12)]
    assert full.find("a", rel="next") is None
    skipped = client.get(f"/tasks/{task_id}/skipped")
    assert skipped.status_code == 200
    assert "No files were skipped" in page(skipped).find("main").get_text()
    assert client.get(f"/tasks/{task_id}/transferred?marker=x").status_code == 400
    assert client.get(f"/tasks/{task_id}/other").status_code == 404


def test_task_list_is_newest_first_with_status_type_label_and_dates(client, demo_collections):
    marker = unique("list")
    older, _ = submit(client, demo_collections, label=f"{marker}-a")
    newer, _ = submit(client, demo_collections, label=f"{marker}-b")
    assert tasks_labelled(client, marker) == [newer, older]
    for task_id in (older, newer):
        wait_for_task(client, task_id)

    soup = page(client.get(f"/tasks/?label={marker}"))
    row = soup.select_one("table.tasks tbody tr")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[0].startswith(f"{marker}-b") and "Succeeded" in cells[1]
    assert "Lab Storage → Archive" in cells[2]
    assert row.find("time")["datetime"].startswith(str(datetime.now(UTC).date()))
    assert row.find("progress")["value"] == "100"

    def ids(**query) -> list[str]:
        query = {"label": marker, **query}
        response = client.get("/tasks/", query_string=query)
        assert response.status_code == 200
        return [a["href"].rsplit("/", 1)[-1] for a in page(response).select("table.tasks a")]

    today = datetime.now(UTC).date()
    assert ids(status="SUCCEEDED") == [newer, older]
    assert ids(status="ACTIVE") == []
    assert ids(type="DELETE") == [] and ids(type="TRANSFER") == [newer, older]
    assert ids(since=today.isoformat()) == [newer, older]
    assert ids(until=(today - timedelta(days=1)).isoformat()) == []
    assert ids(label=f"{marker}-a") == [older]


def test_task_list_pages(client, demo_collections, monkeypatch):
    monkeypatch.setattr(tasks_service, "PAGE_SIZE", 1)
    marker = unique("pages")
    older, _ = submit(client, demo_collections, label=f"{marker}-1")
    newer, _ = submit(client, demo_collections, label=f"{marker}-2")
    first = page(client.get(f"/tasks/?label={marker}"))
    assert [a["href"] for a in first.select("table.tasks tbody a")] == [f"/tasks/{newer}"]
    next_link = first.find("a", rel="next")
    second = page(client.get(next_link["href"]))
    assert [a["href"] for a in second.select("table.tasks tbody a")] == [f"/tasks/{older}"]
    assert second.find("a", rel="next") is None and second.find("a", rel="prev")


@pytest.mark.parametrize(
    "query",
    [
        {"label": "a/b"},
        {"label": "x" * 129},
        {"since": "2024-02-02", "until": "2024-01-01"},
        {"since": "yesterday"},
        {"status": "SLEEPING"},
        {"type": "COPY"},
    ],
)
def test_task_list_rejects_bad_filters(client, demo_collections, query):
    response = client.get("/tasks/", query_string=query)
    assert response.status_code == 400
    assert page(response).select(".field .error")


def test_cancel_a_long_transfer(client, demo_collections, long_task):
    task_id, label = long_task
    soup = page(client.get(f"/tasks/{task_id}"))
    assert soup.find(id="task-progress")["data-status"] == "ACTIVE"
    assert soup.find(id="task-progress")["hx-trigger"] == "every 2s"
    form = soup.find("form", class_="task-cancel")
    button = form.find("button")
    assert button.get("data-confirm") and form["action"] == f"/tasks/{task_id}/cancel"

    response = client.post(form["action"], data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tasks/{task_id}")
    flash = page(client.get(response.headers["Location"])).select_one(".flash")
    assert "cancel" in flash.get_text().lower()
    fragment = wait_for_task(client, task_id)
    final = fragment.find(id="task-progress")
    assert final["data-status"] == "FAILED" and not final.has_attr("hx-trigger")
    # The ended task's cancel and edit forms leave the open page too (out-of-band swap).
    assert fragment.find(id="task-actions")["hx-swap-oob"] == "true"
    assert final.select_one(".badge").get_text() == "Canceled"
    counts = {dd["data-count"]: int(dd.get_text()) for dd in final.select("dd[data-count]")}
    assert counts["files_transferred"] < LONG_FILES
    events = page(client.get(f"/tasks/{task_id}")).select("table.events tbody tr")
    assert any("cancel" in tr.get_text().lower() for tr in events)


def test_edit_label_and_deadline_of_a_running_task(client, demo_collections, long_task):
    task_id, _label = long_task
    csrf = csrf_token(client)
    deadline = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    bad = client.post(
        f"/tasks/{task_id}/edit",
        data={"csrf_token": csrf, "label": "x\ny", "deadline": "2001-01-01T00:00"},
    )
    assert bad.status_code == 400
    soup = page(bad)
    assert soup.find(id="label-error") and soup.find(id="deadline-error")

    new_label = unique("renamed")
    response = client.post(
        f"/tasks/{task_id}/edit",
        data={
            "csrf_token": csrf,
            "label": new_label,
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    soup = page(client.get(f"/tasks/{task_id}"))
    assert soup.find("h1").get_text() == new_label
    facts = {dt.get_text(): dt.find_next("dd") for dt in soup.select("dl.facts dt")}
    assert facts["Deadline"].find("time")["datetime"] == deadline.isoformat()
    client.post(f"/tasks/{task_id}/cancel", data={"csrf_token": csrf})


def test_someone_elses_task_is_not_found(app, client, demo_collections, localglobus):
    task_id, _ = submit(client, demo_collections)
    other = app.test_client()
    sign_in(other, localglobus, "admin")
    csrf = csrf_token(other)
    assert other.get(f"/tasks/{task_id}").status_code == 404
    assert other.get(f"/tasks/{task_id}/progress").status_code == 404
    assert other.get(f"/tasks/{task_id}/transferred").status_code == 404
    assert other.post(f"/tasks/{task_id}/cancel", data={"csrf_token": csrf}).status_code == 404
    edit = other.post(f"/tasks/{task_id}/edit", data={"csrf_token": csrf, "label": "mine"})
    assert edit.status_code == 404
    assert task_id not in tasks_labelled(other, "task")
    assert other.get("/tasks/not-a-task-id").status_code == 404
    # and the owner still sees it, unchanged
    assert client.get(f"/tasks/{task_id}").status_code == 200


def test_recent_tasks_for_the_home_page(app, client, demo_collections):
    task_id, _ = submit(client, demo_collections)
    with app.app_context():
        user_id = db.session.scalars(
            select(User.id).where(User.username == "researcher@uni.example")
        ).one()
        recent = tasks_service.recent_tasks(user_id, limit=3)
    assert recent[0].task_id == task_id and len(recent) <= 3
