"""Helpers for the transfer, task and submission tests: the demo collections of the live
localglobus, consent for the mapped ones, the two-pane form as a browser posts it, and
waiting for a task.

    from tests.portal.helpers.transfers import demo, consent_all, transfer_form, ...
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from bs4 import BeautifulSoup

from tests.portal.helpers.pages import page
from tests.portal.helpers.signin import (
    authorize_url,
    callback,
    globus_round_trip,
    shared_browser,
    sign_in,
)
from tests.waiting import wait_until

TRANSFER_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"


@dataclass(frozen=True)
class DemoCollection:
    id: str
    name: str
    root: Path

    @property
    def data_access(self) -> str:
        """The consent scope a ConsentRequired names for this mapped collection."""
        return f"{TRANSFER_SCOPE}[*https://auth.globus.org/scopes/{self.id}/data_access]"


_DEMO: dict[str, dict[str, DemoCollection]] = {}  # localglobus home -> its demo collections


def demo(lg) -> dict[str, DemoCollection]:
    """{"Lab Storage": ..., "Archive": ..., "Shared Results": ...} from `collection list`,
    asked once per localglobus home (a subprocess each time would cost most of a second;
    the demo collections never change during a run)."""
    key = str(lg.home)
    if key not in _DEMO:
        found = {}
        for line in lg.cli("collection", "list").stdout.splitlines():
            cid, _kind, name, root = line.split("\t")
            found[name] = DemoCollection(cid, name, Path(root))
        _DEMO[key] = found
    return dict(_DEMO[key])


def consent_all(client, lg, *collections: DemoCollection, username: str = "researcher"):
    """The consent step-up for these mapped collections, at once, as a browser does it."""
    url = authorize_url(
        client, "/auth/consent", scope=[c.data_access for c in collections], next="/"
    )
    path = globus_round_trip(url, lg, username, browser=shared_browser(lg, username))
    response = callback(client, path)
    assert response.status_code == 302, response.status_code
    return response


def researcher(client, lg) -> dict[str, DemoCollection]:
    """Sign in as researcher and consent for both mapped demo collections."""
    collections = demo(lg)
    sign_in(client, lg)
    consent_all(client, lg, collections["Lab Storage"], collections["Archive"])
    return collections


def transfer_page(client, src: DemoCollection, src_path: str, dst: DemoCollection, dst_path: str):
    """GET the two-pane page with both folders chosen."""
    query = urlencode({"src": src.id, "src_path": src_path, "dst": dst.id, "dst_path": dst_path})
    return client.get(f"/transfers/?{query}")


def form_fields(response, form_id: str = "transfer-form") -> dict[str, list[str]]:
    """What a browser would post for the form `form_id` (its own fields and the ones
    outside it with form=..., checkboxes only when checked)."""
    soup = page(response)
    form = soup.find("form", id=form_id)
    assert form is not None, f"no form #{form_id}"
    fields: dict[str, list[str]] = {}
    inputs = form.find_all(["input", "select", "textarea"]) + soup.find_all(
        ["input", "select"], attrs={"form": form_id}
    )
    for field in inputs:
        name = field.get("name")
        kind = (field.get("type") or "text").lower()
        if not name or kind in ("submit", "button"):
            continue
        if kind in ("checkbox", "radio"):
            if field.has_attr("checked"):
                fields.setdefault(name, []).append(field.get("value", "y"))
        elif field.name == "select":
            option = field.find("option", selected=True) or field.find("option")
            fields.setdefault(name, []).append(option.get("value", ""))
        else:
            fields.setdefault(name, []).append(field.get("value", ""))
    return fields


def transfer_form(
    client,
    src: DemoCollection,
    src_path: str,
    dst: DemoCollection,
    dst_path: str,
    items: list[str],
    **options,
) -> dict[str, list[str]]:
    """The transfer form as rendered (with its minted submission_id), items ticked and
    options set: `label="x"`, `verify_checksum=False` (unticks), `deadline="..."`."""
    response = transfer_page(client, src, src_path, dst, dst_path)
    assert response.status_code == 200, response.status_code
    fields = form_fields(response)
    names = {box["value"] for box in page(response).find_all("input", attrs={"name": "items"})}
    missing = set(items) - names
    assert not missing, f"not in the source pane: {missing}"
    fields["items"] = list(items)
    for key, value in options.items():
        if value is False:
            fields.pop(key, None)
        elif value is True:
            fields[key] = ["y"]
        else:
            fields[key] = [str(value)]
    return fields


def task_id_of(response) -> str:
    """The task id of a redirect to its task page."""
    assert response.status_code == 302, response.status_code
    path = urlsplit(response.headers["Location"]).path
    assert path.startswith("/tasks/"), path
    return path.rsplit("/", 1)[-1]


def wait_for_task(client, task_id: str, timeout: float = 60) -> BeautifulSoup:
    """Poll the progress fragment, as the page does, until the task has ended."""

    def ended() -> BeautifulSoup | None:
        fragment = page(client.get(f"/tasks/{task_id}/progress"))
        section = fragment.find(id="task-progress")
        if section is not None and section["data-status"] in ("SUCCEEDED", "FAILED"):
            return fragment
        return None

    return wait_until(ended, f"task {task_id} to end", timeout=timeout, interval=0.3)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# The demo collections are shared by every test of the run: these tests keep their
# folders under one scratch folder, so that other tests' listings of a root stay as
# `localglobus demo` made them.
SCRATCH = "portal-tests"


def scratch(prefix: str) -> str:
    """A fresh folder name under SCRATCH, e.g. "portal-tests/incoming-1a2b3c4d5e"."""
    return f"{SCRATCH}/{unique(prefix)}"


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by relative path, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def tasks_labelled(client, label: str) -> list[str]:
    """The ids of the user's tasks whose label contains `label`, from the Activity page."""
    response = client.get("/tasks/?" + urlencode({"label": label}))
    assert response.status_code == 200, response.status_code
    links = page(response).select("table.tasks tbody a[href^='/tasks/']")
    return [a["href"].rsplit("/", 1)[-1] for a in links]
