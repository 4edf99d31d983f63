"""The main pages are usable by screen reader and keyboard, checked in headless Chromium
on real pages (a localglobus of this module's own, researcher signed in).

Each page has one `main` landmark, a label on every `nav`, one h1, a name from a label,
aria-label or aria-labelledby on every visible form control (placeholders do not count)
and on every button and link, no positive tabindex; the first Tab reaches the skip link,
which takes focus to `main`, and Tab from there reaches the page's main action without
leaving `main`.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from localglobus.transfer.commands import _DEMO_NS
from tests.e2e.conftest import (
    CHROMIUM,
    WAIT_MS,
    goto_through_consent,
    many_tiny_files,
    sign_in,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

LAB_STORAGE_ID = str(uuid.uuid5(_DEMO_NS, "lab-storage"))
ARCHIVE_ID = str(uuid.uuid5(_DEMO_NS, "archive"))
LONG_FOLDER = "a11y-long"
LONG_FILES = 20000  # the task page is checked while its task runs (its forms show)
MAX_TABS = 250

# Each page, and the action a keyboard user must be able to reach on it: (role, name).
PAGES = {
    "home, signed out": ("/", ("link", "Sign in with Globus")),
    "home": ("/", ("link", "Your profile")),
    "collections": ("/collections/?q=Lab&scope=all", ("button", "Search")),
    "file manager": (
        f"/files/?collection={LAB_STORAGE_ID}&path=/~/data/",
        ("button", "Make folder"),
    ),
    "transfer": (
        f"/transfers/?src={LAB_STORAGE_ID}&src_path=/~/data/&dst={ARCHIVE_ID}&dst_path=/~/",
        ("button", "Start transfer"),
    ),
    "activity": ("/tasks/", ("button", "Filter")),
    "task": (None, ("button", "Cancel task")),  # a running task, started for the test
    "profile": ("/auth/profile", ("button", "Revoke tokens and sign out")),
}

# What a screen reader is told about the page, computed in the page. A control's name
# comes from aria-labelledby, aria-label or its <label>s, nothing else.
AUDIT = """() => {
  const shown = el =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const text = id => (document.getElementById(id)?.textContent || '').trim();
  const labelled = el => {
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\\s+/).map(text).join(' ').trim();
    const aria = (el.getAttribute('aria-label') || '').trim();
    if (aria) return aria;
    return Array.from(el.labels || []).map(l => l.textContent.trim()).join(' ').trim();
  };
  const all = selector => Array.from(document.querySelectorAll(selector));
  const html = el => el.outerHTML.slice(0, 200);
  return {
    lang: document.documentElement.lang,
    title: document.title.trim(),
    mains: all('main, [role=main]').length,
    h1s: all('h1').map(h => h.textContent.trim()),
    navs: all('nav, [role=navigation]').map(labelled),
    unnamed_controls: all('input:not([type=hidden]), select, textarea')
      .filter(shown).filter(el => !labelled(el)).map(html),
    unnamed_actions: all('button, a[href]').filter(shown)
      .filter(el => !labelled(el) && !el.textContent.trim()).map(html),
    positive_tabindex: all('[tabindex]').filter(el => el.tabIndex > 0).map(html),
  };
}"""

# Where focus is, as something a failure message can show.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: 'body', in_main: false, shown: true};
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent || '').trim().slice(0, 60),
    in_main: !!el.closest('main'), shown: box.width > 0 && box.height > 0,
    on_screen: box.right > 0 && box.bottom > 0,
  };
}"""


@pytest.fixture(scope="module")
def researcher(chromium_browser, e2e_portal, e2e_globus):
    """researcher, signed in, having consented for both mapped collections (through the
    transfer page, which asks for both at once) and with a finished task in Activity."""
    page = sign_in(chromium_browser, e2e_portal, e2e_globus, "researcher")
    goto_through_consent(page, e2e_globus, e2e_portal, PAGES["transfer"][0])
    page.locator("#pane-src input[name=items][value='processed/']").check()
    page.fill("#label", "a11y small transfer")
    page.get_by_role("button", name="Start transfer").click()
    expect(page.locator("#task-progress")).to_have_attribute(
        "data-status", "SUCCEEDED", timeout=60_000
    )
    many_tiny_files(e2e_globus.home / "collections" / "lab-storage" / LONG_FOLDER, LONG_FILES)
    yield page
    page.context.close()


def start_long_transfer(page, portal: str) -> None:
    """Submit a transfer of many tiny files and stay on its (running) task page."""
    page.goto(
        f"{portal}/transfers/?src={LAB_STORAGE_ID}&src_path=/~/&dst={ARCHIVE_ID}"
        f"&dst_path=/~/a11y-{uuid.uuid4().hex[:8]}/"
    )
    page.locator(f"#pane-src input[name=items][value='{LONG_FOLDER}/']").check()
    page.fill("#label", "a11y long transfer")
    page.get_by_role("button", name="Start transfer").click()
    page.wait_for_url(f"{portal}/tasks/*")
    expect(page.locator("#task-progress")).to_have_attribute("data-status", "ACTIVE")


@pytest.fixture(params=list(PAGES))
def shown(request, chromium_browser, researcher, e2e_portal, e2e_globus):
    """(name, a browser page showing that page, its main action as (role, name))."""
    name = request.param
    path, action = PAGES[name]
    if name == "home, signed out":
        page = chromium_browser.new_context().new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(e2e_portal + path)
        yield name, page, action
        page.context.close()
        return
    page = researcher
    if name == "task":
        start_long_transfer(page, e2e_portal)
    else:
        goto_through_consent(page, e2e_globus, e2e_portal, path)
    if name == "home":
        page.locator("#home-summary h2").first.wait_for()
    yield name, page, action
    if name == "task" and page.get_by_role("button", name="Cancel task").count():
        page.get_by_role("button", name="Cancel task").click()  # sign_in accepts the dialog
        expect(page.locator(".flash")).to_be_visible()


def test_page_has_one_main_labelled_navs_one_h1_and_named_controls(shown):
    name, page, _ = shown
    audit = page.evaluate(AUDIT)
    assert audit["lang"] == "en" and audit["title"], name
    assert audit["mains"] == 1, name
    assert audit["navs"] and all(audit["navs"]), f"{name}: a nav without a label {audit['navs']}"
    assert "Main" in audit["navs"], name
    assert len(audit["h1s"]) == 1, f"{name}: h1s {audit['h1s']}"
    assert audit["unnamed_controls"] == [], name
    assert audit["unnamed_actions"] == [], name
    assert audit["positive_tabindex"] == [], name


def test_skip_link_comes_first_and_tab_reaches_the_main_action(shown):
    name, page, (role, label) = shown
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    assert page.evaluate(FOCUSED)["on_screen"], f"{name}: the focused skip link is off screen"
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()

    target = page.get_by_role("main").get_by_role(role, name=label, exact=True).first
    walked = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        walked.append(focused)
        assert focused["in_main"], f"{name}: focus left main before the action: {walked}"
        assert focused["shown"], f"{name}: focus on something not shown: {focused}"
        if target.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError(f"{name}: {MAX_TABS} Tabs never reached {role} {label!r}")
