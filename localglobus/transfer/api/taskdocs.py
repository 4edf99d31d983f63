"""Queries and documents shared by the task routes and the endpoint manager: task_list
filters and ordering, task documents with live progress, event lists, successful
transfers, skipped errors."""

from __future__ import annotations

from flask import request
from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true
from sqlalchemy.orm import Session

from localglobus.errors import bad_request
from localglobus.transfer.api.arguments import int_arg
from localglobus.transfer.api.context import state
from localglobus.transfer.documents import task_doc
from localglobus.transfer.models import Task, TaskEvent, TaskFile
from localglobus.transfer.times import iso, naive, parse_time

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
    """`label:` values as globus-cli sends them (docs/globus-api.md B.7): `~glob` matches
    the whole label ignoring case, `*` any text; `=text` exactly; `!~glob` and `!text`
    their negations. Several values, comma-separated: any positive one, no negative one."""
    label = func.coalesce(Task.label, "")
    positive: list[ColumnElement[bool]] = []
    negative: list[ColumnElement[bool]] = []
    for item in (v for v in value.split(",") if v):
        if item.startswith("!~"):
            negative.append(func.lower(label).like(_glob(item[2:]), escape="\\"))
        elif item.startswith("~"):
            positive.append(func.lower(label).like(_glob(item[1:]), escape="\\"))
        elif item.startswith("!"):
            negative.append(label == item[1:])
        else:
            positive.append(label == (item[1:] if item.startswith("=") else item))
    clause = or_(*positive) if positive else true()
    return and_(clause, *[not_(n) for n in negative])


def _glob(pattern: str) -> str:
    """A `*` wildcard pattern as a LIKE pattern, lower case, LIKE's own wildcards literal."""
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


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


def read_doc(session: Session, task_id: str, manager: bool = False) -> dict:
    """The task document with the engine's not-yet-committed progress added."""
    engine = state().engine
    if engine is None:
        return task_doc(session, session.get_one(Task, task_id), manager=manager)
    with engine.reading(task_id) as live:
        session.expire_all()
        return task_doc(session, session.get_one(Task, task_id), live, manager=manager)


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
