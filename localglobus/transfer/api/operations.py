"""Synchronous file operations on a collection: ls, stat, mkdir, rename, symlink
(docs/globus-api.md B.3)."""

from __future__ import annotations

import errno
import os

from flask import jsonify, request

from localglobus.errors import TransferAPIError, bad_request
from localglobus.transfer import listing, paths, policy
from localglobus.transfer.api.arguments import body, bool_value, int_arg
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import caller
from localglobus.transfer.api.context import state as get_state
from localglobus.transfer.api.lookup import disk_path, load_collection, record_use, vpath_of
from localglobus.transfer.api.responses import result

LS_MAX = 100000


def _not_found(vpath: str) -> TransferAPIError:
    return TransferAPIError(404, "ClientError.NotFound", f"Path '{vpath}' not found on endpoint")


@bp.get("/operation/endpoint/<endpoint_id>/ls")
def ls(endpoint_id):
    who = caller()
    raw_path = request.args.get("path") or "/~/"
    vpath = vpath_of(raw_path)
    show_hidden = bool_value(request.args.get("show_hidden"), default=True)
    limit = int_arg("limit", LS_MAX, 0, LS_MAX)
    offset = int_arg("offset", 0, 0)
    keep = listing.parse_filters(request.args.getlist("filter"))
    with get_state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        policy.check_path(session, who, coll, vpath)
        record_use(session, who.identity_id, coll.id)
        root = coll.root_path
    folder = disk_path(coll, vpath)
    if not os.path.exists(folder):
        raise _not_found(vpath)
    if not os.path.isdir(folder):
        raise TransferAPIError(
            502, "ExternalError.DirListingFailed.NotDirectory", f"'{vpath}' is not a directory"
        )
    filters, orderby = request.args.getlist("filter"), request.args.get("orderby")
    # A page of a 100,000-entry folder must cost about what a small folder does: when
    # the filters and the order need only names and types, stat just the page's entries.
    cheap = listing.fields_used(filters, orderby) <= listing.CHEAP_FIELDS
    try:
        if cheap:
            docs = listing.cheap_listing(
                root, folder, show_hidden=show_hidden, filters=filters, orderby=orderby, keep=keep
            )
        else:
            found = listing.scan(root, folder, show_hidden=show_hidden, keep=keep, cheap=False)
            docs = listing.sort_docs(found, orderby)
    except PermissionError:
        raise TransferAPIError(403, "EndpointPermissionDenied", f"Cannot list '{vpath}'") from None
    page = listing.complete(root, folder, docs[offset : offset + limit])
    absolute = paths.as_dir(vpath) if raw_path.startswith(("/~", "~")) else None
    return jsonify(
        {
            "DATA": page,
            "DATA_TYPE": "file_list",
            "absolute_path": absolute,
            "endpoint": coll.id,
            "length": len(page),
            "path": paths.as_dir(raw_path if raw_path.startswith("/") else "/" + raw_path),
            "rename_supported": True,
            "symlink_supported": True,
            "total": len(docs),
        }
    )


@bp.get("/operation/endpoint/<endpoint_id>/stat")
def stat(endpoint_id):
    who = caller()
    vpath = vpath_of(request.args.get("path"))
    with get_state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        policy.check_path(session, who, coll, vpath, operation="stat")
        record_use(session, who.identity_id, coll.id)
    target = disk_path(coll, vpath, entry=True)
    if not os.path.lexists(target):
        # globus-cli's `stat` looks for exactly "NotFound" (not ClientError.NotFound).
        raise TransferAPIError(404, "NotFound", f"Path '{vpath}' not found on endpoint")
    return jsonify(listing.file_doc(coll.root_path, target, paths.basename(vpath) or "/"))


@bp.post("/operation/endpoint/<endpoint_id>/mkdir")
def mkdir(endpoint_id):
    who = caller()
    doc = body()
    vpath = vpath_of(doc.get("path"), default="")
    if vpath == "/":
        raise TransferAPIError(502, "ExternalError.MkdirFailed.Exists", "Path already exists")
    with get_state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        policy.check_path(
            session,
            who,
            coll,
            vpath,
            write=True,
            code="ExternalError.MkdirFailed.PermissionDenied",
            operation="mkdir",
        )
        record_use(session, who.identity_id, coll.id)
    target = disk_path(coll, vpath, entry=True)
    try:
        os.mkdir(target)
    except FileExistsError:
        raise TransferAPIError(
            502, "ExternalError.MkdirFailed.Exists", f"Path already exists: '{vpath}'"
        ) from None
    except FileNotFoundError:
        raise _not_found(paths.parent(vpath)) from None
    except PermissionError:
        raise TransferAPIError(
            403, "ExternalError.MkdirFailed.PermissionDenied", f"Cannot create '{vpath}'"
        ) from None
    return result(
        "DirectoryCreated", "The directory was created successfully", data_type="mkdir_result"
    )


@bp.post("/operation/endpoint/<endpoint_id>/rename")
def rename(endpoint_id):
    who = caller()
    doc = body()
    old = vpath_of(doc.get("old_path"), default="")
    new = vpath_of(doc.get("new_path"), default="")
    if "/" in (old, new):
        raise bad_request("Cannot rename the collection root")
    if paths.covers(old, new):
        raise bad_request("Cannot move a directory inside itself")
    with get_state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        for vpath in (old, new):
            policy.check_path(session, who, coll, vpath, write=True, operation="rename")
        record_use(session, who.identity_id, coll.id)
    source = disk_path(coll, old, entry=True)
    target = disk_path(coll, new, entry=True)
    if not os.path.lexists(source):
        raise _not_found(old)
    if os.path.lexists(target):
        raise TransferAPIError(
            502, "ExternalError.RenameFailed.Exists", f"Path already exists: '{new}'"
        )
    try:
        os.rename(source, target)
    except FileNotFoundError:
        raise _not_found(paths.parent(new)) from None
    except OSError as exc:
        code = "PermissionDenied" if exc.errno in (errno.EACCES, errno.EPERM) else "Failed"
        raise TransferAPIError(
            502, f"ExternalError.RenameFailed.{code}", str(exc.strerror)
        ) from None
    return result("FileRenamed", "File or directory renamed successfully")


@bp.post("/operation/endpoint/<endpoint_id>/symlink")
def symlink(endpoint_id):
    who = caller()
    doc = body()
    vpath = vpath_of(doc.get("path"), default="")
    target = vpath_of(doc.get("symlink_target"), default="")
    with get_state().db.session() as session:
        coll = load_collection(session, endpoint_id)
        policy.check_path(session, who, coll, vpath, write=True, operation="symlink")
        # A link is a way to read its target: making one needs read access there.
        policy.check_path(session, who, coll, target, operation="symlink")
    link = disk_path(coll, vpath, entry=True)
    pointee = disk_path(coll, target, entry=True)
    if os.path.lexists(link):
        raise TransferAPIError(502, "ExternalError.SymlinkFailed.Exists", "Path already exists")
    # A relative link keeps pointing inside the collection if its root moves.
    os.symlink(os.path.relpath(pointee, os.path.dirname(link)), link)
    return result("SymlinkCreated", "The symlink was created successfully")
