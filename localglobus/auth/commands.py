"""`localglobus user add|list`, `client add|list` and the Auth part of `localglobus demo`."""

from __future__ import annotations

import json
import os
import secrets

import pyotp
from sqlalchemy import select

from localglobus.auth.clients import create_client, new_secret
from localglobus.auth.identities import (
    find_by_username,
    hash_secret,
    primary_identity,
    provider_name,
    qualify,
    verify_secret,
)
from localglobus.config import Settings
from localglobus.db import Database
from localglobus.models import Client, Identity

PORTAL_CLIENT_NAME = "Ferry portal"
# The native app globus-cli is on Globus (its `_template_client_id()`): registered here as
# on Globus, so that `globus login` can make its per-install client from it, as a
# template (docs/globus-api.md A.11).
GLOBUS_CLI_CLIENT_ID = "95fdeba8-fac2-42bd-a357-e068d82ff78e"
# (username, name, email, linked to): Rosalind also has an identity at the partner
# institute, linked with her university one, as a Globus account with two identities.
DEMO_USERS = [
    ("researcher@uni.example", "Rosalind Researcher", "researcher@uni.example", None),
    ("admin@uni.example", "Ada Admin", "admin@uni.example", None),
    (
        "researcher@partner.example",
        "Rosalind Researcher",
        "rosalind@partner.example",
        "researcher@uni.example",
    ),
]
DEMO_PASSWORD_FILE = "demo_password"


def add_commands(sub) -> None:
    """Add the Auth subcommands to the `localglobus` parser."""
    user = sub.add_parser("user", help="manage sign-in identities")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    p = user_sub.add_parser("add", help="add an identity that signs in with a password")
    p.add_argument("username")
    p.add_argument("--password", help="default: generated and printed")
    p.add_argument("--name", default="")
    p.add_argument("--email", default="")
    p.add_argument(
        "--link-to", metavar="USERNAME", help="link with this identity (same identity set)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_user_add)
    p = user_sub.add_parser("list", help="list identities")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_user_list)

    client = sub.add_parser("client", help="manage OAuth2 clients")
    client_sub = client.add_subparsers(dest="client_command", required=True)
    p = client_sub.add_parser("add", help="register a client")
    p.add_argument("name")
    p.add_argument("--id", dest="client_id", help="default: a new UUID")
    p.add_argument("--secret", help="default: generated (confidential clients)")
    p.add_argument("--redirect-uri", dest="redirect_uris", action="append", default=[])
    p.add_argument("--native", action="store_true", help="a native (public) app, no secret")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_client_add)
    p = client_sub.add_parser("list", help="list clients")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_client_list)


def open_db(settings: Settings) -> Database:
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_path)
    db.create_all()
    return db


def _print(args, values: dict) -> None:
    if args.json:
        print(json.dumps(values))
    else:
        for key, value in values.items():
            print(f"{key}: {value}")


def _user_add(args, settings: Settings) -> int:
    password = args.password or secrets.token_urlsafe(12)
    username = qualify(args.username)
    with open_db(settings).session() as session:
        if find_by_username(session, username) is not None:
            print(f"localglobus: user {username!r} already exists")
            return 1
        primary = None
        if args.link_to:
            primary = find_by_username(session, qualify(args.link_to))
            if primary is None:
                print(f"localglobus: no user {qualify(args.link_to)!r} to link to")
                return 1
        identity = add_user(session, username, password, args.name, args.email, link_to=primary)
        values = {"identity_id": identity.id, "username": identity.username}
    if not args.password:
        values["password"] = password
    _print(args, values)
    return 0


def add_user(
    session,
    username: str,
    password: str,
    name: str = "",
    email: str = "",
    link_to: Identity | None = None,
) -> Identity:
    """Create an identity that signs in with `username` and `password`, linked into the
    identity set of `link_to` when given."""
    primary = primary_identity(session, link_to) if link_to is not None else None
    identity = Identity(
        username=username,
        name=name,
        email=email,
        password_hash=hash_secret(password),
        organization=_organization(username),
        primary_id=primary.id if primary is not None else None,
    )
    session.add(identity)
    session.flush()
    return identity


def _organization(username: str) -> str:
    """The organization Globus shows for an identity: its provider's name here."""
    domain = username.rpartition("@")[2].lower()
    return provider_name(domain) if domain else "localglobus"


def _user_list(args, settings: Settings) -> int:
    with open_db(settings).session() as session:
        rows = session.scalars(select(Identity).order_by(Identity.username)).all()
        users = [
            {
                "id": i.id,
                "username": i.username,
                "name": i.name,
                "email": i.email,
                "linked_to": session.get_one(Identity, i.primary_id).username
                if i.primary_id
                else None,
            }
            for i in rows
            if not i.is_client
        ]
    if args.json:
        print(json.dumps(users))
    for user in [] if args.json else users:
        linked = f"  (linked to {user['linked_to']})" if user["linked_to"] else ""
        print(f"{user['id']}  {user['username']:<28} {user['name']} <{user['email']}>{linked}")
    return 0


def _client_add(args, settings: Settings) -> int:
    with open_db(settings).session() as session:
        if args.client_id and session.get(Client, args.client_id) is not None:
            print(f"localglobus: client {args.client_id} already exists")
            return 1
        client, secret = create_client(
            session,
            args.name,
            client_id=args.client_id,
            secret=args.secret,
            redirect_uris=args.redirect_uris,
            native=args.native,
        )
        values = {"client_id": client.id}
    if secret is not None:
        values["client_secret"] = secret
    _print(args, values)
    return 0


def _client_list(args, settings: Settings) -> int:
    with open_db(settings).session() as session:
        rows = session.scalars(select(Client).order_by(Client.name)).all()
        clients = [
            {"id": c.id, "name": c.name, "type": c.client_type, "redirect_uris": c.redirect_uris}
            for c in rows
        ]
    if args.json:
        print(json.dumps(clients))
    for c in [] if args.json else clients:
        print(f"{c['id']}  {c['type']:<12} {c['name']}  {' '.join(c['redirect_uris'])}")
    return 0


def demo_auth(settings: Settings, portal_url: str | None = None) -> dict[str, str]:
    """Create demo users and the portal client (idempotent); return {username: identity_id}."""
    password = _demo_password(settings)
    portal_url = (portal_url or os.environ.get("FERRY_BASE_URL") or "http://127.0.0.1:5000").rstrip(
        "/"
    )
    redirect_uri = portal_url + "/auth/callback"
    identities: dict[str, str] = {}
    secrets_by_user: dict[str, str] = {}
    with open_db(settings).session() as session:
        for username, name, email, link_to in DEMO_USERS:
            identity = find_by_username(session, username)
            if identity is None:
                primary = find_by_username(session, link_to) if link_to else None
                identity = add_user(session, username, password, name, email, link_to=primary)
            elif not verify_secret(identity.password_hash, password):
                # The demo password changed (LOCALGLOBUS_DEMO_PASSWORD): follow it, so the
                # printed sign-ins always work.
                identity.password_hash = hash_secret(password)
            if not identity.totp_secret:
                # A second factor for sign-ins that ask for MFA (high-assurance policies).
                identity.totp_secret = pyotp.random_base32()
            identities[username] = identity.id
            secrets_by_user[username] = identity.totp_secret
        client_id, secret, redirect_uris = _ensure_portal_client(session, settings, redirect_uri)
        if session.get(Client, GLOBUS_CLI_CLIENT_ID) is None:
            create_client(session, "Globus CLI", client_id=GLOBUS_CLI_CLIENT_ID, native=True)
    _write_private_json(
        settings.portal_client_file,
        {"client_id": client_id, "client_secret": secret, "redirect_uris": redirect_uris},
    )
    for username, name, _email, link_to in DEMO_USERS:
        linked = f", linked with {link_to}" if link_to else ""
        print(f"{username} / {password}  ({name}{linked})")
        print(f"    second factor (TOTP) secret: {secrets_by_user[username]}")
    print(f"portal client {client_id} for {redirect_uri} in {settings.portal_client_file}")
    return identities


def _demo_password(settings: Settings) -> str:
    """LOCALGLOBUS_DEMO_PASSWORD, or one generated on the first run and kept (0600)."""
    if settings.demo_password:
        return settings.demo_password
    path = settings.home / DEMO_PASSWORD_FILE
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(12) + "\n")
    return path.read_text().strip()


def _ensure_portal_client(session, settings: Settings, redirect_uri: str):
    """The portal's confidential client, with `redirect_uri` registered (added to the
    existing ones if the portal moved). Its secret lives only in portal_client.json; if
    that file is gone or stale, the secret is replaced."""
    saved = {}
    if settings.portal_client_file.exists():
        saved = json.loads(settings.portal_client_file.read_text())
    client = session.get(Client, saved["client_id"]) if saved.get("client_id") else None
    if client is None:
        stmt = select(Client).where(Client.name == PORTAL_CLIENT_NAME)
        client = session.scalars(stmt).first()
    if client is None:
        client, secret = create_client(session, PORTAL_CLIENT_NAME, redirect_uris=[redirect_uri])
        return client.id, secret, list(client.redirect_uris)
    secret = saved.get("client_secret") if saved.get("client_id") == client.id else None
    if not secret or not verify_secret(client.secret_hash, secret):
        secret = new_secret()
        client.secret_hash = hash_secret(secret)
    if redirect_uri not in (client.redirect_uris or []):
        client.redirect_uris = [*(client.redirect_uris or []), redirect_uri]
    return client.id, secret, list(client.redirect_uris)


def _write_private_json(path, data: dict) -> None:
    _write_private(path, json.dumps(data, indent=2) + "\n")


def _write_private(path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even briefly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)
