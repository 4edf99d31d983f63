"""`python -m app.cli` (also `ferry`): migrate, serve, rekey-tokens, gen-token-key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None):
    """Alembic's config for this repository; `url` overrides FERRY_DATABASE_URL."""
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    """Run the migrations up to `revision` on `url` (default: FERRY_DATABASE_URL)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str | None = None, revision: str = "base") -> None:
    """Undo the migrations down to `revision`."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def _migrate(args: argparse.Namespace) -> int:
    from app.config import load_config

    url = load_config()["FERRY_DATABASE_URL"]
    upgrade_database(url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from app import create_app

    app = create_app()
    base = urlsplit(app.config["FERRY_BASE_URL"])
    host = args.host or base.hostname or "127.0.0.1"
    port = args.port or base.port or (443 if base.scheme == "https" else 80)
    # Threaded: a slow Globus call must not block other requests (and refresh is
    # single-flight across threads anyway).
    app.run(host=host, port=port, threaded=True, debug=app.config["DEBUG"])
    return 0


def _rekey(args: argparse.Namespace) -> int:
    from app import create_app
    from app.globus.tokens import rekey_all

    app = create_app()
    with app.app_context():
        result = rekey_all()
    print(f"re-encrypted {result.rekeyed} token rows with the newest key")
    if result.failed:
        print(
            f"{result.failed} rows could not be decrypted with any configured key: "
            "keep the old keys until those users sign in again",
            file=sys.stderr,
        )
        return 1
    return 0


def _gen_key(args: argparse.Namespace) -> int:
    from app.globus.crypto import generate_key

    print(generate_key())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ferry", description="Ferry portal commands")
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("migrate", help="upgrade the database (FERRY_DATABASE_URL)")
    m.add_argument("revision", nargs="?", default="head")
    m.set_defaults(func=_migrate)
    s = sub.add_parser("serve", help="development server on FERRY_BASE_URL's host and port")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(func=_serve)
    r = sub.add_parser("rekey-tokens", help="re-encrypt every token with the newest key")
    r.set_defaults(func=_rekey)
    g = sub.add_parser("gen-token-key", help="print a new key for FERRY_TOKEN_KEYS")
    g.set_defaults(func=_gen_key)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m app.cli` and the `ferry` script."""
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
