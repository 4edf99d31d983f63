"""Copy one file the way the engine needs it: never visible under its real name until it
is complete, in large chunks with a stop check between them, optionally checksummed.

The copy is written into an unnamed file (`O_TMPFILE`) in the destination directory and
linked under its name once complete: one directory entry per file, as `cp` makes, and a
crash leaves nothing behind (the kernel frees an unlinked inode). When the name is taken
(a resumed or repeated transfer) the file is linked under its temporary name and renamed
over the old one, atomically. Where the file system has no `O_TMPFILE`, the copy is
written under the temporary name from the start.

Plain copies use `copy_file_range` (in-kernel, as `cp` does). A checksummed copy reads
the source once, and hashes the source bytes in a helper thread while the main thread
writes them and hashes what the destination gives back, so both digests cost about one.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from localglobus.transfer.engine import checksums

CHUNK = 8 << 20
_HASH_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lg-hash")
_FALLBACK = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF)
# What open(O_TMPFILE) answers on a file system (or kernel) without unnamed files.
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT, errno.ENOSYS)
# Unnamed files are named through /proc/self/fd, so both are needed.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0) if os.path.isdir("/proc/self/fd") else 0
# Destination directories where O_TMPFILE was refused: the named temporary file at once.
_no_tmpfile: set[str] = set()


class Stopped(Exception):
    """The task was canceled, expired or the engine is stopping: drop this file."""


class CopyError(Exception):
    """A per-file failure with the Globus error code; `side` is source or destination."""

    def __init__(self, code: str, description: str, side: str, details: str = ""):
        super().__init__(description)
        self.code = code
        self.description = description
        self.side = side
        self.details = details or description


@dataclass
class CopyResult:
    size: int = 0
    unchanged: bool = False
    checksum: str | None = None
    algorithm: str | None = None
    checksummed: int = 0


def classify(exc: OSError, side: str) -> CopyError:
    if isinstance(exc, FileNotFoundError):
        return CopyError("FILE_NOT_FOUND", "file not found", side, str(exc))
    if isinstance(exc, PermissionError) or exc.errno == errno.ELOOP:
        return CopyError("PERMISSION_DENIED", "permission denied", side, str(exc))
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return CopyError("QUOTA_EXCEEDED", "quota exceeded", side, str(exc))
    if exc.errno == errno.EISDIR:
        return CopyError("FILE_EXISTS", "a directory is in the way", side, str(exc))
    return CopyError("ENDPOINT_ERROR", exc.strerror or "I/O error", side, str(exc))


def _unchanged(level: int, src_fd: int, st, dst_path: str, algorithm: str) -> tuple[bool, int]:
    """Sync level check (0 exists, 1 size, 2 mtime, 3 checksum): (skip?, bytes hashed)."""
    try:
        dst = os.stat(dst_path)
    except FileNotFoundError:
        return False, 0
    if not stat_mod.S_ISREG(dst.st_mode):
        return False, 0
    if level == 0:
        return True, 0
    if level == 1:
        return dst.st_size == st.st_size, 0
    if level == 2:
        return int(dst.st_mtime) >= int(st.st_mtime), 0
    if dst.st_size != st.st_size:
        return False, 0
    same = checksums.file_checksum(f"/proc/self/fd/{src_fd}", algorithm) == (
        checksums.file_checksum(dst_path, algorithm)
    )
    return same, 2 * st.st_size


def _copy_plain(src: int, dst: int, size: int, progress, should_stop) -> int:
    total = 0
    use_range = True
    # Stop at the size seen by fstat: a small file then costs one copy call, not two.
    while total < size or size == 0:
        if should_stop():
            raise Stopped
        try:
            if use_range:
                n = os.copy_file_range(src, dst, CHUNK)
            else:
                n = os.sendfile(dst, src, None, CHUNK)
        except OSError as exc:
            if use_range and total == 0 and exc.errno in _FALLBACK:
                use_range = False
                continue
            raise
        if n == 0:
            return total
        total += n
        progress(n)
    return total


def _copy_hashing(src: int, dst: int, hsrc, hdst, progress, should_stop) -> int:
    total = 0
    while True:
        if should_stop():
            raise Stopped
        data = os.read(src, CHUNK)
        if not data:
            return total
        # hashlib releases the GIL on large buffers: the source digest runs in parallel.
        pending = _HASH_POOL.submit(hsrc.update, data) if len(data) > (1 << 20) else None
        if pending is None:
            hsrc.update(data)
        view = memoryview(data)
        written = 0
        while written < len(data):
            written += os.write(dst, view[written:])
        if hdst is not None:
            hdst.update(os.pread(dst, len(data), total))
        if pending is not None:
            pending.result()
        total += len(data)
        progress(len(data))


def copy_file(
    src_path: str,
    dst_dir: str,
    name: str,
    tmp: str,
    *,
    follow: bool,
    sync_level: int | None,
    verify: bool,
    algorithm: str | None,
    external: str | None,
    preserve_timestamp: bool,
    progress,
    should_stop,
) -> CopyResult:
    """Copy `src_path` to `dst_dir/name`; `dst_dir/tmp` is its name while incomplete
    where the file system has no unnamed files, and the step before replacing a file."""
    algorithm = checksums.algorithm_name(algorithm or checksums.DEFAULT)
    final = os.path.join(dst_dir, name)
    tmp_path = os.path.join(dst_dir, tmp)
    try:
        src = os.open(src_path, os.O_RDONLY | (0 if follow else os.O_NOFOLLOW))
    except OSError as exc:
        raise classify(exc, "source") from None
    try:
        st = os.fstat(src)
        if not stat_mod.S_ISREG(st.st_mode):
            raise CopyError("PERMISSION_DENIED", "not a regular file", "source")
        if sync_level is not None:
            skip, hashed = _unchanged(sync_level, src, st, final, algorithm)
            if skip:
                return CopyResult(size=st.st_size, unchanged=True, checksummed=hashed)
        for attempt in (1, 2):
            dst, named = _open_destination(dst_dir, tmp_path, stat_mod.S_IMODE(st.st_mode))
            try:
                result = _write_once(
                    src,
                    dst,
                    st,
                    verify,
                    algorithm,
                    external,
                    preserve_timestamp,
                    progress,
                    should_stop,
                )
                if result is not None:
                    _place(dst, named, tmp_path, final)
                    named = False  # placed: nothing to remove
            finally:
                os.close(dst)
                if named:
                    _unlink(tmp_path)
            if result is not None:
                return result
            if attempt == 2:
                raise CopyError("VERIFY_CHECKSUM", "checksum verification failed", "destination")
            os.lseek(src, 0, os.SEEK_SET)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
    finally:
        os.close(src)


def _open_destination(dst_dir: str, tmp_path: str, mode: int) -> tuple[int, bool]:
    """The file to write the copy into, and whether it has a (temporary) name.

    The source's mode at creation, less the umask, as cp does (an fchmod costs a
    metadata write per file)."""
    if _O_TMPFILE and dst_dir not in _no_tmpfile:
        try:
            return os.open(dst_dir, os.O_RDWR | _O_TMPFILE, mode), False
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE or not os.path.isdir(dst_dir):
                raise classify(exc, "destination") from None
            _no_tmpfile.add(dst_dir)
    # O_TRUNC reuses a leftover of a killed run; O_NOFOLLOW refuses a planted symlink.
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    try:
        try:
            return os.open(tmp_path, flags, mode), True
        except PermissionError:
            _unlink(tmp_path)  # a read-only leftover of a killed run
            return os.open(tmp_path, flags, mode), True
    except OSError as exc:
        raise classify(exc, "destination") from None


def _link(fd: int, path: str) -> None:
    """Give the unnamed file `fd` the name `path` (linkat through /proc, which needs no
    privilege; `src_dir_fd` makes os.link call linkat, and an absolute path ignores it)."""
    os.link(f"/proc/self/fd/{fd}", path, src_dir_fd=fd, follow_symlinks=True)


def _place(dst: int, named: bool, tmp_path: str, final: str) -> None:
    """Put the complete copy under its real name."""
    try:
        if not named:
            try:
                _link(dst, final)
                return
            except FileExistsError:
                pass  # replace the old file atomically: link aside, then rename over it
            try:
                _link(dst, tmp_path)
            except FileExistsError:
                _unlink(tmp_path)  # a leftover of a killed run
                _link(dst, tmp_path)
        try:
            os.rename(tmp_path, final)
        except OSError:
            _unlink(tmp_path)
            raise
    except OSError as exc:
        raise classify(exc, "destination") from None


def _write_once(src, dst, st, verify, algorithm, external, preserve, progress, should_stop):
    """Write the copy into `dst`; None when the destination digest did not match."""
    hashing = verify or external is not None
    hsrc = checksums.new(algorithm) if hashing else None
    hdst = checksums.new(algorithm) if verify else None
    try:
        if hashing:
            size = _copy_hashing(src, dst, hsrc, hdst, progress, should_stop)
        else:
            size = _copy_plain(src, dst, st.st_size, progress, should_stop)
    except OSError as exc:
        raise classify(exc, "destination") from None
    # `hsrc` exists whenever `hashing`, which `verify` and `external` both imply.
    if external is not None and hsrc is not None and hsrc.hexdigest() != external:
        raise CopyError("VERIFY_CHECKSUM", "source does not match external_checksum", "source")
    if hdst is not None and hsrc is not None and hdst.hexdigest() != hsrc.hexdigest():
        return None
    if preserve:
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    return CopyResult(
        size=size,
        checksum=hsrc.hexdigest() if hsrc is not None else None,
        algorithm=algorithm if hashing else None,
        checksummed=size if hashing else 0,
    )


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
