"""Who may use a GCSv5 mapped collection, as which local account, and on which paths.

GCSv5 decides at login, for every operation and every task: the identity set must hold
an identity of one of the storage gateway's allowed domains that maps to a valid local
account (docs/globus-api.md B.15). A refusal reaches the client as the LOGIN_DENIED
text of the data channel, wrapped in Transfer's `ExternalError.<Op>.LoginFailed`,
exactly as real collections answer; path restrictions then narrow what that account
may do, most specific path first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from localglobus.auth.identities import LinkedIdentity, SessionAuthentication, identity_set_of
from localglobus.auth.policies import domain_matches
from localglobus.db import as_utc, utcnow
from localglobus.transfer.models import Collection, StorageGateway
from localglobus.transfer.paths import as_dir

NOT_FROM_ALLOWED_DOMAIN = "None of your identities are from domains allowed by resource policies"
# A gateway with a session policy (high assurance, an authentication timeout) wants an
# identity of an allowed domain authenticated in this session, recently enough: the
# recorded refusal (globus-sdk's guide to Transfer authorization parameters).
NOT_AUTHENTICATED_FROM_ALLOWED_DOMAIN = (
    "None of your authenticated identities are from domains allowed by resource policies"
)
INVALID_USER = (
    "Identity set contains an identity from an allowed domain, but it does not map to a "
    "valid username for this connector"
)


class LoginDenied(Exception):
    """The gateway refuses the identity set: GCS's message and its `detail` document."""

    def __init__(self, message: str, detail: dict, authorization_parameters: dict | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        # What a new sign-in must bring (a session policy refused it): the client sends
        # these to Auth (docs/globus-api.md B.15).
        self.authorization_parameters = authorization_parameters

    def gridftp_text(self) -> str:
        """The 530 reply of the data channel, with the CRLFs escaped as Globus shows them."""
        result: dict = {"DATA_TYPE": "result#1.1.0"}
        if self.authorization_parameters:
            result["authorization_parameters"] = self.authorization_parameters
        result |= {
            "code": "permission_denied",
            "detail": self.detail,
            "has_next_page": False,
            "http_response_code": 403,
            "message": self.message,
        }
        lines = [
            "530-Login incorrect. : Mapping collection to specified ID failed.",
            "530-GlobusError: v=1 c=LOGIN_DENIED",
            f"530-GridFTP-Message: {self.message}",
            f"530-GridFTP-JSON-Result: {json.dumps(result)}",
            "530 End.",
        ]
        return "\\r\\n".join(lines) + "\\r\\n"


def local_account(gateway: StorageGateway, identity_set: Sequence[LinkedIdentity]) -> str:
    """The local account the identity set maps to on `gateway`, or LoginDenied."""
    allowed = gateway.allowed_domains or []
    patterns = [d.lower() for d in allowed]
    candidates = [i for i in identity_set if domain_matches(i.domain, patterns)]
    if not candidates:
        raise LoginDenied(
            NOT_FROM_ALLOWED_DOMAIN,
            {"DATA_TYPE": "not_from_allowed_domain#1.0.0", "allowed_domains": list(allowed)},
        )
    explicit = {k.lower(): v for k, v in (gateway.mappings or {}).items()}
    tried: list[str] = []
    for identity in candidates:
        account = explicit.get(identity.username.lower())
        if account is None and gateway.default_mapping:
            account = identity.username.rpartition("@")[0]
        if not account:
            continue
        tried.append(account)
        if _account_valid(gateway, account):
            return account
    raise LoginDenied(INVALID_USER, {"DATA_TYPE": "invalid_user#1.0.0", "usernames": tried})


def _account_valid(gateway: StorageGateway, account: str) -> bool:
    if gateway.accounts is not None and account not in gateway.accounts:
        return False
    if gateway.users_allow and account not in gateway.users_allow:
        return False
    return account not in (gateway.users_deny or [])


def restricted_permissions(restrict: dict | None, vpath: str) -> str:
    """ "rw", "r" or "" that a path_restrictions document leaves on `vpath`: the most
    specific listed path covering it decides; a path no entry covers is not reachable."""
    if not restrict:
        return "rw"
    best, best_len = "", -1
    # "none" first: a path listed under two keys keeps the first, the refusal.
    for key, perms in (("none", ""), ("read", "r"), ("read_write", "rw")):
        for rule in restrict.get(key) or []:
            rule_dir = as_dir(rule)
            if (rule_dir == "/" or as_dir(vpath).startswith(rule_dir)) and len(rule_dir) > best_len:
                best, best_len = perms, len(rule_dir)
    return best


def login_failed_text(coll: Collection, denied: LoginDenied, server: str) -> str:
    """What Transfer says of a refused login, in an error message or a task's fault event."""
    return (
        f"Error (login)\nEndpoint: {coll.display_name} ({coll.id})\n"
        f"Server: {server}\nMessage: Login Failed\n---\nDetails: {denied.gridftp_text()}\n"
    )


def mapped_account(
    session: Session, coll: Collection, identity_set: Sequence[LinkedIdentity]
) -> str:
    """The local account the identity set uses on a mapped collection (LoginDenied)."""
    gateway = session.get(StorageGateway, coll.gateway_id) if coll.gateway_id else None
    if gateway is None:
        # A mapped collection always has a gateway; one that lost it serves nobody.
        raise LoginDenied(INVALID_USER, {"DATA_TYPE": "invalid_user#1.0.0", "usernames": []})
    return local_account(gateway, identity_set)


def login(session: Session, coll: Collection, identity_set: Sequence[LinkedIdentity]) -> None:
    """Log in to the collection as GCSv5 does before any work (LoginDenied): a mapped one
    through its gateway, a guest one as its owner on the host."""
    if not coll.is_guest:
        mapped_account(session, coll, identity_set)
        return
    host = session.get(Collection, coll.host_collection_id) if coll.host_collection_id else None
    if host is None:
        raise LoginDenied(INVALID_USER, {"DATA_TYPE": "invalid_user#1.0.0", "usernames": []})
    login(session, host, identity_set_of(session, coll.owner_id))


def task_login_refusal(session: Session, task) -> tuple[Collection, LoginDenied] | None:
    """The first collection of a task that refuses its owner's login, and why (None: both
    let the owner in). The engine asks before the task starts and while it runs."""
    identity_set = identity_set_of(session, task.owner_id)
    for coll_id in (task.source_id, task.destination_id):
        coll = session.get(Collection, coll_id) if coll_id else None
        if coll is None:
            continue
        try:
            login(session, coll, identity_set)
        except LoginDenied as denied:
            return coll, denied
    return None


def has_session_policy(gateway: StorageGateway) -> bool:
    return bool(
        gateway.high_assurance or gateway.authentication_timeout_mins or gateway.require_mfa
    )


def check_session(
    gateway: StorageGateway,
    identity_set: Sequence[LinkedIdentity],
    authentications: Mapping[str, SessionAuthentication],
) -> None:
    """A gateway's session policy (LoginDenied with the authorization parameters that a
    new sign-in must satisfy): some identity of the set, of an allowed domain, signed in
    during the token's Auth session within `authentication_timeout_mins`, with a second
    factor where `require_mfa`."""
    if not has_session_policy(gateway):
        return
    patterns = [d.lower() for d in gateway.allowed_domains or []]
    timeout = gateway.authentication_timeout_mins
    now = utcnow()
    for identity in identity_set:
        auth = authentications.get(identity.id)
        if auth is None or not domain_matches(identity.domain, patterns):
            continue
        if timeout and as_utc(auth.auth_time) + timedelta(minutes=timeout) < now:
            continue
        if gateway.require_mfa and not auth.mfa:
            continue
        return
    params: dict = {"session_required_single_domain": list(gateway.allowed_domains or [])}
    if gateway.require_mfa:
        params["session_required_mfa"] = True
    raise LoginDenied(
        NOT_AUTHENTICATED_FROM_ALLOWED_DOMAIN,
        {
            "DATA_TYPE": "not_from_allowed_domain#1.0.0",
            "allowed_domains": list(gateway.allowed_domains or []),
        },
        authorization_parameters=params,
    )


def gateway_of(session: Session, coll: Collection) -> StorageGateway | None:
    """The storage gateway a collection (or, for a guest, its host) belongs to."""
    if coll.is_guest:
        host = session.get(Collection, coll.host_collection_id) if coll.host_collection_id else None
        coll = host if host is not None else coll
    return session.get(StorageGateway, coll.gateway_id) if coll.gateway_id else None
