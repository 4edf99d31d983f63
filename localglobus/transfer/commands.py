"""`localglobus collection add|list` and the Transfer part of `localglobus demo`."""

from __future__ import annotations

import os
import random
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from localglobus.config import Settings
from localglobus.db import Database
from localglobus.models import Identity
from localglobus.transfer.models import GUEST, MAPPED, AccessRule, Collection, Role

# Fixed ids for the demo collections, so a fresh `demo` gives the same ids every time.
_DEMO_NS = uuid.UUID("6c6f6361-6c67-6c6f-6275-732d64656d6f")


class CollectionError(ValueError):
    """A collection that cannot be created as asked."""


def add_commands(sub) -> None:
    """Add the Transfer subcommands to the `localglobus` parser."""
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
    ident = session.scalars(select(Identity).where(Identity.username == username)).first()
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
) -> Collection:
    """Add a collection; a guest's root is its host's root joined with `host_path`."""
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
        entity_type, public = GUEST, False
    else:
        if not root:
            raise CollectionError("A mapped collection needs --root DIR")
        real = os.path.realpath(root)
        os.makedirs(real, exist_ok=True)
        entity_type, public, host_id, host_path = MAPPED, True, None, None
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


def _add(args, settings: Settings) -> int:
    try:
        with _open(settings) as db, db.session() as session:
            coll = create_collection(
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
            )
            print(coll.id)
    except (CollectionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


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
    """Create the demo collections with sample files (idempotent)."""
    base = settings.home / "collections"
    with _open(settings) as db, db.session() as session:
        ids = dict(identities or {})
        for username in ("admin", "researcher"):
            if username not in ids:
                found = session.scalars(
                    select(Identity.id).where(Identity.username == username)
                ).first()
                if found:
                    ids[username] = found
        admin = ids.get("admin")
        specs = [
            ("Lab Storage", "lab-storage", 1, (2 << 20, 5 << 20, 8 << 20)),
            ("Archive", "archive", 2, (3 << 20,)),
        ]
        made = {}
        for name, folder, seed, sizes in specs:
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
        researcher = ids.get("researcher")
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
