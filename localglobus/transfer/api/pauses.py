"""Pausing tasks (docs/globus-api.md B.16): an activity manager's pause rules on a
collection (`endpoint_manager/pause_rule...`), explicit pauses and resumes of tasks
(`admin_pause`, `admin_resume`), and what a task owner sees (`task/<id>/pause_info`).
The engine holds paused tasks (localglobus/transfer/holds.py)."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import holds
from localglobus.transfer.api.arguments import body
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller, state
from localglobus.transfer.api.lookup import collections_with, own_task, visible_task
from localglobus.transfer.api.responses import result
from localglobus.transfer.models import Collection, PauseRule, Task
from localglobus.transfer.times import iso, naive, parse_time

MANAGER = "activity_manager"


def rule_doc(session: Session, rule: PauseRule, who_id: str | None, limited: bool = False) -> dict:
    coll = session.get(Collection, rule.endpoint_id)
    doc = {
        "DATA_TYPE": "pause_rule_limited" if limited else "pause_rule",
        "id": rule.id,
        "message": rule.message,
        "start_time": iso(rule.start_time) if rule.start_time else None,
        "endpoint_id": rule.endpoint_id,
        "endpoint_display_name": coll.display_name if coll is not None else None,
        "identity_id": rule.identity_id,
        **{f"pause_{op}": bool(rule.operations.get(op)) for op in holds.PAUSE_OPERATIONS},
    }
    if not limited:
        editable = coll is not None and who_id is not None and _manages(session, coll, who_id)
        doc.update(
            modified_by_id=rule.modified_by_id, created_by_host_manager=False, editable=editable
        )
    return doc


def _manages(session: Session, coll: Collection, identity_id: str) -> bool:
    return coll.id in collections_with(session, identity_id, MANAGER)


def _managed_collection(session: Session, endpoint_id, who) -> Collection:
    coll = session.get(Collection, str(endpoint_id or ""))
    if coll is None:
        raise TransferAPIError(404, "EndpointNotFound", f"No such endpoint '{endpoint_id}'")
    if not _manages(session, coll, who.identity_id):
        raise TransferAPIError(
            403,
            "PermissionDenied",
            f"You need the activity_manager role on '{coll.display_name}' to pause its tasks",
        )
    return coll


def _apply(rule: PauseRule, doc: dict, creating: bool) -> None:
    """Set a rule's fields from a pause_rule document; fields it lacks keep their value
    (a new rule pauses every operation unless told otherwise, as Globus's do)."""
    if "message" in doc or creating:
        message = doc.get("message")
        if not isinstance(message, str) or not message.strip():
            raise bad_request("A pause rule needs a message (users see it)")
        rule.message = message.strip()
    if "start_time" in doc:
        start = doc["start_time"]
        rule.start_time = naive(parse_time(start, "start_time")) if start else None
    if "identity_id" in doc and creating:
        identity = doc["identity_id"]
        if identity is not None and not isinstance(identity, str):
            raise bad_request("identity_id must be an identity id or null")
        rule.identity_id = identity
    operations = dict(rule.operations or {})
    for op in holds.PAUSE_OPERATIONS:
        key = f"pause_{op}"
        if key in doc:
            if not isinstance(doc[key], bool):
                raise bad_request(f"{key} must be true or false")
            operations[op] = doc[key]
        elif creating:
            operations[op] = True
    rule.operations = operations


@bp.get("/endpoint_manager/pause_rule_list")
def pause_rule_list():
    who = caller()
    with state().db.session() as session:
        managed = collections_with(session, who.identity_id, "activity_monitor")
        wanted = [e for e in (request.args.get("filter_endpoint") or "").split(",") if e]
        ids = managed & set(wanted) if wanted else managed
        rules = session.scalars(
            select(PauseRule).where(PauseRule.endpoint_id.in_(ids)).order_by(PauseRule.id)
        ).all()
        docs = [rule_doc(session, r, who.identity_id) for r in rules]
    return jsonify({"DATA_TYPE": "pause_rule_list", "DATA": docs})


@bp.post("/endpoint_manager/pause_rule")
def create_pause_rule():
    who = caller()
    doc = body()
    with state().db.session() as session:
        coll = _managed_collection(session, doc.get("endpoint_id"), who)
        rule = PauseRule(endpoint_id=coll.id, modified_by_id=who.identity_id, operations={})
        _apply(rule, doc, creating=True)
        session.add(rule)
        session.flush()
        return jsonify(rule_doc(session, rule, who.identity_id))


def _rule(session: Session, rule_id: str, who, manage: bool) -> PauseRule:
    rule = session.get(PauseRule, str(rule_id))
    role = MANAGER if manage else "activity_monitor"
    if rule is None or rule.endpoint_id not in collections_with(session, who.identity_id, role):
        raise TransferAPIError(404, "ClientError.NotFound", f"No pause rule '{rule_id}'")
    return rule


@bp.get("/endpoint_manager/pause_rule/<rule_id>")
def get_pause_rule(rule_id):
    who = caller()
    with state().db.session() as session:
        return jsonify(rule_doc(session, _rule(session, rule_id, who, False), who.identity_id))


@bp.put("/endpoint_manager/pause_rule/<rule_id>")
def update_pause_rule(rule_id):
    who = caller()
    doc = body()
    with state().db.session() as session:
        rule = _rule(session, rule_id, who, True)
        _apply(rule, doc, creating=False)
        rule.modified_by_id = who.identity_id
        return jsonify(rule_doc(session, rule, who.identity_id))


@bp.delete("/endpoint_manager/pause_rule/<rule_id>")
def delete_pause_rule(rule_id):
    who = caller()
    with state().db.session() as session:
        session.delete(_rule(session, rule_id, who, True))
    return result("Deleted", f"Pause rule {rule_id} deleted successfully")


def _task_ids() -> tuple[list[str], dict]:
    doc = body()
    task_ids = doc.get("task_id_list")
    if (
        not isinstance(task_ids, list)
        or not task_ids
        or not all(isinstance(t, str) for t in task_ids)
    ):
        raise bad_request("task_id_list (a non-empty list of task ids) is required")
    return task_ids, doc


@bp.post("/endpoint_manager/admin_pause")
def admin_pause():
    """Pause tasks on the sides the caller manages; the owner sees the message."""
    who = caller()
    task_ids, doc = _task_ids()
    message = doc.get("message")
    if not isinstance(message, str) or not message.strip():
        raise bad_request("A message is required: the task owner sees it")
    with state().db.session() as session:
        managed = collections_with(session, who.identity_id, MANAGER)
        for task_id in task_ids:
            task = visible_task(session, task_id, who, MANAGER)
            if task.status not in ("ACTIVE", "INACTIVE"):
                continue
            if task.source_id in managed:
                task.source_pause_message = message.strip()
            if task.destination_id in managed:
                task.destination_pause_message = message.strip()
    return jsonify({"DATA_TYPE": "admin_pause", "task_id_list": task_ids, "message": message})


@bp.post("/endpoint_manager/admin_resume")
def admin_resume():
    """Lift explicit pauses on the sides the caller manages (pause rules stay)."""
    who = caller()
    task_ids, _doc = _task_ids()
    with state().db.session() as session:
        managed = collections_with(session, who.identity_id, MANAGER)
        for task_id in task_ids:
            task = visible_task(session, task_id, who, MANAGER)
            if task.source_id in managed:
                task.source_pause_message = None
            if task.destination_id in managed:
                task.destination_pause_message = None
    return jsonify({"DATA_TYPE": "admin_resume", "task_id_list": task_ids})


def pause_info_doc(session: Session, task: Task) -> dict:
    """`pause_info`: the explicit pause messages and the rules in force on the task."""
    rules = holds.task_pause_rules(session, task) if task.status in ("ACTIVE", "INACTIVE") else []
    src = session.get(Collection, task.source_id)
    dst = session.get(Collection, task.destination_id) if task.destination_id else None

    def share(message: str | None, coll: Collection | None) -> tuple[str | None, str | None]:
        # A pause of a guest collection's task is reported as the share's.
        if coll is not None and coll.is_guest:
            return None, message
        return message, None

    source, source_share = share(task.source_pause_message, src)
    destination, destination_share = share(task.destination_pause_message, dst)
    return {
        "DATA_TYPE": "pause_info_limited",
        "pause_rules": [rule_doc(session, r, None, limited=True) for r in rules],
        "source_pause_message": source,
        "destination_pause_message": destination,
        "source_pause_message_share": source_share,
        "destination_pause_message_share": destination_share,
    }


@bp.get("/task/<task_id>/pause_info")
def pause_info(task_id):
    who = caller()
    with state().db.session() as session:
        task = own_task(session, task_id, who.identity_id)
        return jsonify(pause_info_doc(session, task))


@bp.get("/endpoint_manager/task/<task_id>/pause_info")
def manager_pause_info(task_id):
    who = caller()
    with state().db.session() as session:
        task = visible_task(session, task_id, who)
        return jsonify(pause_info_doc(session, task))
