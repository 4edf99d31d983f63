"""The endpoint manager API at Globus (docs/globus-api.md B.13: activity_monitor /
activity_manager roles): the tasks of all users that touch a collection, a task's events,
and admin cancel."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from app.globus.admin_types import Outcome, request_id_of
from app.globus.client import transfer_client
from app.globus.errors import calling_globus
from app.globus.task_types import Task, TaskEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class MonitoredTask(Task):
    """A task seen through the endpoint manager: anyone's, with who owns it."""

    owner_id: str = ""
    owner_string: str = ""

    @classmethod
    def from_api(cls, doc: dict) -> MonitoredTask:
        """A Task, plus the owner the endpoint manager reports."""
        task = super().from_api(doc)
        return dataclasses.replace(
            task,
            owner_id=doc.get("owner_id") or "",
            owner_string=doc.get("owner_string") or doc.get("username") or "",
        )

    @property
    def is_running(self) -> bool:
        """ACTIVE or INACTIVE: an admin may still cancel it."""
        return self.status in ("ACTIVE", "INACTIVE")

    def touches(self, collection_id: str) -> bool:
        """True when the collection is the task's source or destination."""
        return collection_id in (self.source_id, self.destination_id)

    def snapshot(self) -> dict:
        """What the audit log keeps of the task (before/after)."""
        return {
            "task_id": self.task_id,
            "status": self.status,
            "owner": self.owner_string or self.owner_id,
            "label": self.label,
            "canceled_by_admin": self.canceled_by_admin,
        }


@dataclass(frozen=True)
class MonitoredTaskFilters:
    """The endpoint manager task list's filters, as the activity page offers them."""

    statuses: tuple[str, ...] = ()
    owner_id: str | None = None
    completed_after: datetime | None = None
    completed_before: datetime | None = None
    is_paused: bool | None = None


def _time_param(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value else ""


def monitored_tasks(
    user_id: int, collection_id: str, filters: MonitoredTaskFilters, last_key: str | None = None
) -> tuple[list[MonitoredTask], str | None]:
    """GET /endpoint_manager/task_list?filter_endpoint=<collection>: one page and the
    `last_key` of the next one (None at the end)."""
    params: dict = {"filter_endpoint": collection_id}
    if filters.statuses:
        params["filter_status"] = list(filters.statuses)
    if filters.owner_id:
        params["filter_owner_id"] = filters.owner_id
    if filters.is_paused is not None:
        params["filter_is_paused"] = filters.is_paused
    if filters.completed_after or filters.completed_before:
        params["filter_completion_time"] = (
            f"{_time_param(filters.completed_after)},{_time_param(filters.completed_before)}"
        )
    if last_key:
        params["last_key"] = last_key
    with calling_globus():
        response = transfer_client(user_id).endpoint_manager_task_list(
            **params, query_params={"limit": PAGE_SIZE}
        )
    tasks = [MonitoredTask.from_api(doc) for doc in response.get("DATA", [])]
    next_key = response.get("last_key") if response.get("has_next_page") else None
    return tasks, next_key


def monitored_task(user_id: int, task_id: str) -> MonitoredTask:
    """GET /endpoint_manager/task/<id>."""
    with calling_globus():
        response = transfer_client(user_id).endpoint_manager_get_task(task_id)
    return MonitoredTask.from_api(response.data)


def monitored_task_events(user_id: int, task_id: str, limit: int = 100) -> list[TaskEvent]:
    """GET /endpoint_manager/task/<id>/event_list (newest first, as Globus sends them)."""
    with calling_globus():
        response = transfer_client(user_id).endpoint_manager_task_event_list(task_id, limit=limit)
    return [TaskEvent.from_api(doc) for doc in response.get("DATA", [])]


def admin_cancel(user_id: int, task_id: str, message: str) -> Outcome:
    """POST /endpoint_manager/admin_cancel for one task; `new_id` is the admin cancel id."""
    with calling_globus():
        response = transfer_client(user_id).endpoint_manager_cancel_tasks([task_id], message)
    data = response.data if isinstance(response.data, dict) else {}
    cancel_id = data.get("id")
    return Outcome(
        code="Done" if data.get("done") else "CancelAccepted",
        new_id=str(cancel_id) if cancel_id is not None else None,
        request_id=request_id_of(response),
        message=data.get("message"),
    )
