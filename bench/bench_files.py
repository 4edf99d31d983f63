"""Benchmark: the file manager page vs a direct globus-sdk `operation_ls`, on one localglobus.

    .venv/bin/python bench/bench_files.py [--runs 15]

In one run it starts a throwaway localglobus (demo data plus a folder of 100,000 empty
files in Lab Storage), a portal on loopback HTTP (signed in as `researcher`, with the
data_access consent given through the portal's step-up), and measures:

- the file manager page (`GET /files/?collection=…&path=…`, full HTML of its first page of
  100 entries) for Lab Storage's `/many/` (1,000 entries) and for `/bench-100k/`;
- a direct `TransferClient.operation_ls` of the same path on the same localglobus with
  the same token (all entries, as a client without paging would ask), and for reference
  the direct ls of just the first 100 entries.

It prints medians and the ratios portal / direct; the aims are ≤ 1.5 for 1,000 entries,
and the 100,000-entry first page within 2x of the 1,000-entry page.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import globus_sdk  # noqa: E402
import requests  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

LAB = str(uuid.uuid5(uuid.UUID("6c6f6361-6c67-6c6f-6275-732d64656d6f"), "lab-storage"))
SMALL, BIG = "/many/", "/bench-100k/"
BIG_COUNT = 100_000


def make_big_folder(folder: Path, count: int) -> None:
    """`count` empty files (made once; a rerun in the same home reuses them)."""
    folder.mkdir(exist_ok=True)
    existing = len(os.listdir(folder))
    for i in range(existing, count):
        os.close(os.open(folder / f"f-{i:06d}.dat", os.O_CREAT | os.O_WRONLY, 0o644))


def make_portal(lg, workdir: Path):
    """A portal on a fresh SQLite database, pointed at `lg`."""
    from app import create_app
    from app.cli import upgrade_database
    from app.globus.crypto import generate_key

    url = f"sqlite:///{workdir / 'ferry.db'}"
    upgrade_database(url)
    client = lg.portal_client
    return create_app(
        {
            "INSTANCE_PATH": str(workdir / "instance"),
            "FERRY_DATABASE_URL": url,
            "FERRY_TOKEN_KEYS": [generate_key()],
            "SECRET_KEY": "bench-secret",
            "FERRY_BASE_URL": lg.portal_base_url,
            "FERRY_GLOBUS_AUTH_URL": lg.base_url,
            "FERRY_GLOBUS_TRANSFER_URL": lg.base_url,
            "FERRY_GLOBUS_CLIENT_ID": client["client_id"],
            "FERRY_GLOBUS_CLIENT_SECRET": client["client_secret"],
        }
    )


def sign_in_with_consent(app, lg):
    """Sign in as researcher and consent to Lab Storage's data_access through the portal's
    step-up; returns (session cookie name, value, the user's transfer access token)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.globus import tokens
    from app.globus.client import TRANSFER_RS
    from app.models import User
    from tests.portal.helpers.signin import globus_round_trip, sign_in

    client = app.test_client()
    sign_in(client, lg)
    target = "/files/?" + urlencode({"collection": LAB, "path": SMALL})
    response = client.get(target)
    if response.status_code == 302 and response.headers["Location"].startswith("/auth/consent"):
        step_up = client.get(response.headers["Location"])
        client.get(globus_round_trip(step_up.headers["Location"], lg))
        response = client.get(target)
    if response.status_code != 200:
        raise SystemExit(f"the file manager answered {response.status_code}")
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        token = tokens.get_access_token(user.id, TRANSFER_RS)
    return name, cookie.value, token


def serve(app) -> str:
    """The portal on a loopback port, as a browser would reach it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure(cases: dict, runs: int, warmup: int = 2) -> dict[str, float]:
    """Median milliseconds per case; the cases take turns so that drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(warmup + runs):
        for name, fn in cases.items():
            ms = timed(fn)
            if i >= warmup:
                samples[name].append(ms)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per case")
    args = parser.parse_args()

    from tests.conftest import start_localglobus

    with tempfile.TemporaryDirectory(prefix="ferry-bench-") as tmp:
        workdir = Path(tmp)
        print("starting localglobus with the demo data ...", flush=True)
        lg = start_localglobus(workdir / "localglobus")
        try:
            print(f"making {BIG_COUNT:,} files in Lab Storage{BIG} ...", flush=True)
            make_big_folder(lg.home / "collections" / "lab-storage" / BIG.strip("/"), BIG_COUNT)
            app = make_portal(lg, workdir)
            cookie_name, cookie_value, token = sign_in_with_consent(app, lg)
            base = serve(app)
            browser = requests.Session()
            browser.cookies.set(cookie_name, cookie_value, domain="127.0.0.1")
            tc = globus_sdk.TransferClient(
                base_url=lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
            )

            def portal(path: str):
                def get():
                    r = browser.get(f"{base}/files/", params={"collection": LAB, "path": path})
                    if r.status_code != 200 or r.text.count('name="item"') != 100:
                        raise SystemExit(f"portal page for {path}: {r.status_code}")

                return get

            def direct(path: str, **kwargs):
                def ls():
                    tc.operation_ls(LAB, path=path, **kwargs)

                return ls

            print(f"measuring ({args.runs} runs per case) ...", flush=True)
            small = measure(
                {
                    "portal": portal(SMALL),
                    "direct": direct(SMALL),
                    "direct100": direct(SMALL, limit=100),
                },
                args.runs,
            )
            big = measure(
                {
                    "portal": portal(BIG),
                    "direct": direct(BIG),
                    "direct100": direct(BIG, limit=100),
                },
                max(3, args.runs // 3),
                warmup=1,
            )
        finally:
            lg.stop()

    rows = [
        ("folder of 1,000 entries", small),
        (f"folder of {BIG_COUNT:,} entries", big),
    ]
    print()
    print(
        f"{'median ms':<28}{'portal page':>12}{'direct ls':>12}{'ratio':>8}"
        f"{'direct ls, first 100':>24}"
    )
    for label, m in rows:
        print(
            f"{label:<28}{m['portal']:>12.1f}{m['direct']:>12.1f}"
            f"{m['portal'] / m['direct']:>8.2f}{m['direct100']:>24.1f}"
        )
    small_ratio = small["portal"] / small["direct"]
    big_vs_small = big["portal"] / small["portal"]
    print()
    print(f"portal / direct, 1,000 entries: {small_ratio:.2f} (aim <= 1.5)")
    print(f"portal first page, 100,000 vs 1,000 entries: {big_vs_small:.2f}x (aim <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
