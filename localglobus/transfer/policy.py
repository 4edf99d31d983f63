"""Who may do what on a collection: roles, data_access consent and guest-collection ACLs.

- A mapped collection is open to every signed-in identity whose token carries the
  collection's data_access consent; a high-assurance one needs no data_access scope
  (globus-cli: `requires_data_access_scope` is false for it).
- A guest collection is open to its owner, to administrators and access managers
  (implicit `rw` on `/`), and to the identities its access rules grant, by path.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.auth.tokens import TRANSFER_SCOPE, data_access_scope
from localglobus.db import as_utc, utcnow
from localglobus.errors import TransferAPIError
from localglobus.transfer.models import MAPPED, AccessRule, Collection, Role
from localglobus.transfer.paths import covers

# Effective roles implied by a held role, in the order Globus lists them.
_IMPLIED = {
    "administrator": ("administrator", "access_manager", "activity_manager", "activity_monitor"),
    "access_manager": ("access_manager",),
    "activity_manager": ("activity_manager", "activity_monitor"),
    "activity_monitor": ("activity_monitor",),
}
_ORDER = ("administrator", "access_manager", "activity_manager", "activity_monitor")


def held_roles(session: Session, coll: Collection, identity_id: str) -> set[str]:
    """Roles granted to the identity itself; the owner is always an administrator."""
    roles = set(
        session.scalars(
            select(Role.role).where(
                Role.collection_id == coll.id,
                Role.principal_type == "identity",
                Role.principal == identity_id,
            )
        )
    )
    if coll.owner_id and coll.owner_id == identity_id:
        roles.add("administrator")
    return roles


def effective_roles(session: Session, coll: Collection, identity_id: str) -> list[str]:
    """`my_effective_roles`: held roles and those they imply (no access_manager on mapped
    collections, which have no ACL)."""
    roles: set[str] = set()
    for role in held_roles(session, coll, identity_id):
        roles.update(_IMPLIED.get(role, ()))
    if coll.entity_type == MAPPED:
        roles.discard("access_manager")
    return [r for r in _ORDER if r in roles]


def has_role(session: Session, coll: Collection, identity_id: str, *roles: str) -> bool:
    return bool(set(effective_roles(session, coll, identity_id)) & set(roles))


def can_manage_acl(session: Session, coll: Collection, identity_id: str) -> bool:
    held = held_roles(session, coll, identity_id)
    return bool(held & {"administrator", "access_manager"})


def needs_consent(coll: Collection) -> bool:
    return coll.entity_type == MAPPED and not coll.high_assurance


def require_consent(caller, *colls: Collection) -> None:
    """403 ConsentRequired, exactly as Globus sends it (docs/globus-api.md B.14), for every
    collection in `colls` whose data_access consent the caller's token lacks."""
    missing = []
    for coll in colls:
        if coll is not None and needs_consent(coll):
            scope = data_access_scope(coll.id)
            if not caller.has_consent(scope) and scope not in missing:
                missing.append(scope)
    if not missing:
        return
    deps = " ".join(f"*{s}" for s in missing)
    required = [f"{TRANSFER_SCOPE}[{deps}]"]
    message = "Missing required data_access consent"
    raise TransferAPIError(
        403,
        "ConsentRequired",
        message,
        authorization_parameters={"required_scopes": required, "session_message": message},
        required_scopes=required,
    )


def _rule_matches(rule: AccessRule, identity_id: str) -> bool:
    if rule.expiration_date is not None and as_utc(rule.expiration_date) <= utcnow():
        return False
    if rule.principal_type == "identity":
        return rule.principal == identity_id
    # Every caller here is signed in; groups are not modelled by localglobus.
    return rule.principal_type in ("all_authenticated_users", "anonymous")


def path_permissions(session: Session, coll: Collection, identity_id: str, vpath: str) -> str:
    """ "rw", "r" or "" for the identity on `vpath` (consent is checked separately)."""
    if not coll.is_guest:
        return "rw"
    if held_roles(session, coll, identity_id) & {"administrator", "access_manager"}:
        return "rw"
    best = ""
    rules = session.scalars(select(AccessRule).where(AccessRule.collection_id == coll.id))
    for rule in rules:
        if _rule_matches(rule, identity_id) and covers(rule.path, vpath):
            if rule.permissions == "rw":
                return "rw"
            best = "r"
    return best


def has_any_access(session: Session, coll: Collection, identity_id: str) -> bool:
    """Whether the identity can use the collection at all (some path, some permission)."""
    if not coll.is_guest:
        return True
    if held_roles(session, coll, identity_id) & {"administrator", "access_manager"}:
        return True
    rules = session.scalars(select(AccessRule).where(AccessRule.collection_id == coll.id))
    return any(_rule_matches(rule, identity_id) for rule in rules)


def check_path(
    session: Session,
    caller,
    coll: Collection,
    vpath: str,
    write: bool = False,
    code: str = "EndpointPermissionDenied",
) -> None:
    """Consent first (the client can fix that), then the ACL for `vpath`."""
    require_consent(caller, coll)
    perms = path_permissions(session, coll, caller.identity_id, vpath)
    if ("w" in perms) if write else ("r" in perms):
        return
    verb = "write" if write else "read"
    raise TransferAPIError(
        403,
        code,
        f"Denied by endpoint, Error ({verb})\nEndpoint: {coll.display_name} "
        f"({coll.id})\nFile: {vpath}\nMessage: permission denied",
    )
