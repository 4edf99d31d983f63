"""The two-pane transfer page and submitting a transfer, against the live localglobus:
the form and its defaults, a folder arriving on disk with the same bytes, every
validation error (400, shown next to its field, nothing sent to Globus), unicode names,
and a pending transfer resuming with the same submission_id after the consent step-up."""

from __future__ import annotations

import uuid

import pytest
import requests
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.transfers.models import Submission
from tests.portal.helpers.pages import csrf_token, page
from tests.portal.helpers.signin import callback, globus_round_trip, sign_in
from tests.portal.helpers.transfers import (
    demo,
    query_of,
    scratch,
    task_id_of,
    transfer_form,
    transfer_page,
    tree,
    unique,
    wait_for_task,
)


def submissions(app, **where) -> list[Submission]:
    with app.app_context():
        query = select(Submission).filter_by(**where).order_by(Submission.id)
        return list(db.session.scalars(query))


def test_two_panes_offer_the_source_items_and_the_options_with_defaults(client, demo_collections):
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    response = transfer_page(client, lab, "/data/", archive, "/")
    assert response.status_code == 200
    soup = page(response)
    source, destination = soup.find(id="pane-src"), soup.find(id="pane-dst")
    assert "Lab Storage" in source.find("h2").get_text()
    assert "Archive" in destination.find("h2").get_text()
    boxes = {b["value"]: b for b in source.find_all("input", attrs={"name": "items"})}
    assert {"raw/", "processed/"} <= set(boxes)
    assert all(b["form"] == "transfer-form" and b.get("aria-label") for b in boxes.values())
    assert not destination.find_all("input", attrs={"name": "items"})

    form = soup.find("form", id="transfer-form")
    assert form["method"] == "post"
    uuid.UUID(form.find("input", attrs={"name": "submission_id"})["value"])
    checked = {i["name"] for i in form.find_all("input", type="checkbox") if i.has_attr("checked")}
    assert checked == {"verify_checksum", "notify"}
    sync = form.find("select", attrs={"name": "sync_level"})
    assert [o["value"] for o in sync.find_all("option")] == [
        "",
        "exists",
        "size",
        "mtime",
        "checksum",
    ]
    for control in form.find_all(["input", "select"]):
        if control.get("type") not in ("hidden", None) or control.name == "select":
            assert form.find("label", attrs={"for": control["id"]}), control["name"]
    assert [fs.legend.get_text() for fs in form.find_all("fieldset")] == [
        "Integrity and behaviour",
        "Deadline and notifications",
    ]


def test_a_new_page_mints_a_new_submission_id(client, demo_collections):
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    ids = {
        transfer_form(client, lab, "/data/", archive, "/", ["raw/"])["submission_id"][0]
        for _ in range(2)
    }
    assert len(ids) == 2


def test_transfer_a_folder_lands_on_the_task_and_arrives_with_the_same_bytes(
    app, client, demo_collections
):
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    label = unique("incoming")
    target = f"portal-tests/{label}"
    fields = transfer_form(
        client, lab, "/data/", archive, f"/{target}/", ["raw/", "processed/"], label=label
    )
    response = client.post("/transfers/", data=fields)
    task_id = task_id_of(response)

    final = wait_for_task(client, task_id)
    assert final.find(id="task-progress")["data-status"] == "SUCCEEDED"
    assert not final.find(id="task-progress").has_attr("hx-trigger")  # polling stops
    for folder in ("raw", "processed"):
        assert tree(archive.root / target / folder) == tree(lab.root / "data" / folder)
    assert tree(archive.root / target / "raw")  # something was really copied

    (row,) = submissions(app, submission_id=fields["submission_id"][0])
    assert (row.status, row.task_id, row.kind) == ("submitted", task_id, "transfer")
    assert row.document["label"] == label
    assert row.document["verify_checksum"] is True
    assert row.document["notify_on_succeeded"] is True
    assert [i["destination_path"] for i in row.document["DATA"]] == [
        f"/{target}/raw/",
        f"/{target}/processed/",
    ]


def test_every_option_reaches_globus(app, client, demo_collections):
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    label = unique("options")
    target = f"portal-tests/{label}"
    fields = transfer_form(
        client,
        lab,
        "/data/",
        archive,
        f"/{target}/",
        ["processed/"],
        label=label,
        sync_level="checksum",
        verify_checksum=False,
        preserve_timestamp=True,
        encrypt_data=True,
        delete_destination_extra=True,
        skip_source_errors=True,
        fail_on_quota_errors=True,
        deadline="2099-01-02T03:04",
        notify=False,
    )
    task_id = task_id_of(client.post("/transfers/", data=fields))
    (row,) = submissions(app, task_id=task_id)
    doc = row.document
    assert doc["sync_level"] == 3
    assert doc["deadline"] == "2099-01-02T03:04:00+00:00"
    assert (doc["verify_checksum"], doc["notify_on_failed"]) == (False, False)
    assert all(
        doc[k]
        for k in (
            "preserve_timestamp",
            "encrypt_data",
            "delete_destination_extra",
            "skip_source_errors",
            "fail_on_quota_errors",
        )
    )
    wait_for_task(client, task_id)
    detail = page(client.get(f"/tasks/{task_id}"))
    facts = {dt.get_text(): dt.find_next("dd").get_text() for dt in detail.select("dl.facts dt")}
    assert facts["Sync level"] == "checksum"
    assert facts["Preserve timestamps"] == "yes"
    assert facts["Deadline"].startswith("2099-01-02 03:04")


def test_unicode_names_transfer(client, demo_collections):
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    folder = scratch("données")
    (lab.root / folder / "été").mkdir(parents=True)
    (lab.root / folder / "été" / "résumé ✓.txt").write_text("naïve café\n")
    target = scratch("arrivée")
    fields = transfer_form(client, lab, f"/{folder}/", archive, f"/{target}/", ["été/"])
    task_id = task_id_of(client.post("/transfers/", data=fields))
    wait_for_task(client, task_id)
    assert (archive.root / target / "été" / "résumé ✓.txt").read_text() == "naïve café\n"


INVALID = [
    ("source_id", "not-a-uuid", None),
    ("destination_id", "12345678-1234-1234-1234", None),
    ("source_path", "/data/\x00/", None),
    ("destination_path", "/in\ncoming/", None),
    ("destination_path", "/in\rcoming/", None),
    ("source_path", "/data\\raw/", None),
    ("submission_id", "again", None),
    ("label", "x" * 129, "label-error"),
    ("label", "two\nlines", "label-error"),
    ("sync_level", "turbo", "sync_level-error"),
    ("deadline", "2001-01-01T00:00", "deadline-error"),
    ("deadline", "tomorrow", "deadline-error"),
    ("items", [], "items-error"),
    ("items", ["../etc/"], "items-error"),
    ("items", ["raw\\x"], "items-error"),
]


@pytest.mark.parametrize(("name", "value", "error_id"), INVALID)
def test_invalid_input_is_a_form_error_and_nothing_reaches_globus(
    app, client, demo_collections, monkeypatch, name, value, error_id
):
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    fields = transfer_form(client, lab, "/data/", archive, "/nowhere/", ["raw/"])
    fields[name] = value if isinstance(value, list) else [value]
    sent = []
    real_send = requests.Session.send

    def spy(self, request, **kwargs):
        sent.append(f"{request.method} {request.url}")
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spy)
    response = client.post("/transfers/", data=fields)
    assert response.status_code == 400
    assert sent == []
    soup = page(response)
    if error_id:
        error = soup.find(id=error_id)
        assert error is not None and error.get_text(strip=True)
        if name != "items":
            control = soup.find(attrs={"name": name})
            assert error_id in control["aria-describedby"] and control["aria-invalid"] == "true"
    else:
        assert soup.find(class_="form-error", role="alert")
    assert submissions(app) == []
    # The page keeps the picked items and the same submission_id for the retry.
    form = soup.find("form", id="transfer-form")
    if name != "submission_id":
        kept = form.find("input", attrs={"name": "submission_id"})["value"]
        assert kept == fields["submission_id"][0]


def test_a_transfer_globus_refuses_is_a_clear_message(app, client, demo_collections):
    lab = demo_collections["Lab Storage"]
    shared = demo_collections["Shared Results"]  # read-only for the researcher
    fields = transfer_form(client, lab, "/data/", lab, "/", ["raw/"])
    fields["destination_id"] = [shared.id]
    response = client.post("/transfers/", data=fields)
    assert response.status_code == 302
    follow = client.get(response.headers["Location"])
    flashes = page(follow).select(".flash-error")
    assert flashes and "Globus did not accept the transfer" in flashes[0].get_text()
    (row,) = submissions(app, submission_id=fields["submission_id"][0])
    assert row.status == "failed" and row.task_id is None and row.error


def test_pending_transfer_resumes_with_the_same_submission_id_after_consent(
    app, client, localglobus
):
    collections = demo(localglobus)
    lab, archive = collections["Lab Storage"], collections["Archive"]
    username = unique("newcomer")
    localglobus.cli("user", "add", username, "--password", localglobus.password)
    sign_in(client, localglobus, username)
    with app.app_context():
        from app.transfers import service

        user_id = db.session.scalars(
            select(User.id).where(User.username == f"{username}@uni.example")
        ).one()
        submission_id = service.new_submission_id(user_id)
    csrf = csrf_token(client)
    target = scratch("consented")
    response = client.post(
        "/transfers/",
        data={
            "csrf_token": csrf,
            "submission_id": submission_id,
            "return_to": f"/transfers/resume/{submission_id}",
            "source_id": lab.id,
            "source_path": "/data/",
            "destination_id": archive.id,
            "destination_path": f"/{target}/",
            "items": ["raw/"],
            "verify_checksum": "y",
            "notify": "y",
        },
    )
    # Globus said ConsentRequired: the portal asks for the scopes, then comes back here.
    assert response.status_code == 302
    consent = response.headers["Location"]
    assert consent.split("?")[0].endswith("/auth/consent")
    assert query_of(consent)["next"] == [f"/transfers/resume/{submission_id}"]
    assert any(lab.id in s and archive.id in s for s in query_of(consent)["scope"])
    (pending,) = submissions(app, submission_id=submission_id)
    assert (pending.status, pending.task_id) == ("pending", None)

    authorize = client.get(consent)
    back = callback(client, globus_round_trip(authorize.headers["Location"], localglobus, username))
    assert back.headers["Location"].endswith(f"/transfers/resume/{submission_id}")

    # The callback made a fresh CSRF token; drop the one cached in pytest-flask's `g`.
    g.pop("csrf_token", None)
    confirm = client.get(f"/transfers/resume/{submission_id}")
    assert confirm.status_code == 200
    form = page(confirm).find("main").find("form", attrs={"method": "post"})
    assert form["action"] == f"/transfers/resume/{submission_id}"
    data = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
    resumed = client.post(form["action"], data=data)
    task_id = task_id_of(resumed)

    (row,) = submissions(app, submission_id=submission_id)
    assert (row.status, row.task_id) == ("submitted", task_id)
    assert len(submissions(app, user_id=user_id)) == 1
    wait_for_task(client, task_id)
    assert tree(archive.root / target / "raw") == tree(lab.root / "data" / "raw")
    # The resume page of a submitted transfer now leads to its task.
    again = client.get(f"/transfers/resume/{submission_id}")
    assert again.headers["Location"].endswith(f"/tasks/{task_id}")


def test_resume_of_someone_elses_submission_is_not_found(
    app, client, demo_collections, localglobus
):
    # admin, signed in on the same portal, has a pending transfer of their own.
    other = app.test_client()
    sign_in(other, localglobus, "admin")
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    with app.app_context():
        from app.transfers import service

        admin_id = db.session.scalars(
            select(User.id).where(User.username == "admin@uni.example")
        ).one()
        submission_id = str(uuid.uuid4())
        items = [service.TransferItem("/data/raw/", f"/{scratch('theirs')}/", recursive=True)]
        document = service.transfer_document(
            submission_id, lab.id, archive.id, items, service.TransferOptions(label="theirs")
        )
        service._write_ahead(admin_id, "transfer", document)
    assert other.get(f"/transfers/resume/{submission_id}").status_code == 200  # its owner's

    # researcher (the test client) finds nothing there, to see or to send.
    assert client.get(f"/transfers/resume/{submission_id}").status_code == 404
    sent = client.post(
        f"/transfers/resume/{submission_id}", data={"csrf_token": csrf_token(client)}
    )
    assert sent.status_code == 404
    (row,) = submissions(app, submission_id=submission_id)
    assert (row.user_id, row.status, row.task_id) == (admin_id, "pending", None)
    assert client.get(f"/transfers/resume/{uuid.uuid4()}").status_code == 404
    assert client.get("/transfers/resume/not-a-uuid").status_code == 404


def test_state_changing_routes_refuse_get_and_missing_csrf(client, demo_collections):
    sid = uuid.uuid4()
    assert client.get(f"/tasks/{sid}/cancel").status_code == 405
    assert client.get(f"/tasks/{sid}/edit").status_code == 405
    assert client.post("/transfers/", data={"submission_id": str(sid)}).status_code == 400
    assert client.post(f"/transfers/resume/{sid}").status_code == 400


def test_both_panes_needing_consent_ask_for_it_once(client, localglobus):
    collections = demo(localglobus)
    lab, archive = collections["Lab Storage"], collections["Archive"]
    username = unique("twopanes")
    localglobus.cli("user", "add", username, "--password", localglobus.password)
    sign_in(client, localglobus, username)
    response = transfer_page(client, lab, "/data/", archive, "/")
    assert response.status_code == 302
    consent = query_of(response.headers["Location"])
    assert sorted(s for s in consent["scope"] if lab.id in s or archive.id in s) == sorted(
        [lab.data_access, archive.data_access]
    )
    assert consent["next"][0].startswith("/transfers/?")


def test_each_pane_chooses_a_collection_by_search_or_bookmark(app, client, demo_collections):
    from app.globus import collections as globus_collections

    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    soup = page(client.get("/transfers/?src_q=Archive"))
    results = soup.find(id="pane-src").select(".search-results a")
    assert any(
        a.get_text() == "Archive" and query_of(a["href"])["src"] == [archive.id] for a in results
    )
    assert (
        soup.find(id="pane-src").find("form", role="search").find("label", attrs={"for": "src_q"})
    )

    name = unique("bm")
    with app.app_context():
        user_id = db.session.scalars(
            select(User.id).where(User.username == "researcher@uni.example")
        ).one()
        globus_collections.create_bookmark(user_id, collection_id=lab.id, path="/data/", name=name)
    soup = page(client.get(f"/transfers/?dst={archive.id}&dst_path=/"))
    for side in ("src", "dst"):
        link = next(
            a for a in soup.find(id=f"pane-{side}").select(".bookmarks a") if a.get_text() == name
        )
        chosen = query_of(link["href"])
        assert chosen[side] == [lab.id] and chosen[f"{side}_path"] == ["/data/"]
    # Choosing on one side keeps the other side as it was.
    src_link = next(
        a for a in soup.find(id="pane-src").select(".bookmarks a") if a.get_text() == name
    )
    assert query_of(src_link["href"])["dst"] == [archive.id]
