"""Small typed wrappers for what Globus answers on the admin pages: identities, access
rules, roles, and the outcome of a change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.formatting import parse_time

ROLE_NAMES = ("administrator", "access_manager", "activity_manager", "activity_monitor")


def request_id_of(response) -> str | None:
    """Globus's request id for a response: in result documents, else in a header."""
    data = response.data if isinstance(response.data, dict) else {}
    return data.get("request_id") or response.headers.get("X-Request-Id")


@dataclass
class Identity:
    """A Globus Auth identity: `display` reads "Name (username)"."""

    id: str
    username: str
    name: str = ""
    email: str = ""
    status: str = ""

    @classmethod
    def from_api(cls, doc: dict) -> Identity:
        """Build from an identities document (docs/globus-api.md A.7)."""
        return cls(
            id=doc["id"],
            username=doc.get("username") or "",
            name=doc.get("name") or "",
            email=doc.get("email") or "",
            status=doc.get("status") or "",
        )

    @property
    def display(self) -> str:
        """ "Name (username)", or the username alone."""
        return f"{self.name} ({self.username})" if self.name else self.username


@dataclass
class _Principal:
    """Who a rule or role is about (identity, group, all signed-in users, anyone)."""

    principal_type: str
    principal: str
    identity: Identity | None = field(default=None, kw_only=True)

    @property
    def principal_label(self) -> str:
        """How the UI names whoever the row is about."""
        if self.principal_type == "identity":
            return self.identity.display if self.identity else f"Identity {self.principal}"
        if self.principal_type == "group":
            return f"Group {self.principal}"
        if self.principal_type == "all_authenticated_users":
            return "All signed-in users"
        if self.principal_type == "anonymous":
            return "Anyone (anonymous)"
        return self.principal_type


@dataclass
class AccessRule(_Principal):
    """One row of a guest collection's ACL. Implicit rows (administrators and access
    managers get rw on /) have no id and cannot be fetched or changed."""

    id: str | None = None
    path: str = "/"
    permissions: str = "r"
    create_time: datetime | None = None
    expiration_date: datetime | None = None
    notify_email: str | None = None
    notify_message: str | None = None
    role_id: str | None = None
    role_type: str | None = None

    @classmethod
    def from_api(cls, doc: dict) -> AccessRule:
        """Build from an access document (docs/globus-api.md B.10)."""
        rule_id = doc.get("id")
        return cls(
            principal_type=doc.get("principal_type") or "",
            principal=doc.get("principal") or "",
            id=str(rule_id) if rule_id is not None else None,
            path=doc.get("path") or "/",
            permissions=doc.get("permissions") or "r",
            create_time=parse_time(doc.get("create_time")),
            expiration_date=parse_time(doc.get("expiration_date")),
            notify_email=doc.get("notify_email"),
            notify_message=doc.get("notify_message"),
            role_id=doc.get("role_id"),
            role_type=doc.get("role_type"),
        )

    @property
    def is_editable(self) -> bool:
        """Explicit rules only: implicit rows come from roles."""
        return self.id is not None

    def snapshot(self) -> dict:
        """What the audit log keeps of the rule (before/after)."""
        return {
            "id": self.id,
            "principal_type": self.principal_type,
            "principal": self.principal,
            "principal_label": self.principal_label,
            "path": self.path,
            "permissions": self.permissions,
            "expiration_date": self.expiration_date.isoformat() if self.expiration_date else None,
        }


@dataclass
class Role(_Principal):
    """A role assignment on a collection."""

    id: str = ""
    role: str = ""

    @classmethod
    def from_api(cls, doc: dict) -> Role:
        """Build from a role document (docs/globus-api.md B.11)."""
        return cls(
            principal_type=doc.get("principal_type") or "",
            principal=doc.get("principal") or "",
            id=str(doc.get("id") or ""),
            role=doc.get("role") or "",
        )

    @property
    def role_label(self) -> str:
        """ "access manager" for access_manager."""
        return self.role.replace("_", " ")

    def snapshot(self) -> dict:
        """What the audit log keeps of the role (before/after)."""
        return {
            "id": self.id,
            "principal_type": self.principal_type,
            "principal": self.principal,
            "principal_label": self.principal_label,
            "role": self.role,
        }


@dataclass
class Outcome:
    """What a changing call returned: the new object's id (if any) and Globus's request id."""

    code: str | None = None
    new_id: str | None = None
    request_id: str | None = None
    message: str | None = None
