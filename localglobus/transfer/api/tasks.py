"""Task routes: submission_id, transfer, delete, task_list, task/<id> and its
subresources (docs/globus-api.md B.4-B.9). A user sees only their own tasks."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer.api import submit
from localglobus.transfer.api.arguments import body, int_arg, only_fields
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import own_task
from localglobus.transfer.api.responses import result
from localglobus.transfer.api.taskdocs import (
    event_list_doc,
    read_doc,
    skipped_doc,
    successful_doc,
    task_filters,
    task_order,
)
from localglobus.transfer.models import SubmissionId, Task
from localglobus.transfer.times import naive


@bp.get("/submission_id")
def submission_id():
    who = caller()
    with state().db.session() as session:
        row = SubmissionId(identity_id=who.identity_id)
        session.add(row)
        session.flush()
        value = row.value
    return jsonify({"DATA_TYPE": "submission_id", "value": value})


def _accepted(task: Task, created: bool, kind: str):
    engine = state().engine
    if created and engine is not None:
        engine.wake()
    if created:
        message = (
            f"The {kind} has been accepted and a task has been created and queued for execution"
        )
    else:
        message = f"A {kind} with id '{task.submission_id}' was already submitted"
    return result(
        "Accepted" if created else "Duplicate",
        message,
        data_type=f"{kind}_result",
        status=202 if created else 200,
        submission_id=task.submission_id,
        task_id=task.id,
        task_link={
            "DATA_TYPE": "link",
            "href": f"task/{task.id}?format=json",
            "rel": "related",
            "resource": "task",
            "title": "related task",
        },
    )


@bp.post("/transfer")
def transfer():
    who = caller()
    doc = body()
    with state().db.session() as session:
        task, created = submit.transfer_task(session, who, doc)
    return _accepted(task, created, "transfer")


@bp.post("/delete")
def delete():
    who = caller()
    doc = body()
    with state().db.session() as session:
        task, created = submit.delete_task(session, who, doc)
    return _accepted(task, created, "delete")


@bp.get("/task_list")
def task_list():
    who = caller()
    limit = int_arg("limit", 10, 1, 1000)
    offset = int_arg("offset", 0, 0)
    where = [Task.owner_id == who.identity_id, *task_filters(request.args.get("filter"))]
    with state().db.session() as session:
        total = session.scalar(select(func.count()).select_from(Task).where(*where))
        ids = session.scalars(
            select(Task.id)
            .where(*where)
            .order_by(*task_order(request.args.get("orderby")))
            .offset(offset)
            .limit(limit)
        ).all()
        docs = [read_doc(session, task_id) for task_id in ids]
    docs = only_fields(docs)
    return jsonify(
        {
            "DATA_TYPE": "task_list",
            "DATA": docs,
            "length": len(docs),
            "limit": limit,
            "offset": offset,
            "total": total,
        }
    )


@bp.get("/task/<task_id>")
def get_task(task_id):
    who = caller()
    with state().db.session() as session:
        own_task(session, task_id, who.identity_id)
        doc = read_doc(session, str(task_id))
    return jsonify(only_fields([doc])[0])


@bp.put("/task/<task_id>")
def update_task(task_id):
    who = caller()
    doc = body()
    unknown = set(doc) - {"DATA_TYPE", "label", "deadline"}
    if unknown:
        raise bad_request(f"Only label and deadline can be updated, not {sorted(unknown)}")
    with state().db.session() as session:
        task = own_task(session, task_id, who.identity_id)
        if "label" in doc:
            task.label = submit._label(doc)
        if "deadline" in doc:
            if task.status not in ("ACTIVE", "INACTIVE"):
                raise TransferAPIError(409, "Conflict", "The task has already completed")
            task.deadline = naive(submit._deadline(doc))
    return result("Updated", "Task updated successfully")


@bp.post("/task/<task_id>/cancel")
def cancel_task(task_id):
    who = caller()
    with state().db.session() as session:
        own_task(session, task_id, who.identity_id)
    return cancel_result(str(task_id))


def cancel_result(task_id: str, by_admin: str | None = None, message: str = ""):
    engine = state().engine
    code = engine.cancel(task_id, by_admin, message) if engine else "TaskComplete"
    if code == "TaskComplete":
        return result("TaskComplete", "The task completed before the cancel request was processed.")
    return result("Canceled", "The task has been cancelled successfully.")


@bp.get("/task/<task_id>/event_list")
def event_list(task_id):
    who = caller()
    with state().db.session() as session:
        own_task(session, task_id, who.identity_id)
        return jsonify(event_list_doc(session, str(task_id)))


@bp.get("/task/<task_id>/successful_transfers")
def successful_transfers(task_id):
    who = caller()
    with state().db.session() as session:
        own_task(session, task_id, who.identity_id)
        return jsonify(successful_doc(session, str(task_id)))


@bp.get("/task/<task_id>/skipped_errors")
def skipped_errors(task_id):
    who = caller()
    with state().db.session() as session:
        own_task(session, task_id, who.identity_id)
        return jsonify(skipped_doc(session, str(task_id)))
