"""Who may do what on a collection: roles, data_access consent, the storage gateway's
identity mapping and path restrictions, and guest-collection ACLs.

- A mapped collection is open to an identity set that its storage gateway maps to a
  valid local account (transfer/gateways.py), on the paths its `restrict_paths` leave,
  and only with the collection's data_access consent; a high-assurance one needs no
  data_access scope (globus-cli: `requires_data_access_scope` is false for it).
- A guest collection is open to its owner, to administrators and access managers
  (implicit `rw` on `/`), and to the identities its access rules grant, by path; never
  beyond what its owner's own account may do on the host collection at that path.
- Every check applies to the path named and to where it really leads after symlinks, so
  a link inside an allowed folder does not open a forbidden one.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.auth.tokens import (
    TRANSFER_SCOPE,
    LinkedIdentity,
    data_access_scope,
    identity_set_of,
)
from localglobus.db import as_utc, utcnow
from localglobus.errors import TransferAPIError
from localglobus.transfer import gateways, holds, paths
from localglobus.transfer.gateways import LoginDenied
from localglobus.transfer.models import MAPPED, AccessRule, Collection, Role
from localglobus.transfer.paths import covers

# Transfer's error code for a login refused during each synchronous operation.
_OPERATION_CODES = {
    "ls": "ExternalError.DirListingFailed.LoginFailed",
    "stat": "ExternalError.DirListingFailed.LoginFailed",
    "mkdir": "ExternalError.MkdirFailed.LoginFailed",
    "rename": "ExternalError.RenameFailed.LoginFailed",
    "symlink": "ExternalError.SymlinkFailed.LoginFailed",
    "delete": "ExternalError.DeleteFailed.LoginFailed",
    "transfer": "ExternalError.TransferFailed.LoginFailed",
}


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


def _rule_matches(rule: AccessRule, identity_ids: set[str]) -> bool:
    if rule.expiration_date is not None and as_utc(rule.expiration_date) <= utcnow():
        return False
    if rule.principal_type == "identity":
        # A rule for any identity of the caller's set applies, as on Globus.
        return rule.principal in identity_ids
    # Every caller here is signed in; groups are not modelled by localglobus.
    return rule.principal_type in ("all_authenticated_users", "anonymous")


def _intersect(a: str, b: str) -> str:
    return "rw" if a == b == "rw" else ("r" if "r" in a and "r" in b else "")


def path_permissions(
    session: Session, coll: Collection, identity_set: Sequence[LinkedIdentity], vpath: str
) -> str:
    """ "rw", "r" or "" for the identity set on `vpath` (consent is checked separately);
    LoginDenied when the collection's gateway refuses the identity set altogether."""
    if not coll.is_guest:
        gateways.mapped_account(session, coll, identity_set)
        return gateways.restricted_permissions(coll.restrict_paths, vpath)
    host = session.get(Collection, coll.host_collection_id) if coll.host_collection_id else None
    if host is None:
        return ""
    # What the owner's account may do there bounds what the guest collection can grant.
    host_path = paths.normalize((coll.host_path or "/").rstrip("/") + vpath, "/")
    ceiling = path_permissions(session, host, identity_set_of(session, coll.owner_id), host_path)
    ids = {i.id for i in identity_set}
    if any(held_roles(session, coll, i) & {"administrator", "access_manager"} for i in ids):
        return ceiling
    best = ""
    rules = session.scalars(select(AccessRule).where(AccessRule.collection_id == coll.id))
    for rule in rules:
        if _rule_matches(rule, ids) and covers(rule.path, vpath):
            best = "rw" if rule.permissions == "rw" else (best or "r")
    return _intersect(best, ceiling)


def has_any_access(session: Session, coll: Collection, identity_id: str) -> bool:
    """Whether the identity can use the collection at all (some path, some permission)."""
    if not coll.is_guest:
        return True
    if held_roles(session, coll, identity_id) & {"administrator", "access_manager"}:
        return True
    rules = session.scalars(select(AccessRule).where(AccessRule.collection_id == coll.id))
    return any(_rule_matches(rule, {identity_id}) for rule in rules)


def real_vpath(coll: Collection, vpath: str) -> str | None:
    """Where `vpath` really leads inside the collection once symlinks are followed (None:
    outside it, which the disk lookup refuses on its own)."""
    try:
        real = paths.resolve(coll.root_path, vpath)
    except paths.PathRefused:
        return None
    return paths.to_virtual(coll.root_path, real)


def permissions(session: Session, caller, coll: Collection, vpath: str) -> str:
    """The caller's permissions on `vpath` and on its real target, the narrower of the two."""
    perms = path_permissions(session, coll, caller.identity_set, vpath)
    real = real_vpath(coll, vpath)
    if real is not None and real != vpath:
        perms = _intersect(perms, path_permissions(session, coll, caller.identity_set, real))
    return perms


def server_name() -> str:
    """The data server a refusal names: this localglobus, as the client reached it."""
    host = request.host if has_request_context() else "localhost"
    return host if ":" in host else f"{host}:443"


def check_path(
    session: Session,
    caller,
    coll: Collection,
    vpath: str,
    write: bool = False,
    code: str = "EndpointPermissionDenied",
    operation: str = "ls",
) -> None:
    """Consent first (the client can fix that), then the gateway's login (an identity set
    it does not map is refused on every operation), then the permissions on `vpath`.
    A collection whose server is down, or an operation a pause rule pauses, is refused
    before any of those (docs/globus-api.md B.16)."""
    require_consent(caller, coll)
    down = holds.offline_collection(session, coll)
    if down is not None:
        code = _OPERATION_CODES[operation].replace(".LoginFailed", ".ConnectFailed")
        message = "Command Failed: " + holds.connect_failed_text(down, server_name())
        raise TransferAPIError(502, code, message)
    paused = holds.pause_rules(
        session, coll, caller.identity_id, "ls" if operation == "stat" else operation
    )
    if paused:
        raise TransferAPIError(
            409,
            "ClientError.Paused",
            f"This operation is paused on {coll.display_name}: {paused[0].message}",
        )
    try:
        perms = permissions(session, caller, coll, vpath)
        gateway = gateways.gateway_of(session, coll)
        if gateway is not None:
            gateways.check_session(gateway, caller.identity_set, caller.authentications)
    except LoginDenied as denied:
        raise login_failed(coll, operation, denied, server_name()) from None
    if ("w" in perms) if write else ("r" in perms):
        return
    raise _denied(coll, vpath, write, code)


def check_submission(
    session: Session, caller, coll: Collection, vpath: str, write: bool = False
) -> None:
    """A task's path at submission: Transfer refuses what the access rules forbid, but
    a gateway that refuses the login is only met when the task runs (a fault of the
    task, as on Globus), since Transfer does not log in to the collection to accept it."""
    try:
        perms = permissions(session, caller, coll, vpath)
    except LoginDenied:
        return
    if ("w" in perms) if write else ("r" in perms):
        return
    raise _denied(coll, vpath, write, "PermissionDenied")


def _denied(coll: Collection, vpath: str, write: bool, code: str) -> TransferAPIError:
    verb = "write" if write else "read"
    return TransferAPIError(
        403,
        code,
        f"Denied by endpoint, Error ({verb})\nEndpoint: {coll.display_name} "
        f"({coll.id})\nFile: {vpath}\nMessage: permission denied",
    )


def login_failed(coll: Collection, operation: str, denied: LoginDenied, server: str) -> Exception:
    """The error Transfer answers when the collection refuses the login (502); a refused
    session policy also carries the authorization parameters at the top, where
    globus-sdk and globus-cli read them (docs/globus-api.md B.15)."""
    message = "Command Failed: " + gateways.login_failed_text(coll, denied, server)
    extra = {}
    if denied.authorization_parameters:
        extra["authorization_parameters"] = {
            "session_message": "This collection requires a recent sign-in with an identity "
            f"of {', '.join(denied.detail.get('allowed_domains', []))}.",
            **denied.authorization_parameters,
        }
    return TransferAPIError(502, _OPERATION_CODES[operation], message, **extra)
