"""Small typed wrappers for what Transfer's task endpoints return, with properties that
read like the UI (`task.percent_done`, `task.speed_display`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from app.formatting import human_size, parse_time

SYNC_LEVELS = {0: "exists", 1: "size", 2: "modified", 3: "checksum"}
DONE_STATUSES = ("SUCCEEDED", "FAILED")
STATUS_LABELS = {
    "ACTIVE": "Active",
    "INACTIVE": "Inactive",
    "SUCCEEDED": "Succeeded",
    "FAILED": "Failed",
}


def _int(doc: dict, key: str) -> int:
    value = doc.get(key)
    return value if isinstance(value, int) else 0


# Task counters: attribute -> field of the task document (docs/globus-api.md B.8); missing
# ones read as 0.
COUNTERS = {
    "files": "files",
    "directories": "directories",
    "files_transferred": "files_transferred",
    "files_skipped": "files_skipped",
    "bytes_transferred": "bytes_transferred",
    "bytes_checksummed": "bytes_checksummed",
    "bytes_per_second": "effective_bytes_per_second",
    "faults": "faults",
    "subtasks_total": "subtasks_total",
}
_SUBTASKS_DONE = ("succeeded", "skipped_errors")
# The options a transfer ran with, as the task page names them.
OPTIONS = {
    "verify_checksum": "Verify checksum",
    "preserve_timestamp": "Preserve timestamps",
    "encrypt_data": "Encrypt",
    "delete_destination_extra": "Delete extra files at the destination",
    "skip_source_errors": "Skip source errors",
    "fail_on_quota_errors": "Fail on quota errors",
}


@dataclass(frozen=True)
class Task:
    """A Transfer task (TRANSFER or DELETE) as `GET /task/<id>` and `task_list` send it."""

    task_id: str
    type: str
    status: str
    label: str | None
    source_id: str | None
    destination_id: str | None
    source_name: str | None
    destination_name: str | None
    request_time: datetime | None
    completion_time: datetime | None
    deadline: datetime | None
    files: int = 0
    directories: int = 0
    files_transferred: int = 0
    files_skipped: int = 0
    bytes_transferred: int = 0
    bytes_checksummed: int = 0
    bytes_per_second: int = 0
    faults: int = 0
    subtasks_total: int = 0
    subtasks_done: int = 0
    is_paused: bool = False
    nice_status: str | None = None
    nice_status_description: str | None = None
    fatal_error: dict | None = None
    canceled_by_admin: str | None = None
    canceled_by_admin_message: str | None = None
    sync_level: int | None = None
    options: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, doc: dict) -> Self:
        """Build from a task document."""
        return cls(
            task_id=str(doc.get("task_id", "")),
            type=doc.get("type") or "TRANSFER",
            status=doc.get("status") or "ACTIVE",
            label=doc.get("label"),
            source_id=doc.get("source_endpoint_id"),
            destination_id=doc.get("destination_endpoint_id"),
            source_name=doc.get("source_endpoint_display_name") or doc.get("source_endpoint"),
            destination_name=doc.get("destination_endpoint_display_name")
            or doc.get("destination_endpoint"),
            request_time=parse_time(doc.get("request_time")),
            completion_time=parse_time(doc.get("completion_time")),
            deadline=parse_time(doc.get("deadline")),
            **{name: _int(doc, key) for name, key in COUNTERS.items()},
            subtasks_done=sum(_int(doc, f"subtasks_{k}") for k in _SUBTASKS_DONE),
            is_paused=bool(doc.get("is_paused")),
            nice_status=doc.get("nice_status"),
            nice_status_description=doc.get("nice_status_short_description"),
            fatal_error=doc.get("fatal_error") or None,
            canceled_by_admin=doc.get("canceled_by_admin"),
            canceled_by_admin_message=doc.get("canceled_by_admin_message"),
            sync_level=doc.get("sync_level"),
            options={key: doc.get(key) for key in OPTIONS},
            raw=doc,
        )

    @property
    def is_active(self) -> bool:
        """Not finished yet: ACTIVE, or INACTIVE (suspended, may resume)."""
        return self.status not in DONE_STATUSES

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def is_transfer(self) -> bool:
        return self.type == "TRANSFER"

    @property
    def status_display(self) -> str:
        if self.is_paused and self.is_active:
            return "Paused"
        if self.status == "ACTIVE" and self.nice_status == "Queued":
            return "Queued"
        if self.status == "FAILED" and (self.fatal_error or {}).get("code") == "CANCELED":
            return "Canceled"
        return STATUS_LABELS.get(self.status, self.status.title())

    @property
    def status_detail(self) -> str | None:
        """Why a task is where it is: the fatal error, an admin cancel, a problem now."""
        if self.fatal_error:
            code = self.fatal_error.get("code", "")
            return self.fatal_error.get("description") or code or None
        if self.canceled_by_admin:
            return self.canceled_by_admin_message or "Canceled by an administrator"
        if self.nice_status not in (None, "OK", "Queued"):
            return self.nice_status_description or self.nice_status
        return None

    @property
    def percent_done(self) -> int | None:
        """0..100 of the work done, once Globus knows how much there is; None before.
        Files for a transfer (the counters a person recognises), subtasks for a delete."""
        if self.status == "SUCCEEDED":
            return 100
        if self.is_transfer and self.files > 0:
            done = self.files_transferred + self.files_skipped
            return min(100, done * 100 // self.files)
        if self.subtasks_total > 0:
            return min(100, self.subtasks_done * 100 // self.subtasks_total)
        return None

    @property
    def title(self) -> str:
        """The label, or a description of the task when it has none."""
        if self.label:
            return self.label
        kind = "Transfer" if self.is_transfer else "Delete"
        return f"{kind} {self.task_id[:8]}"

    @property
    def source_display(self) -> str:
        return self.source_name or self.source_id or "—"

    @property
    def destination_display(self) -> str:
        if not self.is_transfer:
            return "—"
        return self.destination_name or self.destination_id or "—"

    @property
    def bytes_display(self) -> str:
        return human_size(self.bytes_transferred)

    @property
    def speed_display(self) -> str:
        return f"{human_size(self.bytes_per_second)}/s"

    @property
    def files_display(self) -> str:
        """'3 of 10 files' (the total grows while Globus walks folders)."""
        noun = "file" if self.files == 1 else "files"
        return f"{self.files_transferred} of {self.files} {noun}"

    @property
    def sync_level_display(self) -> str:
        if self.sync_level is None:
            return "always transfer"
        return SYNC_LEVELS.get(self.sync_level, str(self.sync_level))

    @property
    def options_display(self) -> list[tuple[str, str]]:
        """(name, value) pairs for the options a transfer ran with."""
        if not self.is_transfer:
            return []
        shown = [("Sync level", self.sync_level_display)]
        for key, name in OPTIONS.items():
            value = self.options.get(key)
            shown.append((name, "—" if value is None else ("yes" if value else "no")))
        return shown


@dataclass(frozen=True)
class TaskPage:
    """One page of `task_list` (offset paging with a total)."""

    tasks: list[Task]
    offset: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.tasks) < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def number(self) -> int:
        """1 for the first page."""
        return self.offset // max(1, self.limit) + 1

    @property
    def previous_page(self) -> int:
        return max(1, self.number - 1)

    @property
    def next_page(self) -> int:
        return self.number + 1

    @property
    def first_number(self) -> int:
        """The position of the page's first task in the whole list (1-based)."""
        return self.offset + 1

    @property
    def last_number(self) -> int:
        return self.offset + len(self.tasks)


@dataclass(frozen=True)
class TaskEvent:
    """One entry of a task's event list (STARTED, PROGRESS, a fault, CANCELED...)."""

    code: str
    description: str
    details: str
    is_error: bool
    time: datetime | None

    @classmethod
    def from_api(cls, doc: dict) -> TaskEvent:
        return cls(
            code=doc.get("code") or "",
            description=doc.get("description") or "",
            details=doc.get("details") or "",
            is_error=bool(doc.get("is_error")),
            time=parse_time(doc.get("time")),
        )


@dataclass(frozen=True)
class EventPage:
    events: list[TaskEvent]
    offset: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.events) < self.total

    @property
    def newer_offset(self) -> int:
        """Where the page of newer events starts."""
        return max(0, self.offset - self.limit)

    @property
    def older_offset(self) -> int:
        return self.offset + self.limit


@dataclass(frozen=True)
class SuccessfulTransfer:
    source_path: str
    destination_path: str
    size: int | None = None
    checksum: str | None = None

    @classmethod
    def from_api(cls, doc: dict) -> SuccessfulTransfer:
        size = doc.get("size")
        return cls(
            source_path=doc.get("source_path") or "",
            destination_path=doc.get("destination_path") or "",
            size=size if isinstance(size, int) else None,
            checksum=doc.get("checksum"),
        )

    @property
    def size_display(self) -> str:
        return human_size(self.size)


@dataclass(frozen=True)
class SkippedError:
    source_path: str
    destination_path: str
    error_code: str
    error_details: str
    error_time: datetime | None
    is_directory: bool

    @classmethod
    def from_api(cls, doc: dict) -> SkippedError:
        return cls(
            source_path=doc.get("source_path") or "",
            destination_path=doc.get("destination_path") or "",
            error_code=doc.get("error_code") or "",
            error_details=doc.get("error_details") or "",
            error_time=parse_time(doc.get("error_time")),
            is_directory=bool(doc.get("is_directory")),
        )


@dataclass(frozen=True)
class MarkerPage:
    """A page of successful transfers or skipped errors; `next_marker` None means done."""

    items: list
    marker: str | None
    next_marker: str | None


@dataclass(frozen=True)
class PauseInfo:
    """Why a task is paused: the rules in force and the endpoints' messages."""

    messages: list[str]
    rules: list[str]

    @classmethod
    def from_api(cls, doc: dict) -> PauseInfo:
        keys = (
            "source_pause_message",
            "destination_pause_message",
            "source_pause_message_share",
            "destination_pause_message_share",
        )
        messages = [doc[k] for k in keys if doc.get(k)]
        rules = [
            r.get("message") or "Paused by an administrator" for r in doc.get("pause_rules") or []
        ]
        return cls(messages=messages, rules=rules)

    @property
    def is_empty(self) -> bool:
        return not (self.messages or self.rules)


@dataclass(frozen=True)
class SubmitResult:
    """What `POST /transfer` or `POST /delete` answered: "Accepted", or "Duplicate" for a
    submission_id Globus has already seen (task_id is then the original task)."""

    task_id: str
    submission_id: str
    code: str

    @classmethod
    def from_api(cls, doc: dict, submission_id: str) -> SubmitResult:
        return cls(
            task_id=str(doc["task_id"]),
            submission_id=str(doc.get("submission_id") or submission_id),
            code=str(doc.get("code") or "Accepted"),
        )
