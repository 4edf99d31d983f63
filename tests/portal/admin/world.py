"""The admin tests' world at the live localglobus: users holding each role on the demo
guest collection "Shared Results" (owned by `admin`), a second guest collection, and
direct globus-sdk clients to set things up and to check what Globus holds, before and
after a request, without going through the portal.

    def test_x(world):  # the fixture is in tests/portal/admin/conftest.py
        world.transfer("admin").endpoint_acl_list(world.shared_id)
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import globus_sdk

from localglobus.transfer.commands import _DEMO_NS
from tests.conftest import DEMO_PASSWORD
from tests.portal.helpers.signin import globus_round_trip, shared_browser
from tests.waiting import wait_until

# localglobus's demo collections have fixed ids; the mapped ones need data_access consent.
LAB_STORAGE_ID = str(uuid.uuid5(_DEMO_NS, "lab-storage"))
TRANSFER_RS = "transfer.api.globus.org"
AUTH_RS = "auth.globus.org"
SCOPES = [
    "openid",
    "profile",
    "email",
    "urn:globus:auth:scope:auth.globus.org:view_identity_set",
    "urn:globus:auth:scope:transfer.api.globus.org:all"
    f"[*https://auth.globus.org/scopes/{LAB_STORAGE_ID}/data_access]",
]

# The admin tests' own users (other areas' tests never see them), by the role each holds
# on "Shared Results". `admin` owns the collection: administrator.
ROLE_USERS = {
    "adm-monitor": "activity_monitor",
    "adm-actmanager": "activity_manager",
    "adm-accessmanager": "access_manager",
}
PLAIN_USERS = ("adm-norole", "adm-bystander", "adm-owner")


# The admin tests' own OAuth client: localglobus records consents per (identity, client),
# so what these direct calls consent to (Lab Storage's data_access) never leaks into what
# other tests expect of the portal's client.
TEST_CLIENT_ID = "ad0e7e57-0000-4000-8000-0000000000ad"
TEST_CLIENT_SECRET = "ferry-admin-tests-secret"
_CLIENT_ADDED: set[str] = set()  # localglobus homes where the client is registered


def globus_tokens(lg, username: str) -> dict:
    """Sign `username` in at localglobus with the admin tests' client, as a browser would,
    and redeem the code directly: {resource server: token data}."""
    redirect_uri = lg.portal_base_url.rstrip("/") + "/auth/callback"
    if str(lg.home) not in _CLIENT_ADDED:
        _CLIENT_ADDED.add(str(lg.home))
        lg.cli(
            "client",
            "add",
            "Ferry admin tests",
            "--id",
            TEST_CLIENT_ID,
            "--secret",
            TEST_CLIENT_SECRET,
            "--redirect-uri",
            redirect_uri,
            check=False,
        )
    auth = globus_sdk.ConfidentialAppAuthClient(
        client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET, base_url=lg.base_url
    )
    auth.oauth2_start_flow(redirect_uri, SCOPES)
    url = auth.oauth2_get_authorize_url()
    path = globus_round_trip(url, lg, username, browser=shared_browser(lg, username))
    code = parse_qs(urlsplit(path).query)["code"][0]
    return auth.oauth2_exchange_code_for_tokens(code).by_resource_server


@dataclass
class World:
    lg: object
    shared_id: str = ""
    other_id: str = ""
    identities: dict[str, str] = field(default_factory=dict)  # username -> identity id
    task_ids: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    _tokens: dict[str, dict] = field(default_factory=dict)

    def tokens(self, username: str) -> dict:
        if username not in self._tokens:
            self._tokens[username] = globus_tokens(self.lg, username)
        return self._tokens[username]

    def owner_of(self, collection_id: str | None) -> globus_sdk.TransferClient:
        """The administrator of the collection: admin for Shared Results, adm-owner for
        the second share (so that admin's own collection list stays as other tests see
        it)."""
        return self.transfer("adm-owner" if collection_id == self.other_id else "admin")

    def transfer(self, username: str = "admin") -> globus_sdk.TransferClient:
        """A TransferClient acting as `username`, straight at localglobus."""
        token = self.tokens(username)[TRANSFER_RS]["access_token"]
        return globus_sdk.TransferClient(
            base_url=self.lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
        )

    def auth(self, username: str = "admin") -> globus_sdk.AuthClient:
        token = self.tokens(username)[AUTH_RS]["access_token"]
        return globus_sdk.AuthClient(
            base_url=self.lg.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(token)
        )

    # -- what Globus holds --------------------------------------------------------------

    def rules(self, collection_id: str | None = None) -> list[dict]:
        data = self.owner_of(collection_id).endpoint_acl_list(collection_id or self.shared_id)
        data = data["DATA"]
        return sorted((dict(r) for r in data), key=lambda r: (str(r.get("id")), r["path"]))

    def roles(self, collection_id: str | None = None) -> list[dict]:
        data = self.owner_of(collection_id).endpoint_role_list(collection_id or self.shared_id)
        data = data["DATA"]
        return sorted((dict(r) for r in data), key=lambda r: r["id"])

    def snapshot(self) -> dict:
        """Every access rule and role of both guest collections."""
        return {
            "rules": self.rules(),
            "roles": self.roles(),
            "other_rules": self.rules(self.other_id),
            "other_roles": self.roles(self.other_id),
        }

    # -- making things --------------------------------------------------------------------

    def add_rule(
        self, path: str, username: str = "adm-bystander", permissions: str = "r", on=None
    ) -> str:
        """An access rule made directly at Globus as admin; answers its id."""
        response = self.owner_of(on).add_endpoint_acl_rule(
            on or self.shared_id,
            {
                "DATA_TYPE": "access",
                "principal_type": "identity",
                "principal": self.identities[username],
                "path": path,
                "permissions": permissions,
            },
        )
        return str(response["access_id"])

    def add_role(self, username: str, role: str, on=None) -> str:
        response = self.owner_of(on).add_endpoint_role(
            on or self.shared_id,
            {
                "DATA_TYPE": "role",
                "principal_type": "identity",
                "principal": self.identities[username],
                "role": role,
            },
        )
        return str(response["id"])

    def remove_rules_for(self, username: str, on=None) -> None:
        """Delete every explicit rule of `username` (clean-up between tests)."""
        collection_id = on or self.shared_id
        for rule in self.rules(collection_id):
            if rule.get("id") and rule["principal"] == self.identities[username]:
                self.owner_of(on).delete_endpoint_acl_rule(collection_id, str(rule["id"]))

    def remove_roles_for(self, username: str, on=None) -> None:
        collection_id = on or self.shared_id
        for role in self.roles(collection_id):
            if role["principal"] == self.identities[username]:
                self.owner_of(on).delete_endpoint_role(collection_id, role["id"])

    @property
    def shared_root(self) -> Path:
        """Shared Results on disk (the demo's /shared/ folder of Lab Storage)."""
        return Path(self.lg.home) / "collections" / "lab-storage" / "shared"

    def researcher_task(self, label: str = "admin test task") -> str:
        """A short transfer by researcher from Shared Results to Lab Storage."""
        small = self.shared_root / "adm-small"
        small.mkdir(exist_ok=True)
        (small / "note.txt").write_text("admin tests\n")
        return self._submit("/adm-small/", label)

    def _submit(self, source: str, label: str, **options) -> str:
        data = globus_sdk.TransferData(
            source_endpoint=self.shared_id,
            destination_endpoint=LAB_STORAGE_ID,
            label=label,
            **options,
        )
        data.add_item(source, f"/adm-tasks/{uuid.uuid4()}/", recursive=True)
        task_id = self.transfer("researcher").submit_transfer(data)["task_id"]
        self.task_ids.append(task_id)
        return task_id

    def running_task(self, label: str = "admin test long task", files: int = 3000) -> str:
        """A transfer by researcher out of Shared Results that is still ACTIVE when this
        returns: thousands of small files, each recorded durably by localglobus."""
        many = self.shared_root / "adm-many"
        if not many.is_dir() or len(list(many.iterdir())) < files:
            many.mkdir(parents=True, exist_ok=True)
            for i in range(files):
                (many / f"f{i:05d}.txt").write_bytes(b"x" * 64)
        task_id = self._submit("/adm-many/", label, verify_checksum=True)
        assert self.task_state(task_id)[0] == "ACTIVE", "the long task ended too soon"
        return task_id

    def task_state(self, task_id: str) -> tuple:
        """What the owner sees of the task: status and admin cancel."""
        task = self.transfer("researcher").get_task(task_id)
        return task["status"], task.get("canceled_by_admin"), task.get("canceled_by_admin_message")

    def make_folder(self, path: str, on=None) -> None:
        """mkdir on Shared Results (or `on`) as its administrator; fine if it exists."""
        self.folders.add(path.strip("/").split("/")[0])
        try:
            self.transfer().operation_mkdir(on or self.shared_id, path)
        except globus_sdk.TransferAPIError as error:
            if "Exists" not in (error.code or ""):
                raise


def _find_collection(tc: globus_sdk.TransferClient, name: str) -> str | None:
    for doc in tc.endpoint_search(name, filter_scope="administered-by-me", limit=100):
        if doc["display_name"] == name:
            return doc["id"]
    return None


def build_world(lg) -> World:
    """Users and roles (idempotent: the localglobus lives for the whole run)."""
    world = World(lg=lg)
    tc = world.transfer("admin")
    names = ["admin", "researcher", *ROLE_USERS, *PLAIN_USERS]
    # Everyone here is of the demo domain; the tests name them by the part before it.
    full = [f"{name}@uni.example" for name in names]
    found = world.auth().get_identities(usernames=full)["identities"]
    known = {d["username"].partition("@")[0] for d in found}
    for username in (*ROLE_USERS, *PLAIN_USERS):
        if username not in known:
            lg.cli(
                "user",
                "add",
                username,
                "--password",
                DEMO_PASSWORD,
                "--name",
                username.replace("adm-", "Admin test ").title(),
                "--email",
                f"{username}@lab.example",
            )
    world.shared_id = _find_collection(tc, "Shared Results")
    assert world.shared_id, "the demo guest collection 'Shared Results' is missing"
    world.other_id = _find_collection(world.transfer("adm-owner"), "Admin Test Other Share")
    if world.other_id is None:
        world.other_id = str(uuid.uuid4())
        lg.cli(
            "collection",
            "add",
            "Admin Test Other Share",
            "--type",
            "guest",
            "--owner",
            "adm-owner",
            "--host",
            LAB_STORAGE_ID,
            "--host-path",
            "/",
            "--id",
            world.other_id,
        )
    found = world.auth().get_identities(usernames=full)["identities"]
    world.identities = {doc["username"].partition("@")[0]: doc["id"] for doc in found}
    held = {(r["principal"], r["role"]) for r in world.roles()}
    for username, role in ROLE_USERS.items():
        if (world.identities[username], role) not in held:
            world.add_role(username, role)
    return world


def tear_down_world(world: World) -> None:
    """Take back what build_world and the tests gave on Shared Results, so that other
    areas' tests find the demo as it was."""
    for username in (*ROLE_USERS, *PLAIN_USERS):
        world.remove_roles_for(username)
        world.remove_rules_for(username)
    tc = world.transfer("researcher")
    for task_id in world.task_ids:
        if tc.get_task(task_id)["status"] in ("ACTIVE", "INACTIVE"):
            tc.cancel_task(task_id)
    wait_until(
        lambda: not any(tc.get_task(t)["status"] in ("ACTIVE", "INACTIVE") for t in world.task_ids),
        "the admin tests' tasks to end after their cancel",
        timeout=15,
    )
    lab = world.shared_root.parent
    for folder in [lab / "adm-tasks", *(world.shared_root / f for f in world.folders)]:
        shutil.rmtree(folder, ignore_errors=True)
    for name in ("adm-many", "adm-small"):
        shutil.rmtree(world.shared_root / name, ignore_errors=True)
