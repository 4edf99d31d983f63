"""The endpoint and task documents, field for field as Globus sends them (docs/globus-api.md B.2,
B.8; recorded responses in globus-cli's api_fixtures)."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.db import as_utc, utcnow
from localglobus.models import Client, Identity
from localglobus.transfer import gateways, policy
from localglobus.transfer.models import Collection, Task
from localglobus.transfer.times import iso

# The short words Globus puts beside a task's nice_status ("OK" and "Queued" are
# recorded; no error one is, so these are the code in words, docs/globus-api.md B.16).
NICE_STATUS_SHORT = {
    "OK": "OK",
    "Queued": "Queued",
    "PERMISSION_DENIED": "Permission denied",
    "CONNECT_FAILED": "Connection failed",
    "QUOTA_EXCEEDED": "Quota exceeded",
    "PAUSED": "Paused",
    "NO_CREDENTIALS": "Credentials expired",
}


def identity_name(session: Session, identity_id: str | None) -> str | None:
    """The `owner_string` of an identity: its username, or `<id>@clients.auth.globus.org`
    for a client acting as itself."""
    if not identity_id:
        return None
    ident = session.get(Identity, identity_id)
    if ident is not None:
        return ident.username
    if session.get(Client, identity_id) is not None:
        return f"{identity_id}@clients.auth.globus.org"
    return identity_id


def endpoint_doc(session: Session, coll: Collection, identity_id: str | None) -> dict:
    """GET /endpoint/<id> for a GCSv5 collection."""
    host = session.get(Collection, coll.host_collection_id) if coll.host_collection_id else None
    owner = identity_name(session, coll.owner_id)
    roles = policy.effective_roles(session, coll, identity_id) if identity_id else []
    gateway = gateways.gateway_of(session, coll)
    timeout = gateway.authentication_timeout_mins if gateway is not None else None
    if coll.high_assurance and not timeout:
        timeout = 30  # what GCSv5 sets on a high-assurance gateway unless told otherwise
    netloc = request.host if has_request_context() else "127.0.0.1:443"
    hostname = netloc.split(":")[0]
    # GCSv5's addresses (docs/globus-api.md B.2): its GCS Manager API and the collection's
    # data server, both this localglobus.
    netloc = netloc if ":" in netloc else f"{netloc}:443"
    return {
        "DATA_TYPE": "endpoint",
        "DATA": [
            {
                "DATA_TYPE": "server",
                "hostname": hostname,
                "id": int(coll.id.replace("-", "")[:6], 16),
                "incoming_data_port_end": None,
                "incoming_data_port_start": None,
                "is_connected": True,
                "is_paused": False,
                "outgoing_data_port_end": None,
                "outgoing_data_port_start": None,
                "port": 443,
                "scheme": "gsiftp",
                "subject": None,
                "uri": None,
            }
        ],
        "id": coll.id,
        "display_name": coll.display_name,
        "canonical_name": f"{owner or 'localglobus'}#{coll.id}",
        "name": coll.id,
        "username": owner,
        "owner_id": coll.owner_id,
        "owner_string": owner,
        "entity_type": coll.entity_type,
        "gcs_version": "5.4.71",
        "gcs_manager_url": f"https://{netloc}",
        "organization": coll.organization,
        "department": coll.department,
        "keywords": coll.keywords,
        "description": coll.description,
        "contact_email": coll.contact_email,
        "contact_info": coll.contact_info,
        "info_link": coll.info_link,
        "user_message": coll.user_message,
        "user_message_link": coll.user_message_link,
        "host_endpoint": f"localglobus#{host.id}" if host else None,
        "host_endpoint_display_name": host.display_name if host else None,
        "host_endpoint_id": host.id if host else None,
        "host_path": coll.host_path,
        "mapped_collection_id": host.id if host else None,
        "mapped_collection_display_name": host.display_name if host else None,
        "my_effective_roles": roles,
        "acl_available": coll.is_guest,
        "acl_editable": bool(
            identity_id and coll.is_guest and policy.can_manage_acl(session, coll, identity_id)
        ),
        "high_assurance": coll.high_assurance,
        "authentication_assurance_timeout": timeout * 60 if timeout else None,
        "authentication_timeout_mins": timeout,
        "authentication_policy_id": None,
        "public": coll.public,
        "subscription_id": None,
        "non_functional": False,
        # `/~/` is the collection root on localglobus (see paths.py).
        "default_directory": "/" if coll.is_guest else "/~/",
        "force_encryption": coll.force_encryption,
        "force_verify": False,
        "disable_verify": False,
        "disable_anonymous_writes": False,
        "mfa_required": bool(gateway and gateway.require_mfa),
        "is_globus_connect": False,
        "is_go_storage": False,
        "gcp_connected": None,
        "gcp_paused": None,
        "globus_connect_setup_key": None,
        "network_use": "normal",
        "location": "Automatic",
        "max_concurrency": 4,
        "max_parallelism": 8,
        "preferred_concurrency": 2,
        "preferred_parallelism": 4,
        "activated": False,
        "expires_in": -1,
        "expire_time": None,
        "myproxy_server": None,
        "myproxy_dn": None,
        "oauth_server": None,
        "s3_url": None,
        "s3_owner_activated": False,
        "shareable": not coll.is_guest,
        "sharing_target_endpoint": None,
        "sharing_target_root_path": None,
        "storage_type": None,
        "tlsftp_server": f"tlsftp://{netloc}",
        "https_server": None,
        "in_use": False,
        "local_user_info_available": False,
        "last_accessed_time": None,
        "requester_pays": False,
        "french_english_bilingual": False,
        "non_functional_endpoint_display_name": None,
        "non_functional_endpoint_id": None,
    }


COUNTERS = (
    "files",
    "directories",
    "symlinks",
    "files_transferred",
    "files_skipped",
    "bytes_transferred",
    "bytes_checksummed",
    "faults",
    "subtasks_total",
    "subtasks_succeeded",
    "subtasks_failed",
    "subtasks_canceled",
    "subtasks_expired",
    "subtasks_skipped_errors",
    "subtasks_retrying",
)


def effective_rate(task: Task, transferred: int) -> int:
    if task.start_time is None:
        return 0
    end = as_utc(task.completion_time) if task.completion_time else utcnow()
    seconds = (end - as_utc(task.start_time)).total_seconds()
    return int(transferred / max(seconds, 1.0))


def _endpoint_fields(prefix: str, coll: Collection | None, manager: bool, hosts: dict) -> dict:
    doc = {
        f"{prefix}_endpoint": f"localglobus#{coll.id}" if coll else None,
        f"{prefix}_endpoint_display_name": coll.display_name if coll else None,
        f"{prefix}_endpoint_id": coll.id if coll else None,
        f"{prefix}_base_path": None,
    }
    if manager:
        host = hosts.get(coll.host_collection_id) if coll and coll.host_collection_id else None
        doc.update(
            {
                f"{prefix}_host_endpoint": f"localglobus#{host.id}" if host else None,
                f"{prefix}_host_endpoint_display_name": host.display_name if host else None,
                f"{prefix}_host_endpoint_id": host.id if host else None,
                f"{prefix}_host_path": coll.host_path if coll else None,
                f"{prefix}_local_user": None,
                f"{prefix}_local_user_status": None,
                f"{prefix}_mapped_collection_display_name": host.display_name if host else None,
                f"{prefix}_mapped_collection_id": host.id if host else None,
            }
        )
    return doc


def task_doc(session: Session, task: Task, live: dict | None = None, manager: bool = False) -> dict:
    """GET /task/<id> (and the task_list entries); `live` holds the counters of work
    done but not committed yet (and the bytes of the file being copied right now)."""
    live = live or {}
    n = {name: getattr(task, name) + live.get(name, 0) for name in COUNTERS}
    opts = task.options or {}
    ids = {i for i in (task.source_id, task.destination_id) if i}
    # Keyed by optional ids so that a delete's missing destination looks up as None.
    colls: dict[str | None, Collection] = {
        c.id: c for c in session.scalars(select(Collection).where(Collection.id.in_(ids)))
    }
    host_ids = {c.host_collection_id for c in colls.values() if c.host_collection_id}
    hosts = (
        {c.id: c for c in session.scalars(select(Collection).where(Collection.id.in_(host_ids)))}
        if manager and host_ids
        else {}
    )
    active = task.status in ("ACTIVE", "INACTIVE")
    finished = sum(
        n[f"subtasks_{k}"] for k in ("succeeded", "failed", "canceled", "expired", "skipped_errors")
    )
    is_transfer = task.type == "TRANSFER"
    doc = {
        "DATA_TYPE": "task",
        "task_id": task.id,
        "type": task.type,
        "label": task.label,
        "owner_id": task.owner_id,
        "username": task.owner_string,
        "command": "API 0.10",
        "status": task.status,
        "is_ok": (task.nice_status in ("OK", "Queued", "PAUSED")) if active else None,
        "nice_status": task.nice_status if active else None,
        "nice_status_short_description": (
            NICE_STATUS_SHORT.get(task.nice_status or "", task.nice_status) if active else None
        ),
        "nice_status_details": None,
        "nice_status_expires_in": -1 if active else None,
        "fatal_error": task.fatal_error,
        "is_paused": task.is_paused,
        "canceled_by_admin": task.canceled_by_admin,
        "canceled_by_admin_message": task.canceled_by_admin_message,
        "history_deleted": False,
        # The endpoint manager's paging key (last_key), as real task documents carry it.
        "key": f"active,{task.request_time.isoformat()}"
        if active
        else f"complete,{(task.completion_time or task.request_time).isoformat()}",
        "request_time": iso(task.request_time),
        "completion_time": iso(task.completion_time),
        "deadline": iso(task.deadline),
        **_endpoint_fields("source", colls.get(task.source_id), manager, hosts),
        **_endpoint_fields("destination", colls.get(task.destination_id), manager, hosts),
        "sync_level": opts.get("sync_level"),
        "verify_checksum": bool(opts.get("verify_checksum")),
        "encrypt_data": bool(opts.get("encrypt_data")),
        "preserve_timestamp": bool(opts.get("preserve_timestamp")),
        "delete_destination_extra": bool(opts.get("delete_destination_extra")),
        "skip_source_errors": bool(opts.get("skip_source_errors")),
        "fail_on_quota_errors": bool(opts.get("fail_on_quota_errors")),
        "recursive_symlinks": opts.get("recursive_symlinks", "ignore") if is_transfer else None,
        "filter_rules": opts.get("filter_rules") or None,
        **{name: n[name] for name in COUNTERS if not name.startswith("subtasks_")},
        "effective_bytes_per_second": effective_rate(task, n["bytes_transferred"]),
        "subtasks_pending": max(n["subtasks_total"] - finished, 0),
        **{name: n[name] for name in COUNTERS if name.startswith("subtasks_")},
    }
    if manager:
        doc["owner_string"] = task.owner_string
    return doc
