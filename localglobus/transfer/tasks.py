"""Task routes: submission_id, transfer, delete, task_list, task/<id> and its
subresources (reference B.4-B.9). A user sees only their own tasks."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from localglobus.errors import TransferAPIError
from localglobus.transfer import submit
from localglobus.transfer.common import (
    bad_request,
    body,
    bp,
    caller,
    int_arg,
    iso,
    naive,
    only_fields,
    parse_time,
    result,
    state,
)
from localglobus.transfer.documents import task_doc
from localglobus.transfer.models import SubmissionId, Task, TaskEvent, TaskFile

MARKER_PAGE = 1000
TASK_ORDER_FIELDS = {
    "task_id": Task.id,
    "type": Task.type,
    "status": Task.status,
    "label": Task.label,
    "request_time": Task.request_time,
    "completion_time": Task.completion_time,
    "deadline": Task.deadline,
    "source_endpoint_id": Task.source_id,
    "destination_endpoint_id": Task.destination_id,
}


def own_task(session: Session, task_id: str, owner_id: str) -> Task:
    task = session.get(Task, str(task_id))
    # Someone else's task is indistinguishable from a missing one.
    if task is None or task.owner_id != owner_id:
        raise TransferAPIError(404, "TaskNotFound", f"Task '{task_id}' not found")
    return task


def read_doc(session: Session, task_id: str, manager: bool = False) -> dict:
    """The task document with the engine's not-yet-committed progress added."""
    engine = state().engine
    if engine is None:
        return task_doc(session, session.get(Task, task_id), manager=manager)
    with engine.reading(task_id) as live:
        session.expire_all()
        return task_doc(session, session.get(Task, task_id), live, manager=manager)


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


def _time_range(column, value: str):
    start, _, end = value.partition(",")
    clauses = []
    if start.strip():
        clauses.append(column >= naive(parse_time(start, "filter")))
    if end.strip():
        clauses.append(column <= naive(parse_time(end, "filter")))
    return clauses


def task_filters(raw: str | None) -> list:
    """`filter=type:TRANSFER,DELETE/status:ACTIVE/label:~text/request_time:a,b`."""
    clauses = []
    for part in (raw or "").split("/"):
        if not part:
            continue
        key, sep, value = part.partition(":")
        if not sep:
            raise bad_request(f"Invalid filter {part!r}")
        values = [v for v in value.split(",") if v]
        if key == "task_id":
            clauses.append(Task.id.in_(values))
        elif key in ("status", "type"):
            clauses.append(getattr(Task, key).in_([v.upper() for v in values]))
        elif key == "label":
            clauses.append(_label_clause(value))
        elif key in ("request_time", "completion_time"):
            clauses.extend(_time_range(getattr(Task, key), value))
        else:
            raise bad_request(f"Unsupported filter field {key!r}")
    return clauses


def _label_clause(value: str):
    if value.startswith("!~"):
        return func.coalesce(Task.label, "").not_like(f"%{value[2:]}%")
    if value.startswith("~"):
        return Task.label.like(f"%{value[1:]}%")
    if value.startswith("!"):
        return func.coalesce(Task.label, "") != value[1:]
    return Task.label == (value[1:] if value.startswith("=") else value)


def task_order(raw: str | None) -> list:
    order = []
    for part in (raw or "request_time DESC").split(","):
        words = part.split()
        if not words:
            continue
        column = TASK_ORDER_FIELDS.get(words[0])
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if column is None or direction not in ("ASC", "DESC"):
            raise bad_request(f"Invalid orderby {part.strip()!r}")
        order.append(column.desc() if direction == "DESC" else column.asc())
    return order + [Task.id]


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


def event_list_doc(session: Session, task_id: str) -> dict:
    limit = int_arg("limit", 10, 1, 1000)
    offset = int_arg("offset", 0, 0)
    where = [TaskEvent.task_id == task_id]
    raw = request.args.get("filter") or ""
    if raw.startswith("is_error:"):
        where.append(TaskEvent.is_error.is_(raw.endswith("1") or raw.endswith("true")))
    total = session.scalar(select(func.count()).select_from(TaskEvent).where(*where))
    events = session.scalars(
        select(TaskEvent)
        .where(*where)
        .order_by(TaskEvent.time.desc(), TaskEvent.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    data = [
        {
            "DATA_TYPE": "event",
            "code": e.code,
            "description": e.description,
            "details": e.details,
            "is_error": e.is_error,
            "time": iso(e.time),
        }
        for e in events
    ]
    return {
        "DATA_TYPE": "event_list",
        "DATA": data,
        "length": len(data),
        "limit": limit,
        "offset": offset,
        "total": total,
    }


def _marker_rows(session: Session, task_id: str, states: tuple, kinds: tuple | None):
    marker = int_arg("marker", 0, 0)
    where = [TaskFile.task_id == task_id, TaskFile.state.in_(states), TaskFile.seq >= marker]
    if kinds:
        where.append(TaskFile.kind.in_(kinds))
    rows = session.scalars(
        select(TaskFile).where(*where).order_by(TaskFile.seq).limit(MARKER_PAGE + 1)
    ).all()
    next_marker = rows[MARKER_PAGE].seq if len(rows) > MARKER_PAGE else None
    return marker, rows[:MARKER_PAGE], next_marker


def successful_doc(session: Session, task_id: str) -> dict:
    marker, rows, next_marker = _marker_rows(session, task_id, ("done",), ("file", "link"))
    data = [
        {
            "DATA_TYPE": "successful_transfer",
            "source_path": r.source_path,
            "destination_path": r.destination_path,
            "checksum": r.checksum,
            "checksum_algorithm": r.checksum_algorithm,
            "size": r.size,
            "dynamic": False,
        }
        for r in rows
    ]
    return {
        "DATA_TYPE": "successful_transfers",
        "marker": marker,
        "next_marker": next_marker,
        "DATA": data,
    }


def skipped_doc(session: Session, task_id: str) -> dict:
    marker, rows, next_marker = _marker_rows(session, task_id, ("skipped",), None)
    data = [
        {
            "DATA_TYPE": "skipped_error",
            "checksum_algorithm": r.checksum_algorithm,
            "destination_path": r.destination_path,
            "error_code": r.error_code,
            "error_details": r.error_details,
            "error_time": iso(r.error_time),
            "external_checksum": r.external_checksum,
            "is_delete_destination_extra": r.kind == "extra",
            "is_directory": r.kind == "dir",
            "is_symlink": r.kind == "symlink",
            "source_path": r.source_path,
        }
        for r in rows
    ]
    return {
        "DATA_TYPE": "skipped_errors",
        "marker": marker,
        "next_marker": next_marker,
        "DATA": data,
    }


def pause_doc() -> dict:
    """localglobus has no pause rules."""
    return {
        "DATA_TYPE": "pause_info_limited",
        "pause_rules": [],
        "source_pause_message": None,
        "destination_pause_message": None,
        "source_pause_message_share": None,
        "destination_pause_message_share": None,
    }


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


@bp.get("/task/<task_id>/pause_info")
def pause_info(task_id):
    who = caller()
    with state().db.session() as session:
        own_task(session, task_id, who.identity_id)
    return jsonify(pause_doc())
