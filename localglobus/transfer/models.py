"""Transfer-side tables of localglobus (collections, tasks, ACLs, roles, bookmarks).

Times are stored naive UTC (SQLite); read them back through `as_utc`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from localglobus.db import Base, new_id, utcnow

MAPPED = "GCSv5_mapped_collection"
GUEST = "GCSv5_guest_collection"
ROLE_NAMES = ("administrator", "access_manager", "activity_manager", "activity_monitor")


class StorageGateway(Base):
    """A GCSv5 POSIX storage gateway: which identities may use its mapped collections, and
    as which local account (docs/globus-api.md B.15).

    An identity set is usable when one of its identities is of an `allowed_domains`
    domain and maps to an account that is valid here: `mappings` (identity username ->
    account, exact, case-insensitive) first, then, with `default_mapping`, the username's
    part before `@`. The account must be one of `accounts` (the host's local accounts;
    null: any name is one), in `users_allow` when that is set, and not in `users_deny`.
    """

    __tablename__ = "transfer_storage_gateways"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(255))
    connector: Mapped[str] = mapped_column(String(20), default="POSIX")
    allowed_domains: Mapped[list] = mapped_column(JSON, default=list)
    mappings: Mapped[dict] = mapped_column(JSON, default=dict)
    default_mapping: Mapped[bool] = mapped_column(Boolean, default=True)
    accounts: Mapped[list | None] = mapped_column(JSON, nullable=True)
    users_allow: Mapped[list] = mapped_column(JSON, default=list)
    users_deny: Mapped[list] = mapped_column(JSON, default=list)
    high_assurance: Mapped[bool] = mapped_column(Boolean, default=False)
    authentication_timeout_mins: Mapped[int | None] = mapped_column(Integer, nullable=True)
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<StorageGateway {self.display_name!r} {self.id}>"


class Collection(Base):
    """A GCSv5 collection whose data is a directory of this host (`root_path`).

    A guest collection's `root_path` is its host collection's root joined with `host_path`,
    fixed when the guest is created.
    """

    __tablename__ = "transfer_collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(255))
    entity_type: Mapped[str] = mapped_column(String(40), default=MAPPED)
    owner_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    root_path: Mapped[str] = mapped_column(Text)
    host_collection_id: Mapped[str | None] = mapped_column(
        ForeignKey("transfer_collections.id"), nullable=True
    )
    host_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    high_assurance: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    keywords: Mapped[str | None] = mapped_column(Text, nullable=True)
    organization: Mapped[str | None] = mapped_column(String(255), nullable=True)
    department: Mapped[str | None] = mapped_column(String(255), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    contact_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    info_link: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_message_link: Mapped[str | None] = mapped_column(Text, nullable=True)
    force_encryption: Mapped[bool] = mapped_column(Boolean, default=False)
    # Mapped collections only (a guest follows its host's): the storage gateway, and the
    # collection's own rules as GCSv5 has them. `restrict_paths` is a path_restrictions
    # document ({"read": [...], "read_write": [...], "none": [...]}, collection paths);
    # null allows every path.
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("transfer_storage_gateways.id"), nullable=True, index=True
    )
    restrict_paths: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    allow_guest_collections: Mapped[bool] = mapped_column(Boolean, default=True)
    sharing_restrict_paths: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    disable_anonymous_writes: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Faults made on purpose (`localglobus fault`): a collection whose server is down
    # (every operation and task meets CONNECT_FAILED), a slow one (each file of a task
    # takes at least this many seconds), one over its quota.
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    slow_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # A quota on the collection's folder: once its files hold this many bytes, tasks
    # writing there wait with QUOTA_EXCEEDED faults (`localglobus fault quota`).
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    @property
    def is_guest(self) -> bool:
        return self.entity_type == GUEST

    def __repr__(self) -> str:
        return f"<Collection {self.display_name!r} {self.id}>"


class Task(Base):
    """A TRANSFER or DELETE task. Counters only ever include per-file records already
    committed as finished, so they stay true across a crash and resume."""

    __tablename__ = "transfer_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(10))  # TRANSFER | DELETE
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_string: Mapped[str] = mapped_column(String(255), default="")
    label: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="ACTIVE", index=True)
    # queued -> running -> done; `nice_status` follows it ("Queued", "OK", null).
    phase: Mapped[str] = mapped_column(String(10), default="queued")
    nice_status: Mapped[str | None] = mapped_column(String(40), nullable=True, default="Queued")
    source_id: Mapped[str] = mapped_column(String(36), index=True)
    destination_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    items: Mapped[list] = mapped_column(JSON, default=list)
    request_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    start_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    completion_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    expanded: Mapped[bool] = mapped_column(Boolean, default=False)
    # None, or who asked to cancel: "owner" / "admin". Persisted so a cancel survives a crash.
    cancel_requested: Mapped[str | None] = mapped_column(String(10), nullable=True)
    canceled_by_admin: Mapped[str | None] = mapped_column(String(12), nullable=True)
    canceled_by_admin_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Paused by an activity manager of either side (`admin_pause`): its message, per side.
    source_pause_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    destination_pause_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Whether the engine holds the task for a pause (explicit or a pause rule), as shown.
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the task's credentials expired (`localglobus fault expire-credentials`): it is
    # INACTIVE until its owner signs in again.
    credentials_expired_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    fatal_error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    files: Mapped[int] = mapped_column(Integer, default=0)
    directories: Mapped[int] = mapped_column(Integer, default=0)
    symlinks: Mapped[int] = mapped_column(Integer, default=0)
    files_transferred: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    bytes_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_checksummed: Mapped[int] = mapped_column(BigInteger, default=0)
    faults: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_total: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_succeeded: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_failed: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_canceled: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_expired: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_skipped_errors: Mapped[int] = mapped_column(Integer, default=0)
    subtasks_retrying: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<Task {self.type} {self.id} {self.status}>"


class TaskFile(Base):
    """One unit of work of a task: a file to copy, a directory to create, a destination
    extra or a path to delete. `state`: pending, done, unchanged (sync skipped), skipped
    (error skipped), failed, canceled."""

    __tablename__ = "transfer_task_files"
    __table_args__ = (
        UniqueConstraint("task_id", "seq"),
        Index("ix_task_files_state", "task_id", "state", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("transfer_tasks.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))  # file, dir, symlink, extra, delete
    source_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    destination_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    checksum: Mapped[str | None] = mapped_column(String(160), nullable=True)
    checksum_algorithm: Mapped[str | None] = mapped_column(String(20), nullable=True)
    external_checksum: Mapped[str | None] = mapped_column(String(160), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error_details: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TaskEvent(Base):
    """An entry of a task's event list."""

    __tablename__ = "transfer_task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        ForeignKey("transfer_tasks.id", ondelete="CASCADE"), index=True
    )
    time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    code: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(255))
    details: Mapped[str] = mapped_column(Text, default="")
    is_error: Mapped[bool] = mapped_column(Boolean, default=False)


class SubmissionId(Base):
    """A submission id handed out by `GET /submission_id`."""

    __tablename__ = "transfer_submission_ids"

    value: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccessRule(Base):
    """An ACL entry of a guest collection (docs/globus-api.md B.10)."""

    __tablename__ = "transfer_access_rules"
    __table_args__ = (UniqueConstraint("collection_id", "principal_type", "principal", "path"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("transfer_collections.id", ondelete="CASCADE"), index=True
    )
    principal_type: Mapped[str] = mapped_column(String(30))
    principal: Mapped[str] = mapped_column(String(36), default="")
    path: Mapped[str] = mapped_column(Text)
    permissions: Mapped[str] = mapped_column(String(2))
    create_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expiration_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    notify_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    notify_message: Mapped[str | None] = mapped_column(Text, nullable=True)


class Role(Base):
    """A role of an identity or group on a collection (docs/globus-api.md B.11)."""

    __tablename__ = "transfer_roles"
    __table_args__ = (UniqueConstraint("collection_id", "principal_type", "principal", "role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("transfer_collections.id", ondelete="CASCADE"), index=True
    )
    principal_type: Mapped[str] = mapped_column(String(20))
    principal: Mapped[str] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Bookmark(Base):
    """A user's named directory on a collection (docs/globus-api.md B.12)."""

    __tablename__ = "transfer_bookmarks"
    __table_args__ = (UniqueConstraint("identity_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(128))
    endpoint_id: Mapped[str] = mapped_column(String(36))
    path: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CollectionUse(Base):
    """When an identity last used a collection: endpoint_search `recently-used`."""

    __tablename__ = "transfer_collection_uses"

    identity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_used: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AdminCancel(Base):
    """One `endpoint_manager/admin_cancel` request and what it canceled."""

    __tablename__ = "transfer_admin_cancels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admin_id: Mapped[str] = mapped_column(String(36))
    message: Mapped[str] = mapped_column(Text, default="")
    task_id_list: Mapped[list] = mapped_column(JSON, default=list)
    processed_task_id_list: Mapped[list] = mapped_column(JSON, default=list)
    start_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class PauseRule(Base):
    """An activity manager's pause rule on a collection (docs/globus-api.md B.16): the
    operations it pauses, for everyone (`identity_id` null) or one identity."""

    __tablename__ = "transfer_pause_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    endpoint_id: Mapped[str] = mapped_column(String(36), index=True)
    identity_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    start_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    modified_by_id: Mapped[str] = mapped_column(String(36))
    # The pause_* flags of the rule document, by operation name (ls, mkdir, ...).
    operations: Mapped[dict] = mapped_column(JSON, default=dict)


class ApiFault(Base):
    """The next `remaining` Transfer calls answer `status` with `Retry-After` (a fault
    made on purpose with `localglobus fault http-errors`)."""

    __tablename__ = "transfer_api_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    retry_after: Mapped[int] = mapped_column(Integer, default=1)
