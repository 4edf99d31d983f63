"""Expand a task's items into its units of work (task file records), before any byte moves.

The whole list is committed at once, so a task that was killed mid-way resumes from the
same list, skipping the records already done.
"""

from __future__ import annotations

import fnmatch
import os
import stat as stat_mod
from dataclasses import dataclass, field

from localglobus.transfer import paths


@dataclass
class ItemError(Exception):
    """A problem with one item of the task, found while expanding it."""

    code: str
    description: str
    source_path: str | None = None
    destination_path: str | None = None
    is_directory: bool = False


@dataclass
class Plan:
    rows: list[dict] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    files: int = 0
    directories: int = 0
    symlinks: int = 0
    extras: list[dict] = field(default_factory=list)

    def add(self, kind: str, src: str | None, dst: str | None, size: int = 0, **extra) -> None:
        self.rows.append(
            {"kind": kind, "source_path": src, "destination_path": dst, "size": size, **extra}
        )
        if kind in ("file", "link", "delete"):
            self.files += 1
        elif kind in ("dir", "delete_dir"):
            self.directories += 1


def _included(rules: list[dict], name: str, is_dir: bool) -> bool:
    """Globus filter rules: the first rule whose glob and type match decides."""
    for rule in rules:
        kind = rule.get("type")
        if kind and kind != ("dir" if is_dir else "file"):
            continue
        if fnmatch.fnmatchcase(name, rule["name"]):
            return rule["method"] == "include"
    return True


def _source(root: str, vpath: str) -> tuple[str, os.stat_result]:
    try:
        disk = paths.resolve(root, vpath)
    except paths.PathRefused:
        raise ItemError("PERMISSION_DENIED", "path leads outside the collection", vpath) from None
    try:
        return disk, os.stat(disk)
    except FileNotFoundError:
        raise ItemError("FILE_NOT_FOUND", "file not found", vpath) from None
    except PermissionError:
        raise ItemError("PERMISSION_DENIED", "permission denied", vpath) from None


def plan_transfer(task, src_root: str, dst_root: str) -> Plan:
    opts = task.options or {}
    rules = opts.get("filter_rules") or []
    plan = Plan()
    for item in task.items:
        src, dst = item["source_path"], item["destination_path"]
        try:
            if item.get("symlink"):
                plan.add("symlink", src, dst)
                plan.symlinks += 1
                continue
            disk, st = _source(src_root, src)
            is_dir = stat_mod.S_ISDIR(st.st_mode)
            if item.get("recursive") is True and not is_dir:
                raise ItemError("NOT_A_DIRECTORY", "recursive item is not a directory", src, dst)
            if item.get("recursive") is False and is_dir:
                raise ItemError("IS_A_DIRECTORY", "directory needs recursive", src, dst, True)
            if not is_dir:
                # "link": resolve the whole path again when copying (it may be a symlink).
                plan.add(
                    "link",
                    src,
                    dst,
                    st.st_size,
                    external_checksum=item.get("external_checksum"),
                    checksum_algorithm=item.get("checksum_algorithm"),
                )
                continue
            _walk(plan, rules, src_root, disk, src, dst, dst_root, opts)
        except ItemError as exc:
            exc.source_path = exc.source_path or src
            exc.destination_path = exc.destination_path or dst
            plan.errors.append(exc)
    for extra in plan.extras:
        plan.rows.append(extra)
    return plan


def _walk(plan: Plan, rules, src_root, disk, src, dst, dst_root, opts) -> None:
    """Top-down, sorted: a directory's record always precedes its contents."""
    real_root = paths.real_root(src_root)
    stack = [(disk, src, dst)]
    while stack:
        folder, vsrc, vdst = stack.pop()
        plan.add("dir", vsrc, vdst)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except PermissionError:
            raise ItemError("PERMISSION_DENIED", "permission denied", vsrc, vdst, True) from None
        subdirs, kept = [], set()
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                # Links inside the collection to files are copied as files; links to
                # directories, broken links and links leaving the root are not followed.
                if paths.inside(real_root, target) and os.path.isfile(target):
                    if _included(rules, entry.name, False):
                        size = os.stat(target).st_size
                        plan.add(
                            "link", paths.join(vsrc, entry.name), paths.join(vdst, entry.name), size
                        )
                        kept.add(entry.name)
                else:
                    plan.symlinks += 1
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if not _included(rules, entry.name, is_dir):
                continue
            kept.add(entry.name)
            child_src, child_dst = paths.join(vsrc, entry.name), paths.join(vdst, entry.name)
            if is_dir:
                subdirs.append((entry.path, child_src, child_dst))
            elif entry.is_file(follow_symlinks=False):
                plan.add("file", child_src, child_dst, entry.stat(follow_symlinks=False).st_size)
        if opts.get("delete_destination_extra"):
            _extras(plan, rules, dst_root, vdst, kept)
        stack.extend(reversed(subdirs))


def _extras(plan: Plan, rules, dst_root: str, vdst: str, kept: set[str]) -> None:
    try:
        folder = paths.resolve(dst_root, vdst)
        entries = list(os.scandir(folder))
    except (paths.PathRefused, FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for entry in entries:
        if entry.name in kept or paths.is_temp_name(entry.name):
            continue
        is_dir = entry.is_dir(follow_symlinks=False)
        if not _included(rules, entry.name, is_dir):
            continue  # excluded names are neither copied nor deleted
        plan.extras.append(
            {
                "kind": "extra",
                "source_path": None,
                "destination_path": paths.join(vdst, entry.name),
                "size": 0,
            }
        )


def plan_delete(task, root: str) -> Plan:
    opts = task.options or {}
    plan = Plan()
    for item in task.items:
        vpath = item["path"]
        try:
            for target in _delete_targets(root, vpath, opts):
                _delete_rows(plan, root, target, opts)
        except ItemError as exc:
            plan.errors.append(exc)
    return plan


def _delete_targets(root: str, vpath: str, opts) -> list[str]:
    name = paths.basename(vpath)
    if opts.get("interpret_globs") and any(c in name for c in "*?["):
        try:
            folder = paths.resolve(root, paths.parent(vpath))
            names = sorted(n for n in os.listdir(folder) if fnmatch.fnmatchcase(n, name))
        except (paths.PathRefused, FileNotFoundError, NotADirectoryError):
            names = []
        targets = [paths.join(paths.parent(vpath), n) for n in names]
    else:
        targets = [vpath]
    if not targets and not opts.get("ignore_missing"):
        raise ItemError("FILE_NOT_FOUND", "file not found", vpath)
    return targets


def _delete_rows(plan: Plan, root: str, vpath: str, opts) -> None:
    try:
        disk = paths.resolve_entry(root, vpath)
    except paths.PathRefused:
        raise ItemError("PERMISSION_DENIED", "path leads outside the collection", vpath) from None
    if not os.path.lexists(disk):
        if opts.get("ignore_missing"):
            return
        raise ItemError("FILE_NOT_FOUND", "file not found", vpath)
    if os.path.islink(disk) or not os.path.isdir(disk):
        plan.add("delete", vpath, None)
        return
    if not opts.get("recursive"):
        raise ItemError("IS_A_DIRECTORY", "deleting a directory needs recursive", vpath, None, True)
    # Bottom-up, so that every directory is empty when its turn comes.
    for folder, dirnames, filenames in os.walk(disk, topdown=False):
        rel = os.path.relpath(folder, disk)
        vfolder = vpath if rel == "." else vpath + "/" + rel.replace(os.sep, "/")
        for name in sorted(filenames):
            plan.add("delete", paths.join(vfolder, name), None)
        for name in sorted(dirnames):
            if os.path.islink(os.path.join(folder, name)):
                plan.add("delete", paths.join(vfolder, name), None)
        plan.add("delete_dir", vfolder, None)
