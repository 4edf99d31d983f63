"""The file manager's world at the live localglobus, for the files, collections and home
tests: the demo collections' fixed ids, their folders on disk, browsing through the
data_access consent step-up, and reading listings and the delete confirmation.

    from tests.portal.helpers.files import LAB, browse, row_names
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlencode

from bs4 import BeautifulSoup

from tests.portal.helpers.pages import forget_cached_csrf_token, page
from tests.portal.helpers.signin import globus_round_trip, shared_browser

# localglobus demo collections have fixed ids (localglobus.transfer.commands).
_DEMO_NS = uuid.UUID("6c6f6361-6c67-6c6f-6275-732d64656d6f")
LAB = str(uuid.uuid5(_DEMO_NS, "lab-storage"))
ARCHIVE = str(uuid.uuid5(_DEMO_NS, "archive"))
SHARED = str(uuid.uuid5(_DEMO_NS, "shared-results"))


def lab_root(lg) -> Path:
    return lg.home / "collections" / "lab-storage"


def url(route: str, **params) -> str:
    return route + "?" + urlencode(params, doseq=True)


def get_through_consent(client, lg, target: str):
    """GET `target`; when the portal asks for a collection's data_access consent, go
    through the step-up at localglobus as a browser would, and GET it again."""
    response = client.get(target)
    if response.status_code == 302 and response.headers["Location"].startswith("/auth/consent"):
        step_up = client.get(response.headers["Location"])
        assert step_up.status_code == 302
        back = client.get(
            globus_round_trip(step_up.headers["Location"], lg, browser=shared_browser(lg))
        )
        assert back.status_code == 302
        assert back.headers["Location"] == target
        forget_cached_csrf_token()
        response = client.get(target)
    return response


# A form page that needs no call to Globus: where tests that must not reach Globus read
# their session's CSRF token (`csrf_token(client, NO_GLOBUS_PAGE)`).
NO_GLOBUS_PAGE = url("/files/new-folder", collection=LAB, path="/")


def browse(client, lg, collection: str = LAB, **params):
    response = get_through_consent(client, lg, url("/files/", collection=collection, **params))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def row_names(soup: BeautifulSoup) -> list[str]:
    """The names in the listing table, in order (folders without their trailing /)."""
    table = soup.find("table", class_="listing")
    names = []
    for th in table.select("tbody th[scope=row]"):
        for decoration in th.select("[aria-hidden=true], .badge"):
            decoration.extract()
        names.append(th.get_text(" ", strip=True).removesuffix("/"))
    return names


def errors(soup: BeautifulSoup) -> str:
    found = soup.select(".form-error, .error, .error-message")
    return " ".join(e.get_text(" ", strip=True) for e in found)


def confirm_page(client, path: str, *names: str):
    response = client.get(url("/files/confirm-delete", collection=LAB, path=path, item=list(names)))
    assert response.status_code == 200
    return page(response)


def confirm_form(soup: BeautifulSoup) -> dict:
    form = soup.find("form", attrs={"action": "/files/delete"})
    data = {}
    for field in form.find_all("input"):
        if field.get("type") == "checkbox":
            continue
        if field["name"] == "item":
            data.setdefault("item", []).append(field["value"])
        else:
            data[field["name"]] = field.get("value", "")
    return data
