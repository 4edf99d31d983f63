"""`localglobus storage-gateway add|list`, `collection add|list` and the Transfer part of
`localglobus demo`."""

from __future__ import annotations

import argparse
import os
import random
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.auth.identities import DEMO_DOMAIN, find_by_username, identity_set_of, qualify
from localglobus.config import Settings
from localglobus.db import Database
from localglobus.models import Identity
from localglobus.transfer import gateways
from localglobus.transfer.models import (
    GUEST,
    MAPPED,
    AccessRule,
    Collection,
    Role,
    StorageGateway,
)

# Fixed ids for the demo collections, so a fresh `demo` gives the same ids every time.
_DEMO_NS = uuid.UUID("6c6f6361-6c67-6c6f-6275-732d64656d6f")


class CollectionError(ValueError):
    """A collection that cannot be created as asked."""


# The gateway of mapped collections made without one: identities of the demo domain,
# each as the local account of its name (GCSv5's default identity mapping).
DEFAULT_GATEWAY_NAME = "localglobus POSIX gateway"


def add_commands(sub) -> None:
    """Add the Transfer subcommands to the `localglobus` parser."""
    gw = sub.add_parser("storage-gateway", help="manage storage gateways (who may log in)")
    verbs = gw.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("add", help="add a POSIX storage gateway")
    p.add_argument("name", help="display name")
    p.add_argument(
        "--domain",
        dest="domains",
        action="append",
        required=True,
        help="allowed identity domain (repeat; *.example.org for subdomains)",
    )
    p.add_argument(
        "--map",
        dest="mappings",
        action="append",
        default=[],
        metavar="USERNAME=ACCOUNT",
        help="map this identity to this local account (repeat)",
    )
    p.add_argument(
        "--no-default-mapping",
        action="store_true",
        help="map only the --map identities (default: the name before @ is the account)",
    )
    p.add_argument(
        "--account",
        dest="accounts",
        action="append",
        help="a local account of this host (repeat; default: every name is one)",
    )
    p.add_argument("--allow-user", dest="users_allow", action="append", default=[])
    p.add_argument("--deny-user", dest="users_deny", action="append", default=[])
    p.add_argument("--high-assurance", action="store_true")
    p.add_argument("--authentication-timeout-mins", type=int)
    p.add_argument("--require-mfa", action="store_true")
    p.add_argument("--id", help="gateway id (default: a new UUID)")
    p.set_defaults(func=_gateway_add)
    p = verbs.add_parser("update", help="change who may log in through a storage gateway")
    p.add_argument("gateway", help="gateway id or name")
    p.add_argument("--add-domain", action="append", default=[], metavar="DOMAIN")
    p.add_argument("--remove-domain", action="append", default=[], metavar="DOMAIN")
    p.add_argument(
        "--map", dest="mappings", action="append", default=[], metavar="USERNAME=ACCOUNT"
    )
    p.add_argument("--unmap", action="append", default=[], metavar="USERNAME")
    p.add_argument("--deny-user", action="append", default=[], metavar="ACCOUNT")
    p.add_argument("--undeny-user", action="append", default=[], metavar="ACCOUNT")
    p.add_argument(
        "--high-assurance", action=argparse.BooleanOptionalAction, help="(its collections too)"
    )
    p.add_argument(
        "--authentication-timeout-mins", type=int, help="a sign-in this recent (0: no limit)"
    )
    p.add_argument("--require-mfa", action=argparse.BooleanOptionalAction)
    p.set_defaults(func=_gateway_update)
    p = verbs.add_parser("list", help="list storage gateways")
    p.set_defaults(func=_gateway_list)

    coll = sub.add_parser("collection", help="manage collections (local directories)")
    verbs = coll.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("add", help="add a collection")
    p.add_argument("name", help="display name")
    p.add_argument("--root", help="directory on this host (mapped collections)")
    p.add_argument("--type", choices=("mapped", "guest"), default="mapped")
    p.add_argument("--owner", help="username of the owner (default: none)")
    p.add_argument("--host", help="host collection id (guest collections)")
    p.add_argument("--host-path", help="directory inside the host collection, e.g. /shared/")
    p.add_argument("--id", help="collection id (default: a new UUID)")
    p.add_argument("--high-assurance", action="store_true")
    p.add_argument("--description")
    p.add_argument("--gateway", help="storage gateway id or name (mapped; default: the default)")
    for key in ("read", "read_write", "none"):
        flag = key.replace("_", "-")
        p.add_argument(
            f"--restrict-{flag}",
            dest=f"restrict_{key}",
            action="append",
            metavar="PATH",
            help=f"path restriction: {key} on PATH (repeat; any of them restricts every path)",
        )
        p.add_argument(
            f"--sharing-{flag}",
            dest=f"sharing_{key}",
            action="append",
            metavar="PATH",
            help=f"guest collections may share PATH {key} (repeat)",
        )
    p.add_argument("--no-guest-collections", action="store_true")
    p.set_defaults(func=_add)
    p = verbs.add_parser("list", help="list collections")
    p.set_defaults(func=_list)


@contextmanager
def _open(settings: Settings) -> Iterator[Database]:
    """The state database for one command; closed after, so its WAL is checkpointed."""
    db = Database(settings.db_path)
    db.create_all()
    try:
        yield db
    finally:
        db.engine.dispose()


def _owner_id(session: Session, username: str | None) -> str | None:
    if not username:
        return None
    ident = find_by_username(session, qualify(username))
    if ident is None:
        raise CollectionError(f"No such user: {username}")
    return ident.id


def create_collection(
    session: Session,
    name: str,
    *,
    root: str | None = None,
    kind: str = "mapped",
    owner_id: str | None = None,
    host_id: str | None = None,
    host_path: str | None = None,
    collection_id: str | None = None,
    high_assurance: bool = False,
    description: str | None = None,
    gateway_id: str | None = None,
    restrict_paths: dict | None = None,
    sharing_restrict_paths: dict | None = None,
    allow_guest_collections: bool = True,
) -> Collection:
    """Add a collection; a guest's root is its host's root joined with `host_path`.

    A mapped collection belongs to a storage gateway (default: the default gateway); a
    guest collection only where its host allows guests, on a path its sharing rules
    leave writable, and only by an owner the host's gateway maps (as on GCSv5).
    """
    collection_id = str(uuid.UUID(collection_id)) if collection_id else str(uuid.uuid4())
    if session.get(Collection, collection_id) is not None:
        raise CollectionError(f"Collection {collection_id} already exists")
    if kind == "guest":
        host = session.get(Collection, host_id or "")
        if host is None or host.entity_type != MAPPED:
            raise CollectionError("A guest collection needs --host, a mapped collection id")
        if not host_path or not host_path.startswith("/") or ".." in host_path.split("/"):
            raise CollectionError("A guest collection needs --host-path, e.g. /shared/")
        real = os.path.realpath(os.path.join(host.root_path, host_path.strip("/")))
        if not (real == host.root_path or real.startswith(host.root_path + os.sep)):
            raise CollectionError("--host-path leads outside the host collection")
        if not os.path.isdir(real):
            raise CollectionError(f"{host_path} is not a directory of the host collection")
        host_path = host_path if host_path.endswith("/") else host_path + "/"
        _check_guest_allowed(session, host, host_path, owner_id)
        entity_type, public, gateway_id = GUEST, False, None
        restrict_paths = sharing_restrict_paths = None
        high_assurance = high_assurance or host.high_assurance
    else:
        if not root:
            raise CollectionError("A mapped collection needs --root DIR")
        real = os.path.realpath(root)
        os.makedirs(real, exist_ok=True)
        entity_type, public, host_id, host_path = MAPPED, True, None, None
        gateway = (
            default_gateway(session)
            if gateway_id is None
            else session.get(StorageGateway, gateway_id)
        )
        if gateway is None:
            raise CollectionError(f"No such storage gateway: {gateway_id}")
        gateway_id = gateway.id
        # As on GCSv5, a high-assurance gateway makes its collections high assurance.
        high_assurance = high_assurance or gateway.high_assurance
        for doc in (restrict_paths, sharing_restrict_paths):
            _check_restrictions(doc)
    coll = Collection(
        id=collection_id,
        display_name=name,
        entity_type=entity_type,
        owner_id=owner_id,
        root_path=real,
        host_collection_id=host_id,
        host_path=host_path,
        high_assurance=high_assurance,
        public=public,
        description=description,
        organization="localglobus",
        gateway_id=gateway_id,
        restrict_paths=restrict_paths,
        sharing_restrict_paths=sharing_restrict_paths,
        allow_guest_collections=allow_guest_collections,
    )
    session.add(coll)
    if owner_id:
        # As on GCSv5, whoever creates a collection is its first administrator.
        session.add(
            Role(
                collection_id=coll.id,
                principal_type="identity",
                principal=owner_id,
                role="administrator",
            )
        )
    session.flush()
    return coll


def default_gateway(session: Session) -> StorageGateway:
    """The gateway of collections made without one (made on first use)."""
    stmt = select(StorageGateway).where(StorageGateway.display_name == DEFAULT_GATEWAY_NAME)
    gateway = session.scalars(stmt).first()
    if gateway is None:
        gateway = create_gateway(session, DEFAULT_GATEWAY_NAME, [DEMO_DOMAIN])
    return gateway


def create_gateway(
    session: Session,
    name: str,
    domains: list[str],
    *,
    mappings: dict[str, str] | None = None,
    default_mapping: bool = True,
    accounts: list[str] | None = None,
    users_allow: list[str] | None = None,
    users_deny: list[str] | None = None,
    high_assurance: bool = False,
    authentication_timeout_mins: int | None = None,
    require_mfa: bool = False,
    gateway_id: str | None = None,
) -> StorageGateway:
    """Add a POSIX storage gateway: which identity domains may log in, as which account."""
    gateway_id = str(uuid.UUID(gateway_id)) if gateway_id else str(uuid.uuid4())
    if session.get(StorageGateway, gateway_id) is not None:
        raise CollectionError(f"Storage gateway {gateway_id} already exists")
    domains = [d.strip().lower() for d in domains if d.strip()]
    bad = [d for d in domains if not _is_domain_pattern(d)]
    if not domains or bad:
        raise CollectionError(f"Not an identity domain: {', '.join(bad) or '(none)'}")
    if authentication_timeout_mins is not None and authentication_timeout_mins <= 0:
        raise CollectionError("--authentication-timeout-mins must be a positive number")
    gateway = StorageGateway(
        id=gateway_id,
        display_name=name,
        allowed_domains=domains,
        mappings={qualify(k).lower(): v for k, v in (mappings or {}).items()},
        default_mapping=default_mapping,
        accounts=accounts,
        users_allow=users_allow or [],
        users_deny=users_deny or [],
        high_assurance=high_assurance,
        authentication_timeout_mins=authentication_timeout_mins,
        require_mfa=require_mfa,
    )
    session.add(gateway)
    session.flush()
    return gateway


def _is_domain_pattern(domain: str) -> bool:
    name = domain[2:] if domain.startswith("*.") else domain
    labels = name.split(".")
    return len(labels) >= 2 and all(
        label and all(c.isalnum() or c == "-" for c in label) for label in labels
    )


def _check_restrictions(doc: dict | None) -> None:
    for paths_ in (doc or {}).values():
        for path in paths_:
            if not path.startswith("/") or ".." in path.split("/"):
                raise CollectionError(f"A restricted path must be absolute: {path!r}")


def _check_guest_allowed(session: Session, host: Collection, host_path: str, owner_id) -> None:
    """GCSv5's rules for a new guest collection on `host`."""
    if not host.allow_guest_collections:
        raise CollectionError(f"{host.display_name} does not allow guest collections")
    if host.sharing_restrict_paths:
        perms = gateways.restricted_permissions(host.sharing_restrict_paths, host_path)
        if "w" not in perms:
            raise CollectionError(f"{host.display_name} does not allow sharing {host_path}")
    if owner_id is None:
        return
    owner = session.get(Identity, owner_id)
    try:
        gateways.mapped_account(session, host, identity_set_of(session, owner))
    except gateways.LoginDenied as denied:
        who = owner.username if owner else owner_id
        raise CollectionError(f"{who} cannot log in to {host.display_name}: {denied}") from None


def _restrictions(args, prefix: str) -> dict | None:
    doc = {key: getattr(args, f"{prefix}_{key}") or [] for key in ("read", "read_write", "none")}
    return doc if any(doc.values()) else None


def _gateway_id(session: Session, value: str | None) -> str | None:
    if not value:
        return None
    gateway = session.get(StorageGateway, value.lower())
    if gateway is None:
        stmt = select(StorageGateway).where(StorageGateway.display_name == value)
        gateway = session.scalars(stmt).first()
    if gateway is None:
        raise CollectionError(f"No such storage gateway: {value}")
    return gateway.id


def _parse_mappings(items: list[str]) -> dict[str, str]:
    mappings = {}
    for item in items:
        username, sep, account = item.partition("=")
        if not sep or not username.strip() or not account.strip():
            raise CollectionError(f"--map takes USERNAME=ACCOUNT, not {item!r}")
        mappings[username.strip()] = account.strip()
    return mappings


def update_gateway(
    session: Session,
    gateway: StorageGateway,
    *,
    add_domains: Sequence[str] = (),
    remove_domains: Sequence[str] = (),
    mappings: dict[str, str] | None = None,
    unmap: Sequence[str] = (),
    deny: Sequence[str] = (),
    undeny: Sequence[str] = (),
    high_assurance: bool | None = None,
    authentication_timeout_mins: int | None = None,
    require_mfa: bool | None = None,
) -> StorageGateway:
    """Change a gateway's rules; they apply to the next operation and to running tasks.
    None leaves a session-policy setting as it is (a timeout of 0 removes it)."""
    if authentication_timeout_mins is not None and authentication_timeout_mins < 0:
        raise CollectionError("--authentication-timeout-mins must be 0 or more")
    bad = [d for d in add_domains if not _is_domain_pattern(d.strip().lower())]
    if bad:
        raise CollectionError(f"Not an identity domain: {', '.join(bad)}")
    domains = [d for d in gateway.allowed_domains if d not in {x.lower() for x in remove_domains}]
    domains += [d.strip().lower() for d in add_domains if d.strip().lower() not in domains]
    if not domains:
        raise CollectionError("A storage gateway needs at least one allowed domain")
    explicit = dict(gateway.mappings or {})
    explicit.update({qualify(k).lower(): v for k, v in (mappings or {}).items()})
    for username in unmap:
        explicit.pop(qualify(username).lower(), None)
    denied = [u for u in gateway.users_deny or [] if u not in undeny]
    denied += [u for u in deny if u not in denied]
    # New lists, so that SQLAlchemy sees the JSON columns change.
    gateway.allowed_domains, gateway.mappings, gateway.users_deny = domains, explicit, denied
    if authentication_timeout_mins is not None:
        gateway.authentication_timeout_mins = authentication_timeout_mins or None
    if require_mfa is not None:
        gateway.require_mfa = require_mfa
    if high_assurance is not None:
        gateway.high_assurance = high_assurance
        # As on GCSv5, its collections (and their guests) follow.
        mapped = session.scalars(select(Collection).where(Collection.gateway_id == gateway.id))
        for coll in mapped:
            coll.high_assurance = high_assurance
            for guest in session.scalars(
                select(Collection).where(Collection.host_collection_id == coll.id)
            ):
                guest.high_assurance = high_assurance
    session.flush()
    return gateway


def _gateway_update(args, settings: Settings) -> int:
    def update(session: Session) -> str:
        gateway = session.get_one(StorageGateway, _gateway_id(session, args.gateway))
        update_gateway(
            session,
            gateway,
            add_domains=args.add_domain,
            remove_domains=args.remove_domain,
            mappings=_parse_mappings(args.mappings),
            unmap=args.unmap,
            deny=args.deny_user,
            undeny=args.undeny_user,
            high_assurance=args.high_assurance,
            authentication_timeout_mins=args.authentication_timeout_mins,
            require_mfa=args.require_mfa,
        )
        return f"{gateway.id}\t{','.join(gateway.allowed_domains)}"

    return run_change(settings, update)


def _gateway_add(args, settings: Settings) -> int:
    def add(session: Session) -> str:
        return create_gateway(
            session,
            args.name,
            args.domains,
            mappings=_parse_mappings(args.mappings),
            default_mapping=not args.no_default_mapping,
            accounts=args.accounts,
            users_allow=args.users_allow,
            users_deny=args.users_deny,
            high_assurance=args.high_assurance,
            authentication_timeout_mins=args.authentication_timeout_mins,
            require_mfa=args.require_mfa,
            gateway_id=args.id,
        ).id

    return run_change(settings, add)


def run_change(settings: Settings, action: Callable[[Session], str]) -> int:
    """One command's change in one transaction: print what it made, or why it could not
    (exit 2, nothing changed)."""
    try:
        with _open(settings) as db, db.session() as session:
            print(action(session))
    except (CollectionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _gateway_list(args, settings: Settings) -> int:
    with _open(settings) as db, db.session() as session:
        for gw in session.scalars(select(StorageGateway).order_by(StorageGateway.display_name)):
            print(f"{gw.id}\t{gw.display_name}\t{','.join(gw.allowed_domains)}")
    return 0


def _add(args, settings: Settings) -> int:
    def add(session: Session) -> str:
        return create_collection(
            session,
            args.name,
            root=args.root,
            kind=args.type,
            owner_id=_owner_id(session, args.owner),
            host_id=args.host,
            host_path=args.host_path,
            collection_id=args.id,
            high_assurance=args.high_assurance,
            description=args.description,
            gateway_id=_gateway_id(session, args.gateway),
            restrict_paths=_restrictions(args, "restrict"),
            sharing_restrict_paths=_restrictions(args, "sharing"),
            allow_guest_collections=not args.no_guest_collections,
        ).id

    return run_change(settings, add)


def _list(args, settings: Settings) -> int:
    with _open(settings) as db, db.session() as session:
        for coll in session.scalars(select(Collection).order_by(Collection.display_name)):
            kind = "guest" if coll.is_guest else "mapped"
            print(f"{coll.id}\t{kind}\t{coll.display_name}\t{coll.root_path}")
    return 0


def _sample_files(root: Path, seed: int, big_sizes: tuple[int, ...]) -> None:
    """Deterministic sample data: nested folders, a few MB-sized files, and `many/`."""
    rng = random.Random(seed)
    files = {
        "README.txt": b"Sample data made by `localglobus demo`.\n",
        "data/raw/run-001/measurements.csv": b"t,value\n"
        + b"".join(f"{i},{rng.random():.6f}\n".encode() for i in range(500)),
        "data/raw/run-002/measurements.csv": b"t,value\n"
        + b"".join(f"{i},{rng.random():.6f}\n".encode() for i in range(500)),
        "data/processed/summary.json": b'{"runs": 2, "mean": 0.5}\n',
        "shared/results/summary.csv": b"run,mean\n1,0.49\n2,0.51\n",
        "shared/results/figures/plot.txt": b"(a figure would be here)\n",
        "shared/notes.md": b"# Shared results\n\nRead-only for researchers.\n",
    }
    for i, size in enumerate(big_sizes):
        files[f"large/sample-{i + 1}.bin"] = rng.randbytes(size)
    for i in range(1000):
        files[f"many/file-{i:04d}.txt"] = f"small file {i}\n".encode() * (1 + i % 7)
    for rel, data in files.items():
        path = root / rel
        if path.exists() and path.stat().st_size == len(data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def demo_transfer(settings: Settings, identities: dict[str, str]) -> None:
    """Create the demo collections with sample files (idempotent).

    Lab Storage and Archive are on the default gateway (uni.example identities, each as
    the account of its name); Partner Cluster is on a gateway of partner.example, which
    Rosalind reaches through her linked partner identity and Ada cannot log in to.
    """
    base = settings.home / "collections"
    with _open(settings) as db, db.session() as session:
        ids = dict(identities or {})
        for username in ("admin@uni.example", "researcher@uni.example"):
            if username not in ids:
                found = find_by_username(session, username)
                if found:
                    ids[username] = found.id
        admin = ids.get("admin@uni.example")
        partner_gw = str(uuid.uuid5(_DEMO_NS, "partner-gateway"))
        if session.get(StorageGateway, partner_gw) is None:
            create_gateway(
                session, "Partner Institute gateway", ["partner.example"], gateway_id=partner_gw
            )
        specs = [
            ("Lab Storage", "lab-storage", 1, (2 << 20, 5 << 20, 8 << 20), None),
            ("Archive", "archive", 2, (3 << 20,), None),
            ("Partner Cluster", "partner-cluster", 3, (1 << 20,), partner_gw),
        ]
        made = {}
        for name, folder, seed, sizes, gateway_id in specs:
            root = base / folder
            _sample_files(root, seed, sizes)
            cid = str(uuid.uuid5(_DEMO_NS, folder))
            made[name] = session.get(Collection, cid) or create_collection(
                session,
                name,
                root=str(root),
                owner_id=admin,
                collection_id=cid,
                description=f"Demo mapped collection: {name}",
                gateway_id=gateway_id,
            )
        gid = str(uuid.uuid5(_DEMO_NS, "shared-results"))
        if session.get(Collection, gid) is None:
            create_collection(
                session,
                "Shared Results",
                kind="guest",
                owner_id=admin,
                host_id=made["Lab Storage"].id,
                host_path="/shared/",
                collection_id=gid,
                description="Demo guest collection on Lab Storage, shared with researcher",
            )
        researcher = ids.get("researcher@uni.example")
        rule = select(AccessRule).where(
            AccessRule.collection_id == gid, AccessRule.principal == researcher
        )
        if researcher and session.scalars(rule).first() is None:
            session.add(
                AccessRule(
                    collection_id=gid,
                    principal_type="identity",
                    principal=researcher,
                    path="/",
                    permissions="r",
                )
            )
