"""Write-ahead, idempotent submissions (docs/security.md, Reliability): the Submission row is
committed before the POST; a double click, a timeout after Globus got the request, or a
connection reset all end with exactly one task, recorded."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from sqlalchemy import create_engine, select, text

from app.extensions import db
from app.globus import client as globus_client
from app.globus import tasks as globus_tasks
from app.transfers.models import Submission
from tests.portal.helpers.pages import page
from tests.portal.helpers.transfers import (
    SCRATCH,
    task_id_of,
    tasks_labelled,
    transfer_form,
    unique,
    wait_for_task,
)


@pytest.fixture
def form(client, demo_collections):
    """A rendered transfer form (fresh submission_id) with a unique label."""
    lab, archive = demo_collections["Lab Storage"], demo_collections["Archive"]
    label = unique("wa")
    target = f"/{SCRATCH}/{label}/"
    return transfer_form(client, lab, "/data/", archive, target, ["processed/"], label=label)


def rows(app, submission_id: str) -> list[Submission]:
    with app.app_context():
        query = select(Submission).where(Submission.submission_id == submission_id)
        return list(db.session.scalars(query))


class GlobusWire:
    """Wraps requests.Session.send for the portal's calls to Globus: `before_submit` runs
    before a POST /transfer is forwarded, `after_submit` after it (it may raise)."""

    def __init__(self, monkeypatch):
        self.submits: list[dict] = []
        self.before_submit = lambda request: None
        self.after_submit = lambda request, response: None
        real_send = requests.Session.send
        wire = self

        def send(session, request, **kwargs):
            if request.method == "POST" and request.url.endswith("/v0.10/transfer"):
                wire.submits.append(json.loads(request.body))
                wire.before_submit(request)
                response = real_send(session, request, **kwargs)
                wire.after_submit(request, response)
                return response
            return real_send(session, request, **kwargs)

        monkeypatch.setattr(requests.Session, "send", send)

    @property
    def submission_ids(self) -> set[str]:
        return {doc["submission_id"] for doc in self.submits}


def test_the_submission_is_committed_before_the_post(app, client, form, monkeypatch):
    wire = GlobusWire(monkeypatch)
    seen = []
    engine = create_engine(app.config["FERRY_DATABASE_URL"])

    def look(request):
        # Another connection, as another worker would see it: committed, not just flushed.
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT status, task_id, document FROM submissions WHERE submission_id = :s"),
                {"s": form["submission_id"][0]},
            ).all()
        seen.extend(found)

    wire.before_submit = look
    task_id = task_id_of(client.post("/transfers/", data=form))
    engine.dispose()
    ((status, recorded_task, document),) = seen
    assert (status, recorded_task) == ("pending", None)
    stored = json.loads(document) if isinstance(document, str) else document
    assert stored == wire.submits[0]
    (row,) = rows(app, form["submission_id"][0])
    assert (row.status, row.task_id) == ("submitted", task_id)


def test_a_double_post_of_the_same_form_submits_once(app, client, form, monkeypatch):
    wire = GlobusWire(monkeypatch)
    first = task_id_of(client.post("/transfers/", data=form))
    second = task_id_of(client.post("/transfers/", data=form))
    assert first == second
    assert len(wire.submits) == 1  # the second found the submitted row: nothing sent
    assert len(rows(app, form["submission_id"][0])) == 1
    assert tasks_labelled(client, form["label"][0]) == [first]


def test_two_clicks_at_once_end_with_one_task(app, client, form, monkeypatch):
    wire = GlobusWire(monkeypatch)
    # The first click's POST to Globus is on the wire (held there) when the second click
    # arrives, and it reaches Globus only after the second click has had its answer.
    first_on_the_wire = threading.Event()
    second_answered = threading.Event()

    def hold_the_first(request):
        if len(wire.submits) == 1:
            first_on_the_wire.set()
            assert second_answered.wait(30), "the second click never got its answer"

    wire.before_submit = hold_the_first
    other = app.test_client()
    cookie = client.get_cookie("ferry_session")
    other.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    answers = {}

    def click(name, browser):
        try:
            answers[name] = browser.post("/transfers/", data=form)
        finally:
            if name == "b":
                second_answered.set()

    threads = [
        threading.Thread(target=click, args=(n, b)) for n, b in (("a", client), ("b", other))
    ]
    threads[0].start()
    assert first_on_the_wire.wait(30), "the first click never reached Globus"
    threads[1].start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert task_id_of(answers["a"]) == task_id_of(answers["b"])
    assert wire.submission_ids == {form["submission_id"][0]}
    (row,) = rows(app, form["submission_id"][0])
    assert row.task_id == task_id_of(answers["a"])
    assert tasks_labelled(client, form["label"][0]) == [row.task_id]


def test_submit_transfer_reuses_submission_id_after_timeout(app, client, form, monkeypatch):
    wire = GlobusWire(monkeypatch)

    def time_out_once(request, response):
        # Globus got the request and made the task; the answer is lost on the way back.
        if len(wire.submits) == 1:
            raise requests.ReadTimeout("read timed out")

    wire.after_submit = time_out_once
    task_id = task_id_of(client.post("/transfers/", data=form))
    assert len(wire.submits) == 2
    assert wire.submission_ids == {form["submission_id"][0]}
    assert tasks_labelled(client, form["label"][0]) == [task_id]
    (row,) = rows(app, form["submission_id"][0])
    assert (row.status, row.task_id) == ("submitted", task_id)
    assert wait_for_task(client, task_id).find(id="task-progress")["data-status"] == "SUCCEEDED"


def test_resets_beyond_the_sdk_retries_are_retried_by_the_portal(app, client, form, monkeypatch):
    monkeypatch.setattr(globus_tasks, "SUBMIT_BACKOFF", 0)
    monkeypatch.setattr(globus_client, "MAX_RETRY_SLEEP", 0)  # the SDK's retries, at once
    wire = GlobusWire(monkeypatch)
    sdk_attempts = 3  # globus-sdk's own: 1 + MAX_RETRIES

    def reset(request, response):
        if len(wire.submits) <= sdk_attempts:
            raise requests.ConnectionError("connection reset by peer")

    wire.after_submit = reset
    task_id = task_id_of(client.post("/transfers/", data=form))
    assert len(wire.submits) == sdk_attempts + 1
    assert wire.submission_ids == {form["submission_id"][0]}
    assert tasks_labelled(client, form["label"][0]) == [task_id]


def test_globus_unreachable_keeps_the_submission_pending_then_it_resumes(
    app, client, form, monkeypatch
):
    monkeypatch.setattr(globus_tasks, "SUBMIT_BACKOFF", 0)
    monkeypatch.setattr(globus_client, "MAX_RETRY_SLEEP", 0)  # the SDK's retries, at once
    wire = GlobusWire(monkeypatch)

    def unreachable(request):
        raise requests.ConnectionError("connection refused")

    wire.before_submit = unreachable
    response = client.post("/transfers/", data=form)
    assert response.status_code == 503
    assert "try again" in page(response).find("h1").get_text().lower()
    (row,) = rows(app, form["submission_id"][0])
    assert (row.status, row.task_id) == ("pending", None)
    assert tasks_labelled(client, form["label"][0]) == []

    wire.before_submit = lambda request: None
    submission_id = form["submission_id"][0]
    # The transfer page offers to resume it.
    offered = page(client.get("/transfers/")).select("section.pending a")
    assert [a["href"] for a in offered] == [f"/transfers/resume/{submission_id}"]
    assert offered[0].get_text() == form["label"][0]
    confirm = client.get(f"/transfers/resume/{submission_id}")
    assert confirm.status_code == 200
    resume = page(confirm).find("main").find("form", attrs={"method": "post"})
    data = {i["name"]: i.get("value", "") for i in resume.find_all("input") if i.get("name")}
    task_id = task_id_of(client.post(resume["action"], data=data))
    assert wire.submission_ids == {submission_id}
    (row,) = rows(app, submission_id)
    assert (row.status, row.task_id) == ("submitted", task_id)
    assert tasks_labelled(client, form["label"][0]) == [task_id]
    assert not page(client.get("/transfers/")).select("section.pending")


def test_submit_delete_is_write_ahead_and_idempotent(app, client, demo_collections):
    from app.models import User
    from app.transfers import service

    lab = demo_collections["Lab Storage"]
    label = unique("gone")
    folder = f"{SCRATCH}/{label}"
    (lab.root / folder / "inner").mkdir(parents=True)
    (lab.root / folder / "inner" / "a.txt").write_text("a\n")
    with app.app_context():
        user_id = db.session.scalars(
            select(User.id).where(User.username == "researcher@uni.example")
        ).one()
        submission_id = service.new_submission_id(user_id)
        first = service.submit_delete(
            user_id, lab.id, [f"/{folder}/"], True, label=label, submission_id=submission_id
        )
        again = service.submit_delete(
            user_id, lab.id, [f"/{folder}/"], True, label=label, submission_id=submission_id
        )
        assert (first.task_id, first.kind, first.status) == (again.task_id, "delete", "submitted")
        assert first.document["DATA"] == [{"DATA_TYPE": "delete_item", "path": f"/{folder}/"}]
        assert first.document["interpret_globs"] is False
    assert len(rows(app, submission_id)) == 1
    wait_for_task(client, first.task_id)
    assert not (lab.root / folder).exists()
    assert tasks_labelled(client, label) == [first.task_id]


@pytest.mark.parametrize("path", ["relative/path", "/with\nnewline", "/back\\slash", ""])
def test_submit_delete_refuses_bad_paths_before_globus(app, client, demo_collections, path):
    from app.errors import BadInput
    from app.models import User
    from app.transfers import service

    with app.app_context():
        user_id = db.session.scalars(
            select(User.id).where(User.username == "researcher@uni.example")
        ).one()
        with pytest.raises(BadInput):
            service.submit_delete(
                user_id, demo_collections["Lab Storage"].id, [path], False, submission_id=None
            )
        assert db.session.scalars(select(Submission)).all() == []
