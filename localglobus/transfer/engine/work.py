"""What each kind of task record does on disk, and how its errors are handled
(skipped with skip_source_errors, retried for quota unless fail_on_quota_errors, fatal
otherwise).

A transfer copies several files at once, as Globus does (its `concurrency`): the runner
hands the file records to `CONCURRENCY` copy threads through a bounded queue and goes on
reading records and committing progress meanwhile. Copying is mostly system calls, which
release the GIL, so the threads overlap one another's waits and the runner's database
work. Every other record waits for the files in flight first (a directory record only
creates a directory, which file copies also do, so it does not), and so does the end of
the task; the first fatal error (or stop) ends the other copies at their next chunk.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time

from sqlalchemy import select

from localglobus.db import utcnow
from localglobus.transfer import holds, paths
from localglobus.transfer.engine.copier import CopyError, Stopped, classify, copy_file
from localglobus.transfer.models import Collection, TaskFile

QUOTA_RETRY_SECONDS = (1, 2, 5, 10, 30)
# How often a destination with a quota (`localglobus fault quota`) is measured again.
QUOTA_CHECK_SECONDS = 1.0
CONCURRENCY = 4  # files in flight per transfer task (Globus endpoints: at most 4)
QUEUE_ROWS = 64  # file records handed over but not started yet


class Fatal(Exception):
    def __init__(self, error: CopyError):
        super().__init__(error.description)
        self.error = error


def _named(vpath: str | None, side: str) -> str:
    """A record's path on `side`: every record kind sets the paths it is processed with."""
    if vpath is None:
        raise CopyError("ENDPOINT_ERROR", f"the record has no {side} path", side)
    return vpath


class Worker:
    def __init__(self, runner, task, src, dst):
        self.runner = runner
        self.task = task
        self.opts = task.options or {}
        self.src_root = paths.real_root(src.root_path)
        self.dst_root = paths.real_root(dst.root_path) if dst else None
        self.dst_id = dst.id if dst else None
        self.quota_checked = 0.0
        self.quota_full: str | None = None  # the data server's answer while it is full
        # Directories already checked to be inside their root (realpath is costly).
        self.src_dirs: dict[str, str] = {}
        self.dst_dirs: dict[str, str] = {}
        self.sync_level = self.opts.get("sync_level")
        self.verify = bool(self.opts.get("verify_checksum"))
        self.preserve = bool(self.opts.get("preserve_timestamp"))
        # Copy threads, started with the first file records (see the module's docstring).
        self.concurrency = CONCURRENCY if task.type == "TRANSFER" else 1
        self.queue: queue.Queue | None = None
        self.threads: list[threading.Thread] = []
        self.error: BaseException | None = None  # the first one a copy thread met
        self.abort = threading.Event()  # set with `error`: the other copies stop
        self.retry_lock = threading.Lock()
        self.retrying = 0  # records waiting out a quota error

    # -- directory resolution -----------------------------------------------------------
    def _dir(self, cache: dict, root: str, vpath: str, create: bool, side: str) -> str:
        real = cache.get(vpath)
        if real is not None:
            return real
        try:
            real = paths.resolve(root, vpath)
        except paths.PathRefused as exc:
            raise CopyError(
                "PERMISSION_DENIED", "path leads outside the collection", side, exc.message
            ) from None
        if create:
            try:
                os.makedirs(real, exist_ok=True)
            except OSError as exc:
                raise classify(exc, side) from None
        cache[vpath] = real
        return real

    def destination_root(self) -> str:
        """The destination root: only a transfer's records use it, and a transfer has one."""
        if self.dst_root is None:
            raise CopyError("ENDPOINT_ERROR", "the task has no destination", "destination")
        return self.dst_root

    def dst_dir(self, vpath: str) -> str:
        return self._dir(self.dst_dirs, self.destination_root(), vpath, True, "destination")

    # -- concurrency --------------------------------------------------------------------
    def should_stop(self) -> bool:
        return self.abort.is_set() or self.runner.should_stop()

    def _submit(self, row: TaskFile) -> None:
        if self.queue is None:
            self.queue = queue.Queue(QUEUE_ROWS)
        if len(self.threads) < self.concurrency:
            thread = threading.Thread(
                target=self._copy_loop,
                args=(self.queue,),
                name=f"lg-copy-{self.task.id[:8]}-{len(self.threads)}",
                daemon=True,
            )
            self.threads.append(thread)
            thread.start()
        self.queue.put(row)

    def _copy_loop(self, rows: queue.Queue) -> None:
        while True:
            row = rows.get()
            try:
                if row is None:
                    return
                if not self.abort.is_set():
                    self._process(row)
            except BaseException as exc:  # handed to the runner's thread by `drain`
                with self.retry_lock:
                    if self.error is None:
                        self.error = exc
                self.abort.set()
            finally:
                rows.task_done()

    def drain(self) -> None:
        """Wait for the file records handed over; raise the first error they met."""
        if self.queue is not None:
            self.queue.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """End the copy threads (the copies in flight stop at their next chunk); their
        errors are left to `drain`. Called whenever the run ends."""
        if self.queue is None:
            return
        self.abort.set()
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        self.threads = []
        self.queue = None

    # -- records ------------------------------------------------------------------------
    def process(self, row: TaskFile) -> None:
        if self.error is not None:
            self.drain()
        if self.concurrency > 1 and row.kind in ("file", "link"):
            self._submit(row)
            return
        if row.kind != "dir":
            self.drain()
        self._process(row)

    def _process(self, row: TaskFile) -> None:
        waits = iter(QUOTA_RETRY_SECONDS)
        retrying = False
        while True:
            try:
                self._do(row)
                break
            except CopyError as err:
                if not self._handle(row, err, waits):
                    break
                if not retrying:
                    # Shown while waiting, as Globus shows a task held up by quota.
                    retrying = True
                    self._retrying(1)
        if retrying:
            self._retrying(-1)

    def _retrying(self, step: int) -> None:
        with self.retry_lock:
            self.retrying += step
            status = "QUOTA_EXCEEDED" if self.retrying else "OK"
            self.runner.flush({"nice_status": status, "subtasks_retrying": self.retrying})

    def _handle(self, row, err: CopyError, waits) -> bool:
        """Record a failure; True to try the record again."""
        path = row.source_path or row.destination_path
        said = err.details if err.details != err.description else None
        self.runner.record_fault(err.code, err.description, path, said)
        if err.code == "QUOTA_EXCEEDED" and not self.opts.get("fail_on_quota_errors"):
            wait = next(waits, QUOTA_RETRY_SECONDS[-1])
            if self.runner.cancel.wait(wait) or self.runner.should_stop():
                raise Stopped
            return True
        if (
            self.task.type == "TRANSFER"
            and err.side == "source"
            and self.opts.get("skip_source_errors")
        ):
            self.runner.mark(
                row.id,
                "skipped",
                error_code=err.code,
                error_details=err.details,
                error_time=utcnow(),
            )
            self.runner.count(subtasks_skipped_errors=1)
            return False
        self.runner.mark(
            row.id, "failed", error_code=err.code, error_details=err.details, error_time=utcnow()
        )
        raise Fatal(err)

    def _do(self, row: TaskFile) -> None:
        kind = row.kind
        if kind in ("file", "link"):
            return self._copy(row)
        if kind == "dir":
            if row.destination_path != "/":
                self.dst_dir(_named(row.destination_path, "destination"))
            self.runner.mark(row.id, "done")
            self.runner.count(subtasks_succeeded=1)
            return
        if kind == "symlink":
            return self._symlink(row)
        if kind == "extra":
            self._remove(
                self.destination_root(), _named(row.destination_path, "destination"), tree=True
            )
            self.runner.mark(row.id, "done")
            self.runner.count(subtasks_succeeded=1)
            return
        if kind in ("delete", "delete_dir"):
            self._remove(self.src_root, _named(row.source_path, "source"), tree=False)
            self.runner.mark(row.id, "done")
            return
        raise CopyError("ENDPOINT_ERROR", f"unknown record kind {kind}", "destination")

    def check_quota(self) -> None:
        """A destination over its quota (`localglobus fault quota`) answers a write as a
        full disk does: QUOTA_EXCEEDED, which `_handle` retries unless
        fail_on_quota_errors. Measured about once a second, not per file."""
        if self.dst_id is None:
            return
        with self.retry_lock:
            now = time.monotonic()
            if now - self.quota_checked >= QUOTA_CHECK_SECONDS:
                self.quota_checked = now
                with self.runner.db.session() as session:
                    dst = session.get(Collection, self.dst_id)
                    colls = holds.collections_of(session, dst) if dst is not None else []
                    full = next((c for c in colls if holds.over_quota(c)), None)
                    self.quota_full = (
                        f"451 Disk quota exceeded ({full.quota_bytes} bytes)" if full else None
                    )
            message = self.quota_full
        if message:
            raise CopyError("QUOTA_EXCEEDED", "quota exceeded", "destination", message)

    def _copy(self, row: TaskFile) -> None:
        self.check_quota()
        source = _named(row.source_path, "source")
        destination = _named(row.destination_path, "destination")
        if row.kind == "link":
            # Top-level items and links: resolve the whole path (symlinks followed, the
            # result must stay inside the root).
            try:
                src = paths.resolve(self.src_root, source)
            except paths.PathRefused as exc:
                raise CopyError(
                    "PERMISSION_DENIED", "path leads outside the collection", "source", exc.message
                ) from None
        else:
            folder = self._dir(self.src_dirs, self.src_root, paths.parent(source), False, "source")
            src = os.path.join(folder, paths.basename(source))
        dst_folder = self.dst_dir(paths.parent(destination))
        name = paths.basename(destination)
        runner = self.runner
        lock = runner.lock
        sent = 0  # this file's bytes in `runner.current`, which adds up the files in flight

        def progress(n: int) -> None:
            nonlocal sent
            sent += n
            with lock:
                runner.current += n

        try:
            result = copy_file(
                src,
                dst_folder,
                name,
                paths.temp_name(name, self.task.id, row.seq),
                follow=row.kind == "link",
                sync_level=self.sync_level,
                verify=self.verify,
                algorithm=row.checksum_algorithm,
                external=row.external_checksum,
                preserve_timestamp=self.preserve,
                progress=progress,
                should_stop=self.should_stop,
            )
        except BaseException:
            with lock:
                runner.current -= sent
            raise
        # Counted and cleared under one lock, so a reader never sees the bytes twice.
        with lock:
            runner.current -= sent
            if result.unchanged:
                runner.updates.append({"id": row.id, "state": "unchanged"})
                runner.add(
                    {
                        "files_skipped": 1,
                        "subtasks_succeeded": 1,
                        "bytes_checksummed": result.checksummed,
                    }
                )
                return
            runner.updates.append(
                {
                    "id": row.id,
                    "state": "done",
                    "checksum": result.checksum,
                    "checksum_algorithm": result.algorithm,
                }
            )
            runner.add(
                {
                    "files_transferred": 1,
                    "subtasks_succeeded": 1,
                    "bytes_transferred": result.size,
                    "bytes_checksummed": result.checksummed,
                }
            )

    def _symlink(self, row: TaskFile) -> None:
        destination = _named(row.destination_path, "destination")
        try:
            link = paths.resolve_entry(self.src_root, _named(row.source_path, "source"))
            target = os.readlink(link)
        except (paths.PathRefused, OSError) as exc:
            raise CopyError("FILE_NOT_FOUND", "symlink not found", "source", str(exc)) from None
        dst_folder = self.dst_dir(paths.parent(destination))
        landing = os.path.realpath(os.path.join(dst_folder, target))
        if os.path.isabs(target) or not paths.inside(self.destination_root(), landing):
            raise CopyError("PERMISSION_DENIED", "symlink target leaves the collection", "source")
        final = os.path.join(dst_folder, paths.basename(destination))
        tmp = os.path.join(dst_folder, paths.temp_name("link", self.task.id, row.seq))
        try:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(target, tmp)
            os.rename(tmp, final)
        except OSError as exc:
            raise classify(exc, "destination") from None
        self.runner.mark(row.id, "done")
        self.runner.count(subtasks_succeeded=1)

    def _remove(self, root: str, vpath: str, tree: bool) -> None:
        try:
            disk = paths.resolve_entry(root, vpath)
        except paths.PathRefused as exc:
            raise CopyError(
                "PERMISSION_DENIED", "path leads outside the collection", "destination", exc.message
            ) from None
        try:
            if os.path.isdir(disk) and not os.path.islink(disk):
                if tree:
                    shutil.rmtree(disk)
                else:
                    os.rmdir(disk)
            else:
                os.unlink(disk)
        except FileNotFoundError:
            pass  # already gone: a resumed task may redo a record
        except OSError as exc:
            raise classify(exc, "destination") from None

    def sweep_temporaries(self) -> None:
        """Remove the temporary files an interrupted run may have left (one unlink per
        file record; only done for tasks that were resumed)."""
        if self.task.type != "TRANSFER":
            return
        with self.runner.db.session() as session:
            rows = session.execute(
                select(TaskFile.seq, TaskFile.destination_path).where(
                    TaskFile.task_id == self.task.id, TaskFile.kind.in_(("file", "link"))
                )
            ).all()
        dst_root = self.destination_root()
        for seq, vpath in rows:
            name = paths.temp_name(paths.basename(vpath), self.task.id, seq)
            try:
                folder = paths.resolve(dst_root, paths.parent(vpath))
                os.unlink(os.path.join(folder, name))
            except (OSError, paths.PathRefused):
                continue

    def finish(self) -> None:
        """Directory times last: writing files inside a directory changes its mtime."""
        self.drain()
        if self.task.type != "TRANSFER" or not self.opts.get("preserve_timestamp"):
            return
        self.runner.flush()
        with self.runner.db.session() as session:
            dirs = session.execute(
                select(TaskFile.source_path, TaskFile.destination_path)
                .where(TaskFile.task_id == self.task.id, TaskFile.kind == "dir")
                .order_by(TaskFile.seq.desc())
            ).all()
        dst_root = self.destination_root()
        for src, dst in dirs:
            try:
                st = os.stat(paths.resolve(self.src_root, src))
                os.utime(paths.resolve(dst_root, dst), ns=(st.st_atime_ns, st.st_mtime_ns))
            except (OSError, paths.PathRefused):
                continue
