"""The `localglobus` command (also `python -m localglobus`)."""

from __future__ import annotations

import argparse

from localglobus.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localglobus", description="A single-host Globus Auth + Transfer."
    )
    parser.add_argument("--home", help="state folder (default: $LOCALGLOBUS_HOME)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the server")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=_serve)

    from localglobus.auth.commands import add_commands as add_auth_commands
    from localglobus.transfer.commands import add_commands as add_transfer_commands
    from localglobus.transfer.faults import add_fault_commands

    add_auth_commands(sub)
    add_transfer_commands(sub)
    add_fault_commands(sub)

    p = sub.add_parser("demo", help="create the demo users, clients and collections (idempotent)")
    p.add_argument("--portal-url", help="the portal origin (default: $FERRY_BASE_URL)")
    p.set_defaults(func=_demo)
    return parser


def _serve(args, settings: Settings) -> int:
    from localglobus.server import serve

    serve(settings)
    return 0


def _demo(args, settings: Settings) -> int:
    from localglobus.auth.commands import demo_auth
    from localglobus.transfer.commands import demo_transfer

    identities = demo_auth(settings, portal_url=args.portal_url)
    demo_transfer(settings, identities)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env(
        home=args.home, host=getattr(args, "host", None), port=getattr(args, "port", None)
    )
    return args.func(args, settings)
