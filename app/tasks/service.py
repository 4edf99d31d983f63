"""Use cases of the activity area: the user's tasks, one task with its events and files,
cancel, and edit label and deadline. Always with the user's own token, so Globus itself
refuses someone else's task; the portal answers "not found" either way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from app import inputs
from app.errors import BadInput, NotFound, PermissionDenied
from app.formatting import day_start
from app.globus import tasks as globus_tasks
from app.globus.task_types import EventPage, MarkerPage, PauseInfo, Task, TaskPage

PAGE_SIZE = 25
EVENTS_PAGE_SIZE = 20
# The task page previews this many transferred files and skipped errors; their own pages
# show Globus's whole pages (up to 1000 each) with marker paging.
PREVIEW = 10
STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED")
TYPES = ("TRANSFER", "DELETE")
# task_list paging stops at 1000 results (LimitOffsetTotalPaginator, docs/globus-api.md B.0).
MAX_OFFSET = 1000


@dataclass(frozen=True)
class TaskFilters:
    status: str | None = None
    type: str | None = None
    label: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class TaskDetail:
    """Everything the task page shows."""

    task: Task
    events: EventPage
    successes: MarkerPage | None
    skipped: MarkerPage | None
    pause: PauseInfo | None


@contextmanager
def _own_task() -> Iterator[None]:
    # Globus answers 403 or 404 for another user's task; both read "not found" here,
    # so a task id from someone else reveals nothing.
    try:
        yield
    except PermissionDenied as error:
        raise NotFound("No such task.", request_id=error.request_id) from error


def _check_task_id(task_id: str) -> None:
    if not inputs.is_uuid(task_id):
        raise NotFound("No such task.")


def list_tasks(user_id: int, filters: TaskFilters, *, page: int = 1) -> TaskPage:
    """One page of the user's tasks, newest first, filtered at Globus."""
    last_page = max(1, MAX_OFFSET // PAGE_SIZE)
    offset = (max(1, min(page, last_page)) - 1) * PAGE_SIZE
    if filters.label and ("/" in filters.label or "," in filters.label):
        # '/' separates filter clauses and ',' values in Globus's filter syntax.
        raise BadInput("Label search cannot contain / or ,.")
    inputs.clean_label(filters.label)
    if filters.since and filters.until and filters.since > filters.until:
        raise BadInput("The start date is after the end date.")
    found = globus_tasks.task_list(
        user_id,
        limit=PAGE_SIZE,
        offset=offset,
        statuses=[filters.status] if filters.status in STATUSES else None,
        types=[filters.type] if filters.type in TYPES else None,
        label_contains=filters.label or None,
        requested_after=_time_filter(day_start(filters.since)),
        requested_before=_time_filter(day_start(filters.until, days=1)),
    )
    # Beyond MAX_OFFSET Globus pages no further: the last reachable page has no "next".
    return replace(found, total=min(found.total, MAX_OFFSET))


def recent_tasks(user_id: int, limit: int = 5) -> list[Task]:
    """The user's newest tasks, for the home page."""
    return globus_tasks.task_list(user_id, limit=limit).tasks


def get_task(user_id: int, task_id: str) -> Task:
    """One of the user's tasks."""
    _check_task_id(task_id)
    with _own_task():
        return globus_tasks.get_task(user_id, task_id)


def task_detail(user_id: int, task_id: str, *, events_offset: int = 0) -> TaskDetail:
    """The task, a page of its events, the first transferred files and skipped errors,
    and why it is paused when it is."""
    task = get_task(user_id, task_id)
    with _own_task():
        events = globus_tasks.task_event_list(
            user_id, task_id, limit=EVENTS_PAGE_SIZE, offset=max(0, events_offset)
        )
        successes = skipped = pause = None
        if task.is_transfer:
            successes = globus_tasks.task_successful_transfers(user_id, task_id)
            skipped = globus_tasks.task_skipped_errors(user_id, task_id)
        if task.is_paused or task.status == "INACTIVE":
            pause = globus_tasks.task_pause_info(user_id, task_id)
    return TaskDetail(task, events, successes, skipped, pause)


def task_files(user_id: int, task_id: str, kind: str, marker: str | None) -> MarkerPage:
    """One page of the task's transferred files (kind "transferred") or skipped errors."""
    _check_task_id(task_id)
    if marker is not None and not marker.isdigit():
        raise BadInput("That page marker is not valid.")
    read = (
        globus_tasks.task_successful_transfers
        if kind == "transferred"
        else globus_tasks.task_skipped_errors
    )
    with _own_task():
        return read(user_id, task_id, marker=marker)


def cancel_task(user_id: int, task_id: str) -> str:
    """Cancel the task; the message says whether it was canceled or had already ended."""
    _check_task_id(task_id)
    with _own_task():
        code, message = globus_tasks.cancel_task(user_id, task_id)
    if code == "TaskComplete":
        return message or "The task had already ended."
    return message or "The task was canceled."


def update_task(user_id: int, task_id: str, *, label: str | None, deadline: datetime | None) -> str:
    """Change a running task's label and deadline (the only fields Globus lets change)."""
    _check_task_id(task_id)
    inputs.clean_label(label)
    deadline = inputs.clean_deadline(deadline)
    deadline_text = None
    if deadline is not None:
        deadline_text = deadline.astimezone(UTC).isoformat(timespec="seconds")
    with _own_task():
        return globus_tasks.update_task(
            user_id, task_id, label=(label or "").strip() or None, deadline=deadline_text
        )


def _time_filter(moment: datetime | None) -> str | None:
    """A bound of Globus's request_time filter: UTC, without a zone."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None
