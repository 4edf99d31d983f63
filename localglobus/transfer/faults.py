"""`localglobus fault ...`: make the faults of real Globus happen, for tests and demos
(docs/globus-api.md B.16). Each changes the state database; the running server and its
tasks see the change within about a second.

    fault offline COLLECTION           its server is down: operations answer ConnectFailed,
                                       tasks wait with CONNECT_FAILED faults
    fault online COLLECTION            back up
    fault slow COLLECTION SECONDS      each file of a task takes at least SECONDS (0: off)
    fault quota COLLECTION BYTES       tasks writing there wait with QUOTA_EXCEEDED faults
                                       once its files hold BYTES (-1: no quota)
    fault http-errors STATUS COUNT     the next COUNT Transfer calls answer STATUS (429/503)
    fault revoke USERNAME COLLECTION   the identity loses access (a task of it stops with
                                       PERMISSION_DENIED faults)
    fault expire-credentials TASK_ID   the task goes INACTIVE until its owner signs in
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from localglobus.auth.identities import find_by_username, identity_set_of, qualify
from localglobus.db import utcnow
from localglobus.transfer.commands import CollectionError, run_change
from localglobus.transfer.gateways import LoginDenied, local_account
from localglobus.transfer.models import (
    ApiFault,
    Collection,
    StorageGateway,
    Task,
)


def add_fault_commands(sub) -> None:
    fault = sub.add_parser("fault", help="make Globus's faults happen (tests and demos)")
    verbs = fault.add_subparsers(dest="verb", required=True)
    for verb, text in (("offline", "take a collection's server down"), ("online", "bring it back")):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("collection", help="collection id or display name")
        p.set_defaults(
            func=lambda args, settings, on=verb == "online": run_change(
                settings, lambda s: set_offline(s, args.collection, not on)
            )
        )
    p = verbs.add_parser("slow", help="make each file of a task on a collection slow")
    p.add_argument("collection", help="collection id or display name")
    p.add_argument("seconds", type=float, help="least seconds per file (0: not slow)")
    p.set_defaults(
        func=lambda args, settings: run_change(
            settings, lambda s: set_slow(s, args.collection, args.seconds)
        )
    )
    p = verbs.add_parser("quota", help="a quota on a collection's folder")
    p.add_argument("collection", help="collection id or display name")
    p.add_argument("bytes", type=int, help="the quota in bytes (-1: none)")
    p.set_defaults(
        func=lambda args, settings: run_change(
            settings, lambda s: set_quota(s, args.collection, args.bytes)
        )
    )
    p = verbs.add_parser("http-errors", help="the next Transfer calls answer 429 or 503")
    p.add_argument("status", type=int, choices=(429, 503))
    p.add_argument("count", type=int, help="how many calls (0: none more)")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds (default 1)")
    p.set_defaults(
        func=lambda args, settings: run_change(
            settings, lambda s: http_errors(s, args.status, args.count, args.retry_after)
        )
    )
    p = verbs.add_parser("revoke", help="an identity loses its access to a collection")
    p.add_argument("username")
    p.add_argument("collection", help="collection id or display name")
    p.set_defaults(
        func=lambda args, settings: run_change(
            settings, lambda s: revoke(s, args.username, args.collection)
        )
    )
    p = verbs.add_parser("expire-credentials", help="a task goes INACTIVE until its owner signs in")
    p.add_argument("task_id")
    p.set_defaults(
        func=lambda args, settings: run_change(
            settings, lambda s: expire_credentials(s, args.task_id)
        )
    )


def find_collection(session: Session, value: str) -> Collection:
    coll = session.scalar(
        select(Collection).where(or_(Collection.id == value, Collection.display_name == value))
    )
    if coll is None:
        raise CollectionError(f"No collection {value!r}")
    return coll


def set_offline(session: Session, value: str, offline: bool) -> str:
    coll = find_collection(session, value)
    coll.offline = offline
    return f"{coll.display_name} is {'offline' if offline else 'online'}"


def set_slow(session: Session, value: str, seconds: float) -> str:
    if not 0 <= seconds <= 3600:
        raise CollectionError("seconds must be between 0 and 3600")
    coll = find_collection(session, value)
    coll.slow_seconds = seconds
    return (
        f"{coll.display_name}: at least {seconds:g} s per file"
        if seconds
        else (f"{coll.display_name} is no longer slow")
    )


def set_quota(session: Session, value: str, quota: int) -> str:
    coll = find_collection(session, value)
    coll.quota_bytes = quota if quota >= 0 else None
    return (
        f"{coll.display_name}: quota {quota} bytes"
        if quota >= 0
        else (f"{coll.display_name}: no quota")
    )


def http_errors(session: Session, status: int, count: int, retry_after: int) -> str:
    if count < 0 or retry_after < 1:
        raise CollectionError("count must be 0 or more and --retry-after at least 1")
    session.execute(delete(ApiFault))
    if count:
        session.add(ApiFault(status=status, remaining=count, retry_after=retry_after))
    return f"the next {count} Transfer calls answer {status} (Retry-After: {retry_after})"


def revoke(session: Session, username: str, value: str) -> str:
    """The collection's gateway denies the account the identity maps to, as an admin
    adding it to users_deny would (guest collections follow their host)."""
    identity = find_by_username(session, qualify(username))
    if identity is None:
        raise CollectionError(f"No identity {username!r}")
    coll = find_collection(session, value)
    members = identity_set_of(session, identity)
    if coll.is_guest:
        host = session.get(Collection, coll.host_collection_id or "")
        if host is None:
            raise CollectionError(f"{coll.display_name} has no host collection")
        coll = host
    gateway = session.get(StorageGateway, coll.gateway_id) if coll.gateway_id else None
    if gateway is None:
        raise CollectionError(f"{coll.display_name} has no storage gateway")
    try:
        account = local_account(gateway, members)
    except LoginDenied:
        return f"{identity.username} already cannot log in to {coll.display_name}"
    gateway.users_deny = [*(gateway.users_deny or []), account]
    return f"{gateway.display_name} now denies account {account} ({identity.username})"


def expire_credentials(session: Session, task_id: str) -> str:
    task = session.get(Task, task_id)
    if task is None or task.status not in ("ACTIVE", "INACTIVE"):
        raise CollectionError(f"No unfinished task {task_id!r}")
    task.credentials_expired_at = utcnow()
    return f"task {task_id}'s credentials expired: INACTIVE until {task.owner_string} signs in"
