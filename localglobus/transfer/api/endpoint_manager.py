"""The endpoint manager API (docs/globus-api.md B.13): tasks on collections where the caller is an
activity monitor, activity manager or administrator (of the collection or of the mapped
collection hosting it). Cancelling needs activity_manager or administrator."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import or_, select

from localglobus.db import utcnow
from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer.api.arguments import body, bool_value, int_arg
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import collections_with, visible_task
from localglobus.transfer.api.taskdocs import (
    event_list_doc,
    read_doc,
    skipped_doc,
    successful_doc,
)
from localglobus.transfer.documents import endpoint_doc
from localglobus.transfer.models import AdminCancel, Collection, Task
from localglobus.transfer.times import iso, naive, parse_time

PAGE = 1000


def _filters(allowed: set[str]) -> list:
    args = request.args
    statuses = [s for s in (args.get("filter_status") or "").split(",") if s]
    task_ids = [t for t in (args.get("filter_task_id") or "").split(",") if t]
    endpoints = [e for e in (args.get("filter_endpoint") or "").split(",") if e]
    if (
        not (statuses and set(statuses) <= {"ACTIVE", "INACTIVE"})
        and not task_ids
        and not endpoints
    ):
        raise bad_request(
            "Give filter_task_id or filter_endpoint, or a filter_status of ACTIVE/INACTIVE only"
        )
    if set(endpoints) - allowed:
        raise TransferAPIError(403, "PermissionDenied", "You do not monitor that endpoint")
    clauses = [or_(Task.source_id.in_(allowed), Task.destination_id.in_(allowed))]
    if statuses:
        clauses.append(Task.status.in_(statuses))
    if task_ids:
        clauses.append(Task.id.in_(task_ids))
    if endpoints:
        use = args.get("filter_endpoint_use")
        if use == "source":
            clauses.append(Task.source_id.in_(endpoints))
        elif use == "destination":
            clauses.append(Task.destination_id.in_(endpoints))
        else:
            clauses.append(or_(Task.source_id.in_(endpoints), Task.destination_id.in_(endpoints)))
    if args.get("filter_owner_id"):
        clauses.append(Task.owner_id.in_(args["filter_owner_id"].split(",")))
    if args.get("filter_is_paused"):
        clauses.append(Task.is_paused.is_(bool_value(args["filter_is_paused"])))
    if args.get("filter_min_faults"):
        clauses.append(Task.faults >= int_arg("filter_min_faults", 0, 0))
    if args.get("filter_completion_time"):
        start, _, end = args["filter_completion_time"].partition(",")
        if start.strip():
            clauses.append(Task.completion_time >= naive(parse_time(start, "filter")))
        if end.strip():
            clauses.append(Task.completion_time <= naive(parse_time(end, "filter")))
    return clauses


def _key(task: Task) -> str:
    kind = "active" if task.status in ("ACTIVE", "INACTIVE") else "complete"
    return f"{kind},{task.request_time.isoformat()},{task.id}"


@bp.get("/endpoint_manager/task_list")
def manager_task_list():
    who = caller()
    limit = int_arg("limit", PAGE, 1, PAGE)
    with state().db.session() as session:
        allowed = collections_with(session, who.identity_id, "activity_monitor")
        clauses = _filters(allowed)
        last_key = request.args.get("last_key")
        if last_key:
            try:
                _, when, task_id = last_key.split(",", 2)
                after = parse_time(when, "last_key").replace(tzinfo=None)
            except (ValueError, TransferAPIError):
                raise bad_request(f"Invalid last_key {last_key!r}") from None
            clauses.append(
                or_(Task.request_time < after, (Task.request_time == after) & (Task.id < task_id))
            )
        tasks = session.scalars(
            select(Task)
            .where(*clauses)
            .order_by(Task.request_time.desc(), Task.id.desc())
            .limit(limit + 1)
        ).all()
        more = len(tasks) > limit
        tasks = tasks[:limit]
        docs = [read_doc(session, t.id, manager=True) for t in tasks]
        key = _key(tasks[-1]) if tasks and more else None
    return jsonify({"DATA_TYPE": "task_list", "DATA": docs, "has_next_page": more, "last_key": key})


@bp.get("/endpoint_manager/task/<task_id>")
def manager_task(task_id):
    who = caller()
    with state().db.session() as session:
        visible_task(session, task_id, who)
        return jsonify(read_doc(session, str(task_id), manager=True))


@bp.get("/endpoint_manager/task/<task_id>/<part>")
def manager_task_part(task_id, part):
    who = caller()
    builders = {
        "event_list": event_list_doc,
        "successful_transfers": successful_doc,
        "skipped_errors": skipped_doc,
    }
    with state().db.session() as session:
        visible_task(session, task_id, who)
        if part not in builders:
            raise TransferAPIError(404, "ClientError.NotFound", f"No such resource: {part}")
        return jsonify(builders[part](session, str(task_id)))


@bp.get("/endpoint_manager/monitored_endpoints")
def monitored_endpoints():
    who = caller()
    with state().db.session() as session:
        ids = collections_with(session, who.identity_id, "activity_monitor")
        colls = session.scalars(select(Collection).where(Collection.id.in_(ids))).all()
        docs = [endpoint_doc(session, c, who.identity_id) for c in colls]
    return jsonify({"DATA_TYPE": "endpoint_list", "DATA": docs})


def _cancel_doc(row: AdminCancel) -> dict:
    return {
        "DATA_TYPE": "admin_cancel",
        "id": row.id,
        "done": row.end_time is not None,
        "message": row.message,
        "start_time": iso(row.start_time),
        "end_time": iso(row.end_time),
        "task_id_list": row.task_id_list,
        "processed_task_id_list": row.processed_task_id_list,
    }


@bp.post("/endpoint_manager/admin_cancel")
def admin_cancel():
    who = caller()
    doc = body()
    task_ids = doc.get("task_id_list")
    message = doc.get("message") or ""
    if not isinstance(task_ids, list) or not task_ids or not isinstance(message, str):
        raise bad_request("task_id_list (a non-empty list) and message are required")
    sides = {}
    with state().db.session() as session:
        allowed = collections_with(session, who.identity_id, "activity_manager")
        for task_id in task_ids:
            task = visible_task(session, task_id, who, "activity_manager")
            src, dst = task.source_id in allowed, task.destination_id in allowed
            sides[task.id] = "BOTH" if src and dst else ("SOURCE" if src else "DESTINATION")
        row = AdminCancel(admin_id=who.identity_id, message=message, task_id_list=task_ids)
        session.add(row)
        session.flush()
        row_id = row.id
    engine = state().engine
    for task_id, side in sides.items():
        if engine is not None:
            engine.cancel(task_id, by_admin=side, message=message)
    with state().db.session() as session:
        row = session.get_one(AdminCancel, row_id)
        row.processed_task_id_list = list(sides)
        row.end_time = utcnow()
        session.flush()
        return jsonify(_cancel_doc(row))


@bp.get("/endpoint_manager/admin_cancel/<int:cancel_id>")
def get_admin_cancel(cancel_id):
    who = caller()
    with state().db.session() as session:
        row = session.get(AdminCancel, cancel_id)
        if row is None or row.admin_id != who.identity_id:
            raise TransferAPIError(404, "ClientError.NotFound", f"No admin cancel {cancel_id}")
        return jsonify(_cancel_doc(row))
