"""Fixtures and helpers of the researcher and accessibility e2e tests (and the README
screenshot): a localglobus of the module's own, the portal served over real HTTP at the
origin its OAuth client is registered for, and headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright; `playwright install` is never run).

test_admin_e2e.py keeps fixtures of its own (`admin_e2e_*`, `browser`); these have other
names so that both sets can live side by side.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import DEMO_PASSWORD, LocalGlobus, start_localglobus

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000  # the longest any single page step may take


@contextmanager
def serve_portal(lg: LocalGlobus, instance: Path) -> Iterator[str]:
    """The portal, migrated and configured for `lg`, served in a thread at the origin
    `lg`'s portal client expects; yields that origin (no trailing slash)."""
    from werkzeug.serving import make_server

    from app import create_app
    from app.cli import upgrade_database
    from app.globus.crypto import generate_key

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    instance.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{instance / 'ferry.db'}"
    upgrade_database(url)
    client = lg.portal_client
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "FERRY_DATABASE_URL": url,
            "FERRY_TOKEN_KEYS": [generate_key()],
            "SECRET_KEY": "e2e-secret",
            "FERRY_BASE_URL": lg.portal_base_url.rstrip("/"),
            "FERRY_GLOBUS_AUTH_URL": lg.base_url,
            "FERRY_GLOBUS_TRANSFER_URL": lg.base_url,
            "FERRY_GLOBUS_CLIENT_ID": client["client_id"],
            "FERRY_GLOBUS_CLIENT_SECRET": client["client_secret"],
        }
    )
    parts = urlsplit(lg.portal_base_url)
    server = make_server(parts.hostname, parts.port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lg.portal_base_url.rstrip("/")
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def launch_chromium():
    """Headless Debian Chromium under Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def is_consent_page(lg: LocalGlobus, url: str) -> bool:
    """Whether `url` is localglobus's consent page (Globus Auth's "Allow …?")."""
    return url.startswith(lg.base_url + "v2/web/consent")


def allow_consent(page, lg: LocalGlobus, portal: str) -> None:
    """On localglobus's consent page: Allow, and wait to be back on the portal."""
    assert is_consent_page(lg, page.url), page.url
    page.click("button[name=decision][value=allow]")
    page.wait_for_url(f"{portal}/**")
    page.wait_for_load_state()


def goto_through_consent(page, lg: LocalGlobus, portal: str, path: str) -> None:
    """Open `path` of the portal, allowing the consent step-up if Globus asks for one."""
    page.goto(portal + path)
    if is_consent_page(lg, page.url):
        allow_consent(page, lg, portal)


def sign_in(browser, portal: str, lg: LocalGlobus, username: str = "researcher", **context):
    """A browser context of its own with `username` signed in through localglobus's
    sign-in (and, the first time, consent) pages; returns its page on the portal."""
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    page.goto(f"{portal}/")
    page.click("header .account a:text('Sign in')")
    page.wait_for_url(lg.base_url + "v2/web/login**")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.startswith(portal) or is_consent_page(lg, url))
    if is_consent_page(lg, page.url):
        allow_consent(page, lg, portal)
    # The home page loads its summary after itself; a reader waits for it, and so does
    # the test (see test_consent_step_up_survives_requests_from_another_tab).
    page.locator("#home-summary h2").first.wait_for()
    return page


def navigations(page) -> list[str]:
    """Every URL the page's main frame goes to from now on, appended as it happens."""
    seen: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and seen.append(frame.url))
    return seen


def wait_until(condition: Callable[[], bool], page, timeout_ms: int = WAIT_MS) -> None:
    """Poll `condition` (a Python check, e.g. on disk) while the page stays responsive."""
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise AssertionError(f"not true after {timeout_ms} ms: {condition}")
        page.wait_for_timeout(200)
        waited += 200


def tree_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by path relative to it."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def many_tiny_files(folder: Path, count: int) -> None:
    """`count` tiny files in `folder`, made in a blink: hard links to one file (a
    transfer still copies each as a file of its own)."""
    folder.mkdir(parents=True)
    first = folder / "f00000.txt"
    first.write_bytes(b"tiny\n")
    for i in range(1, count):
        (folder / f"f{i:05d}.txt").hardlink_to(first)


@pytest.fixture(scope="module")
def e2e_globus(tmp_path_factory) -> Iterator[LocalGlobus]:
    """A localglobus of this module's own: consents and files of other tests never show."""
    lg = start_localglobus(tmp_path_factory.mktemp("lg-e2e"))
    try:
        yield lg
    finally:
        lg.stop()


@pytest.fixture(scope="module")
def e2e_portal(e2e_globus, tmp_path_factory) -> Iterator[str]:
    """The portal over HTTP for `e2e_globus`; its origin."""
    with serve_portal(e2e_globus, tmp_path_factory.mktemp("portal-e2e")) as origin:
        yield origin


@pytest.fixture(scope="module")
def chromium_browser():
    """One headless Chromium per module (Playwright's sync API allows one at a time, and
    test_admin_e2e.py starts its own)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    with launch_chromium() as browser:
        yield browser
