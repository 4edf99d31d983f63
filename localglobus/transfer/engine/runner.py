"""One task's run: expand, work through the pending records, finish; resumable at any
point because progress is only counted when the records it covers are committed."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from localglobus.db import as_utc, utcnow
from localglobus.transfer import holds
from localglobus.transfer.engine import expand
from localglobus.transfer.engine.copier import CopyError, Stopped
from localglobus.transfer.engine.work import CONCURRENCY, Fatal, Worker
from localglobus.transfer.models import Collection, Task, TaskEvent, TaskFile

log = logging.getLogger("localglobus.transfer")
FLUSH_SECONDS = 0.5
FLUSH_ROWS = 2000
PAGE = 2000
# How often a running task looks again at what may hold it (a gateway rule changed, a
# pause, a server down): it stops within about this long, as a new GridFTP session would.
GATE_SECONDS = 1.0
_SUBTASK_FIELDS = ("succeeded", "failed", "canceled", "expired", "skipped_errors")
_ROW_COLUMNS = (
    TaskFile.id,
    TaskFile.seq,
    TaskFile.kind,
    TaskFile.source_path,
    TaskFile.destination_path,
    TaskFile.checksum_algorithm,
    TaskFile.external_checksum,
)
ENDINGS = {
    "canceled": ("CANCELED", "canceled", "subtasks_canceled"),
    "expired": ("EXPIRED", "deadline expired", "subtasks_expired"),
}


class Runner:
    """Runs one task in a worker thread of the engine."""

    def __init__(self, engine, task_id: str, owner_id: str = ""):
        self.engine = engine
        self.db = engine.db
        self.task_id = task_id
        self.lock = threading.Lock()  # guards the unflushed state below
        self.cancel = threading.Event()
        self.delta: dict[str, int] = {}
        self.updates: list[dict] = []
        self.events: list[dict] = []
        self.current = 0  # bytes of the file being copied right now
        self.last_flush = time.monotonic()
        self.deadline = 0.0
        self.thread: threading.Thread | None = None
        self.owner_id = owner_id  # empty for a runner that only ends an idle task
        self.resumed = False
        self.worker: Worker | None = None
        self.last_gate = 0.0
        self.held: str | None = None  # the kind of hold the task is in (holds.Hold.kind)
        self.slow_seconds = 0.0  # a slow collection's least time per file

    # -- what the HTTP side reads -------------------------------------------------------
    def live(self) -> dict:
        """Counters not committed yet, to add to the task row (call under `lock`)."""
        live = dict(self.delta)
        live["bytes_transferred"] = live.get("bytes_transferred", 0) + self.current
        return live

    def expired(self) -> bool:
        return time.time() >= self.deadline

    def should_stop(self) -> bool:
        return self.cancel.is_set() or self.engine.stopping.is_set() or self.expired()

    # -- recording ----------------------------------------------------------------------
    def count(self, **deltas) -> None:
        with self.lock:
            self.add(deltas)

    def add(self, deltas: dict) -> None:
        """Add to the uncommitted counters (hold `lock`; a plain dict: this runs per file)."""
        delta = self.delta
        for name, value in deltas.items():
            delta[name] = delta.get(name, 0) + value

    def mark(self, row_id: int, state: str, **fields) -> None:
        with self.lock:
            self.updates.append({"id": row_id, "state": state, **fields})

    def event(self, code: str, description: str, details: str = "", is_error: bool = False):
        with self.lock:
            self.events.append(
                {
                    "task_id": self.task_id,
                    "time": utcnow(),
                    "code": code,
                    "description": description,
                    "details": details,
                    "is_error": is_error,
                }
            )

    def maybe_flush(self) -> None:
        if len(self.updates) >= FLUSH_ROWS or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self, final: dict | None = None, rest_to: str | None = None) -> None:
        """Commit row states, counter deltas and events together, so that a crash never
        leaves counters that disagree with the records."""
        with self.lock, self.db.session() as session:
            if self.updates:
                _update_rows(session, self.updates)
            if self.events:
                session.execute(insert(TaskEvent), self.events)
            task = session.get(Task, self.task_id)
            for name, value in self.delta.items():
                setattr(task, name, getattr(task, name) + value)
            if rest_to:
                done = sum(getattr(task, f"subtasks_{f}") for f in _SUBTASK_FIELDS)
                setattr(task, rest_to, getattr(task, rest_to) + max(task.subtasks_total - done, 0))
            for name, value in (final or {}).items():
                setattr(task, name, value)
            self.deadline = as_utc(task.deadline).timestamp()
            self.updates, self.events, self.delta = [], [], {}
            self.last_flush = time.monotonic()

    # -- the run ------------------------------------------------------------------------
    def run(self) -> None:
        try:
            try:
                self._run()
            finally:
                if self.worker is not None:
                    self.worker.stop()  # no copy in flight while the run is recorded
        except Stopped:
            if self.cancel.is_set():
                self.finish("canceled")
            elif not self.engine.stopping.is_set() and self.expired():
                self.finish("expired")
            else:
                self.flush()  # the engine stops: the task resumes at the next start
        except Fatal as exc:
            self.fail(exc.error)
        except Exception as exc:  # a bug must not leave the task ACTIVE forever
            log.exception("task %s crashed", self.task_id)
            self.fail(CopyError("ENDPOINT_ERROR", "internal error", "destination", repr(exc)))

    def _run(self) -> None:
        with self.db.session() as session:
            task = session.get(Task, self.task_id)
            if task is None or task.status != "ACTIVE":
                return
            self.deadline = as_utc(task.deadline).timestamp()
            if task.cancel_requested:
                raise Stopped
            if self.expired():
                raise Stopped
            # A task that already started was interrupted (crash or stop): it may have
            # left temporary files behind, swept when it ends.
            self.resumed = task.start_time is not None
            if task.start_time is None:
                task.start_time = utcnow()
                kind = "Transfer" if task.type == "TRANSFER" else "Delete"
                concurrency = CONCURRENCY if task.type == "TRANSFER" else 1
                session.add(
                    TaskEvent(
                        task_id=task.id,
                        code="STARTED",
                        description="started",
                        details=json.dumps({"type": f"Local {kind}", "concurrency": concurrency}),
                    )
                )
            task.phase, task.nice_status = "running", "OK"
            src = session.get(Collection, task.source_id)
            dst = session.get(Collection, task.destination_id) if task.destination_id else None
            session.expunge_all()
        self.gate()
        worker = self.worker = Worker(self, task, src, dst)
        if not task.expanded:
            self.expand(task, worker)
        last = -1
        while True:
            with self.db.session() as session:
                # Plain rows, not ORM objects: this loop runs once per file.
                rows = session.execute(
                    select(*_ROW_COLUMNS)
                    .where(
                        TaskFile.task_id == task.id,
                        TaskFile.state == "pending",
                        TaskFile.seq > last,
                    )
                    .order_by(TaskFile.seq)
                    .limit(PAGE)
                ).all()
            if not rows:
                break
            for row in rows:
                last = row.seq
                if self.should_stop():
                    raise Stopped
                if time.monotonic() - self.last_gate >= GATE_SECONDS:
                    self.gate()
                if self.slow_seconds:
                    self.cancel.wait(self.slow_seconds)
                worker.process(row)
                self.maybe_flush()
        worker.finish()
        self.finish("succeeded")

    def gate(self) -> None:
        """Go on only when nothing holds the task (localglobus/transfer/holds.py), as GCSv5
        logs in for every session. A fault (server down, login refused) counts and is
        logged at each attempt, retried every `fault_retry_seconds`; a pause keeps the
        task ACTIVE with `is_paused`; expired credentials make it INACTIVE. Cancel and
        the deadline still end it (docs/globus-api.md B.15, B.16)."""
        settings = self.engine.settings
        server = f"{settings.host}:{settings.port}"
        while True:
            with self.db.session() as session:
                task = session.get_one(Task, self.task_id)
                hold = holds.task_hold(session, task, server)
                colls = [
                    c
                    for cid in (task.source_id, task.destination_id)
                    if cid and (coll := session.get(Collection, cid)) is not None
                    for c in holds.collections_of(session, coll)
                ]
                self.slow_seconds = max((c.slow_seconds or 0.0 for c in colls), default=0.0)
            self.last_gate = time.monotonic()
            if self.held is not None and (hold is None or hold.kind != self.held):
                self.release()
            if hold is None:
                return
            if self.worker is not None:
                # The files in flight finish first: nothing moves while the task is held.
                self.worker.drain()
            wait = self.hold(hold)
            until = time.monotonic() + wait
            while time.monotonic() < until:
                if self.should_stop():
                    raise Stopped
                self.cancel.wait(min(0.1, max(until - time.monotonic(), 0)))

    def hold(self, hold: holds.Hold) -> float:
        """Record a hold; how long to wait before looking again."""
        if hold.kind == "fault":
            self.held = "fault"
            self.count(faults=1)
            self.event(hold.code, hold.description, hold.details, is_error=True)
            self.flush({"nice_status": hold.code})
            return self.engine.settings.fault_retry_seconds
        if self.held != hold.kind:
            self.held = hold.kind
            self.event(hold.code, hold.description, hold.details, is_error=hold.kind != "paused")
            final: dict[str, Any] = {"nice_status": hold.code}
            if hold.kind == "paused":
                # As Globus: a paused task's deadline is 90 days after the pause.
                final.update(is_paused=True, deadline=utcnow() + timedelta(days=90))
            else:
                final["status"] = "INACTIVE"
            self.flush(final)
        return GATE_SECONDS

    def release(self) -> None:
        """What held the task is gone: it goes on."""
        final: dict[str, Any] = {"nice_status": "OK"}
        if self.held == "paused":
            self.event("UNPAUSED", "unpaused", "The task goes on.")
            # As Globus: 24 hours after the unpause.
            final.update(is_paused=False, deadline=utcnow() + timedelta(hours=24))
        elif self.held == "inactive":
            final.update(status="ACTIVE", credentials_expired_at=None)
        self.held = None
        self.flush(final)

    def expand(self, task: Task, worker: Worker) -> None:
        if task.type == "TRANSFER":
            plan = expand.plan_transfer(task, worker.src_root, worker.destination_root())
        else:
            plan = expand.plan_delete(task, worker.src_root)
        skipped = []
        for error in plan.errors:
            skip = task.type == "TRANSFER" and task.options.get("skip_source_errors")
            if not skip or error.code not in ("FILE_NOT_FOUND", "PERMISSION_DENIED"):
                self.record_fault(error.code, error.description, error.source_path)
                raise Fatal(CopyError(error.code, error.description, "source"))
            self.record_fault(error.code, error.description, error.source_path)
            skipped.append(
                {
                    "kind": "dir" if error.is_directory else "file",
                    "source_path": error.source_path,
                    "destination_path": error.destination_path,
                    "size": 0,
                    "state": "skipped",
                    "error_code": error.code,
                    "error_details": error.description,
                    "error_time": utcnow(),
                }
            )
        # One executemany needs the same keys in every row.
        blank = dict.fromkeys(
            ("external_checksum", "checksum_algorithm", "error_code", "error_details", "error_time")
        )
        rows = [
            {"task_id": task.id, "seq": seq, "state": "pending", **blank, **row}
            for seq, row in enumerate(plan.rows + skipped)
        ]
        items = len(task.items)
        with self.lock, self.db.session() as session:
            session.query(TaskFile).filter(TaskFile.task_id == task.id).delete()
            if rows:
                session.execute(insert(TaskFile), rows)
            row = session.get(Task, task.id)
            row.files, row.directories, row.symlinks = plan.files, plan.directories, plan.symlinks
            row.expanded = True
            if task.type == "TRANSFER":
                row.subtasks_total = items + len(plan.rows)
                row.subtasks_succeeded = items - len(skipped)
                row.subtasks_skipped_errors = len(skipped)
            else:
                row.subtasks_total = items
            row.faults += self.delta.pop("faults", 0)
            if self.events:
                session.execute(insert(TaskEvent), self.events)
                self.events = []

    def record_fault(
        self, code: str, description: str, path: str | None, details: str | None = None
    ) -> None:
        """One fault and its event; `details` is what the data server said, if anything."""
        self.count(faults=1)
        text = f"{description}\nFile: {path}" + (f"\n{details}" if details else "")
        self.event(code, description.lower(), text, is_error=True)

    def fail(self, error: CopyError) -> None:
        self.count(subtasks_failed=1)
        self.finish("failed", {"code": error.code, "description": error.description})

    def finish(self, how: str, fatal: dict | None = None) -> None:
        final: dict[str, Any] = {
            "phase": "done",
            "nice_status": None,
            "subtasks_retrying": 0,
            "completion_time": utcnow(),
        }
        rest_to = None
        if how == "succeeded":
            final["status"] = "SUCCEEDED"
            with self.db.session() as session:
                task = session.get(Task, self.task_id)
                if task.type == "DELETE":
                    self.count(subtasks_succeeded=len(task.items))
                details = {
                    "files_succeeded": task.files_transferred
                    + self.delta.get("files_transferred", 0),
                    "files_skipped": task.files_skipped + self.delta.get("files_skipped", 0),
                }
            self.event("SUCCEEDED", "succeeded", json.dumps(details))
        elif how in ENDINGS:
            code, description, rest_to = ENDINGS[how]
            final.update(status="FAILED", fatal_error={"code": code, "description": description})
            reason = "Canceled by the task owner" if how == "canceled" else "deadline expired"
            with self.db.session() as session:
                task = session.get(Task, self.task_id)
                if task.canceled_by_admin:
                    reason = f"Canceled by an administrator: {task.canceled_by_admin_message}"
            self.event(code, description, reason, is_error=True)
        else:
            final.update(status="FAILED", fatal_error=fatal)
            rest_to = "subtasks_canceled"
        self.current = 0
        self.flush(final, rest_to)
        if self.resumed and self.worker is not None:
            self.worker.sweep_temporaries()


def _update_rows(session, updates: list[dict]) -> None:
    """The batch as a few executemany calls, one per set of fields written."""
    # A mapped class's table is a Table; SQLAlchemy's stubs only promise a FromClause.
    table = cast(Table, TaskFile.__table__)
    groups: dict[tuple, list[dict]] = {}
    for row in updates:
        fields = tuple(sorted(k for k in row if k != "id"))
        groups.setdefault(fields, []).append(row)
    for fields, rows in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in fields})
        )
        session.execute(
            statement,
            [{"row_id": r["id"], **{f"new_{n}": r[n] for n in fields}} for r in rows],
        )
