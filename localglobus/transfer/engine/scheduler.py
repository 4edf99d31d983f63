"""The task engine: worker threads inside the localglobus process that run queued tasks,
a few per user at a time as on Globus, and resume every ACTIVE task after a restart.

The HTTP side only writes tasks to the database and calls `wake`, `cancel`, `live`.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import select

from localglobus.db import as_utc, utcnow
from localglobus.transfer.engine.runner import Runner
from localglobus.transfer.models import Task

log = logging.getLogger("localglobus.transfer")
MAX_RUNNING = 16
POLL_SECONDS = 0.5


class Engine:
    def __init__(self, settings, db, max_running: int = MAX_RUNNING):
        self.settings = settings
        self.db = db
        self.max_running = max_running
        self.per_user = max(1, settings.tasks_per_user)
        self.lock = threading.Lock()  # guards `runners` and starting/ending tasks
        self.runners: dict[str, Runner] = {}
        self.stopping = threading.Event()
        self._wakeup = threading.Event()
        self._dispatcher: threading.Thread | None = None

    def start(self) -> None:
        self._dispatcher = threading.Thread(target=self._loop, name="lg-dispatcher", daemon=True)
        self._dispatcher.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop taking work; running tasks commit their progress and stay ACTIVE."""
        self.stopping.set()
        self._wakeup.set()
        with self.lock:
            threads = [r.thread for r in self.runners.values() if r.thread]
        for thread in threads:
            thread.join(timeout)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout)

    def wake(self) -> None:
        self._wakeup.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.dispatch()
            except Exception:  # keep dispatching whatever one pass met
                log.exception("dispatch failed")
            self._wakeup.wait(POLL_SECONDS)
            self._wakeup.clear()

    def dispatch(self) -> None:
        """Start the oldest waiting tasks that fit the per-user and global limits; end
        waiting tasks that were canceled or whose deadline passed."""
        with self.db.session() as session:
            waiting = session.execute(
                select(Task.id, Task.owner_id, Task.deadline, Task.cancel_requested)
                .where(Task.status.in_(("ACTIVE", "INACTIVE")))
                .order_by(Task.request_time, Task.id)
            ).all()
        now = utcnow()
        with self.lock:
            if self.stopping.is_set():
                return
            busy: dict[str, int] = {}
            for runner in self.runners.values():
                busy[runner.owner_id] = busy.get(runner.owner_id, 0) + 1
            for task_id, owner_id, deadline, cancel in waiting:
                if task_id in self.runners:
                    continue
                if cancel or as_utc(deadline) <= now:
                    self._finish_idle(task_id, "canceled" if cancel else "expired")
                    continue
                if len(self.runners) >= self.max_running or busy.get(owner_id, 0) >= self.per_user:
                    continue
                busy[owner_id] = busy.get(owner_id, 0) + 1
                self._start(task_id, owner_id)

    def _start(self, task_id: str, owner_id: str) -> None:
        runner = Runner(self, task_id, owner_id)
        runner.thread = threading.Thread(
            target=self._run, args=(runner,), name=f"lg-task-{task_id[:8]}", daemon=True
        )
        self.runners[task_id] = runner
        runner.thread.start()

    def _run(self, runner: Runner) -> None:
        try:
            runner.run()
        finally:
            with self.lock:
                self.runners.pop(runner.task_id, None)
            self.wake()  # the owner's next queued task may start now

    def _finish_idle(self, task_id: str, how: str) -> None:
        """End a task that is not running (call with `lock` held)."""
        runner = Runner(self, task_id)
        runner.finish(how)

    # -- called from HTTP handlers ------------------------------------------------------
    def cancel(self, task_id: str, by_admin: str | None = None, message: str = "") -> str:
        """Cancel a task: "Canceled", or "TaskComplete" if it had already ended."""
        with self.lock:
            with self.db.session() as session:
                task = session.get(Task, task_id)
                if task is None or task.status not in ("ACTIVE", "INACTIVE"):
                    return "TaskComplete"
                task.cancel_requested = "admin" if by_admin else "owner"
                if by_admin:
                    task.canceled_by_admin = by_admin
                    task.canceled_by_admin_message = message
            runner = self.runners.get(task_id)
            if runner is None:
                self._finish_idle(task_id, "canceled")
                return "Canceled"
            runner.cancel.set()
            thread = runner.thread
        # The runner checks its flag between chunks of at most a few MiB.
        if thread is not None:
            thread.join(10)
        return "Canceled"

    @contextlib.contextmanager
    def reading(self, task_id: str):
        """Hold a task's counters still while a document is built; yields the live
        (uncommitted) counters to add to the row read inside the block."""
        runner = self.runners.get(task_id)
        if runner is None:
            yield {}
            return
        with runner.lock:
            yield runner.live()
