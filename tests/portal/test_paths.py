"""The one path grammar (app.paths): what the file manager, the transfer page and the
access-rule pages accept, and the way up a folder tree."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app import paths
from app.admin.forms import rule_path_problem
from app.errors import BadInput
from app.files.forms import parse_browse
from app.transfers.service import TransferItem, TransferOptions, transfer_document

LAB = "6a1f0d0e-8c5b-4a57-9d3f-0c8c2f1e4b11"
DEST = "0b6f2c1e-4b5a-4d8e-9f1a-3c2b1a0e9d88"
SUBMISSION = "8d3c9b7e-1f2a-4c5b-8e9d-0a1b2c3d4e5f"


def file_manager_refusal(path: str) -> str:
    with pytest.raises(BadInput) as refused:
        parse_browse(MultiDict({"collection": LAB, "path": path}))
    return refused.value.message


def transfer_refusal(path: str) -> str:
    item = TransferItem(path + "run1.dat", "/incoming/run1.dat")
    with pytest.raises(BadInput) as refused:
        transfer_document(SUBMISSION, LAB, DEST, [item], TransferOptions())
    return refused.value.message


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/data/../etc/", paths.DOTS),
        ("/data/./raw/", paths.DOTS),
        ("/a//b/", paths.EMPTY_PART),
        ("/data\\raw/", paths.UNSAFE),
        ("/data/\nraw/", paths.UNSAFE),
        ("/data/\x00/", paths.UNSAFE),
        ("data/raw/", paths.RELATIVE),
        ("/" + "a" * 5000 + "/", paths.TOO_LONG),
    ],
)
def test_every_area_refuses_a_bad_path_with_the_same_message(path, message):
    assert file_manager_refusal(path) == message
    assert transfer_refusal(path) == message
    assert rule_path_problem(path) == message


@pytest.mark.parametrize("path", ["/", "/data/raw/", "~/", "/~/results/", "/Ergebnisse 2024/ü/"])
def test_good_folders_pass_everywhere_unchanged(path):
    assert parse_browse(MultiDict({"collection": LAB, "path": path})).path == path
    item = TransferItem(path + "run1.dat", "/incoming/run1.dat")
    document = transfer_document(SUBMISSION, LAB, DEST, [item], TransferOptions())
    assert document["DATA"][0]["source_path"] == path + "run1.dat"


def test_rule_paths_are_folders_from_the_collection_root():
    assert rule_path_problem("/results/2024/") is None
    assert rule_path_problem("~/results/") == (
        "The path must start and end with /, for example /results/2024/."
    )


def test_clean_makes_a_folder_end_with_a_slash_and_keeps_empty_for_the_default_folder():
    assert paths.clean("  /data/raw ") == "/data/raw/"
    assert paths.clean("/data/run1.dat", folder=False) == "/data/run1.dat"
    assert paths.clean("") == paths.clean(None) == ""
    assert paths.problem("") == "Enter a path."


@pytest.mark.parametrize(
    ("folder", "name", "joined"),
    [
        ("/~/data/", "run1/", "/~/data/run1/"),
        ("/data", "a.txt", "/data/a.txt"),
        ("/", "a.txt", "/a.txt"),
        ("", "a.txt", "/a.txt"),
    ],
)
def test_join(folder, name, joined):
    assert paths.join(folder, name) == joined


@pytest.mark.parametrize(
    ("path", "crumbs", "parent"),
    [
        ("/", [("/", "/")], None),
        ("/data/raw/", [("/", "/"), ("data", "/data/"), ("raw", "/data/raw/")], "/data/"),
        ("/~/", [("/", "/"), ("~", "/~/")], "/"),
        ("~/", [("~", "~/")], None),
        ("~/results/", [("~", "~/"), ("results", "~/results/")], "~/"),
    ],
)
def test_breadcrumbs_and_parent_lead_back_to_the_top(path, crumbs, parent):
    assert paths.breadcrumbs(path) == crumbs
    assert paths.parent(path) == parent
