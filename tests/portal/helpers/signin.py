"""Signing in from tests, for real: the portal's test client plus a browser-like
`requests.Session` that talks to the live localglobus.

    from tests.portal.helpers.signin import sign_in

    def test_something(client, localglobus):
        sign_in(client, localglobus)                    # as "researcher"
        sign_in(client, localglobus, "admin")           # or another demo user
        sign_in(client, localglobus, next="/files/")    # lands on /files/ afterwards
        sign_in(client, localglobus, fresh=True)        # the whole round trip, password too

`sign_in` drives /auth/login on the Flask test client, follows the redirect to
localglobus's authorize URL, fills in its sign-in and consent forms (parsed with
BeautifulSoup, whatever their field names), takes `code` and `state` from the redirect
back to the portal and calls /auth/callback on the test client. It fails with a readable
message when any step does not go as a browser would see it.

Signing in once per run per user: localglobus keeps a signed-in person in its session
cookie, so each demo user has one shared browser (`shared_browser`), kept on the
LocalGlobus object and so living as long as that server. The first sign-in of a user
fills in the password form; later ones find localglobus's sign-in cookie, skip straight
to the consent page and come back with a new code. Each test still gets its own portal
session (its own test client, a new session id from the callback) and its own tokens
(its own code exchange), so a test that signs out or revokes spends nothing shared.
The portal's own sign-in tests pass `fresh=True`: a new browser, the whole round trip.

Lower-level pieces for tests of the flow itself: `authorize_url` (start a login or a
consent step-up and return where the portal sends the browser), `globus_round_trip`
(sign in and consent at localglobus, return the callback path), `callback`.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from bs4 import BeautifulSoup

from tests.conftest import DEMO_PASSWORD

CALLBACK_PATH = "/auth/callback"
# Button labels that mean "yes" on a sign-in or consent page, and those that mean "no".
_YES = re.compile(r"allow|approve|accept|consent|continue|sign ?in|log ?in|yes|submit", re.I)
_NO = re.compile(r"deny|decline|cancel|reject|\bno\b", re.I)
MAX_STEPS = 10


def authorize_url(client, path: str = "/auth/login", **params) -> str:
    """GET `path` (login or consent step-up) on the portal; return the authorize URL."""
    response = client.get(path + ("?" + urlencode(params, doseq=True) if params else ""))
    assert response.status_code == 302, f"{path} answered {response.status_code}, not 302"
    return response.headers["Location"]


def globus_round_trip(
    url: str,
    lg,
    username: str = "researcher",
    password: str = DEMO_PASSWORD,
    *,
    approve: bool = True,
    browser: requests.Session | None = None,
) -> str:
    """Act as the browser at localglobus from `url` (its authorize URL): sign in as
    `username`, consent (or refuse with approve=False), and return the portal callback
    path with its query (`/auth/callback?code=...&state=...`).

    A new browser each time (the password form every time) unless `browser` is given,
    e.g. `shared_browser(lg, username)`, which is signed in at localglobus already."""
    browser = browser if browser is not None else requests.Session()
    callback_prefix = lg.portal_base_url.rstrip("/") + CALLBACK_PATH
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(callback_prefix):
                parts = urlsplit(location)
                return parts.path + ("?" + parts.query if parts.query else "")
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, _describe(response, "unexpected status")
        response = _submit(browser, response, username, password, approve)
    raise AssertionError(f"no redirect to {callback_prefix} after {MAX_STEPS} steps")


def shared_browser(lg, username: str = "researcher", password: str = DEMO_PASSWORD):
    """The one browser of `username` at `lg` for the whole run: it answers localglobus's
    password form the first time it is used and holds its sign-in cookie afterwards."""
    key = (username, password)
    if key not in lg.browsers:
        lg.browsers[key] = requests.Session()
    return lg.browsers[key]


def callback(client, path: str):
    """Deliver the callback to the portal, as the browser would after Globus."""
    return client.get(path)


def sign_in(
    client,
    lg,
    username: str = "researcher",
    *,
    password: str = DEMO_PASSWORD,
    next: str | None = None,  # noqa: A002 - the portal's parameter name
    fresh: bool = False,
):
    """Sign `username` in on the test `client` through the live localglobus `lg`: with
    the user's shared browser (see the module docstring), or with fresh=True a new one
    that signs in with the password.

    Returns the portal's callback response (a 302 to `next`, or to "/").
    """
    url = authorize_url(client, **({"next": next} if next is not None else {}))
    browser = None if fresh else shared_browser(lg, username, password)
    path = globus_round_trip(url, lg, username, password, browser=browser)
    response = callback(client, path)
    if response.status_code != 302:
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        heading = page.find("h1")
        message = page.find(class_="error-message")
        raise AssertionError(
            f"sign-in of {username!r} failed: {response.status_code} "
            f"{heading.get_text(strip=True) if heading else ''}: "
            f"{message.get_text(strip=True) if message else ''}"
        )
    return response


def _submit(browser: requests.Session, page: requests.Response, username, password, approve):
    """Fill in and post the one form of the page that moves the flow on."""
    soup = BeautifulSoup(page.text, "html.parser")
    forms = soup.find_all("form")
    assert forms, _describe(page, "a page with no form and no redirect")
    form = next((f for f in forms if f.find("input", attrs={"type": "password"})), None)
    button = None
    if form is None:
        form, button = _pick_button(forms, approve)
    elif (buttons := _buttons(form)) and len(buttons) > 1:
        _, button = _pick_button([form], approve)
    data = _fields(form, username, password)
    if button is not None and button.get("name"):
        data[button["name"]] = button.get("value", "")
    action = urljoin(page.url, form.get("action") or page.url)
    method = (form.get("method") or "get").lower()
    if method == "post":
        return browser.post(action, data=data, allow_redirects=False, timeout=10)
    return browser.get(action, params=data, allow_redirects=False, timeout=10)


def _buttons(form):
    return form.find_all(["button", "input"], attrs={"type": ["submit", None]}) or []


def _pick_button(forms, approve):
    """The form and button whose label says yes (or no when approve is False)."""
    wanted = _YES if approve else _NO
    for form in forms:
        for button in _buttons(form):
            if button.name == "input" and button.get("type") != "submit":
                continue
            label = " ".join(
                filter(
                    None,
                    [button.get_text(" ", strip=True), button.get("value"), button.get("name")],
                )
            )
            if wanted.search(label) and (approve is False or not _NO.search(label)):
                return form, button
    raise AssertionError(f"no {'approve' if approve else 'deny'} button among {len(forms)} forms")


def _fields(form, username: str, password: str) -> dict[str, str]:
    data = {}
    for field in form.find_all(["input", "select", "textarea"]):
        name = field.get("name")
        kind = (field.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "reset"):
            continue
        if kind == "password":
            data[name] = password
        elif kind in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data[name] = field.get("value", "on")
        elif kind in ("text", "email") and re.search(r"user|login|email|name", name, re.I):
            data[name] = field.get("value") or username
        elif field.name == "select":
            option = field.find("option", selected=True) or field.find("option")
            data[name] = option.get("value", option.get_text()) if option else ""
        else:
            data[name] = field.get("value", field.get_text() if field.name == "textarea" else "")
    return data


def _describe(response: requests.Response, what: str) -> str:
    soup = BeautifulSoup(response.text, "html.parser")
    title = soup.find(["h1", "title"])
    text = title.get_text(strip=True) if title else response.text[:200]
    return f"{what}: {response.status_code} at {response.url}: {text}"
