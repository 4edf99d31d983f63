"""One rule per kind of input (app.inputs), as the areas apply them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from app import inputs
from app.collections.forms import MAX_PAGE as SEARCH_MAX_PAGE
from app.collections.forms import clean_bookmark_name, parse_search
from app.errors import BadInput
from app.files.forms import MAX_PAGE as FOLDER_MAX_PAGE
from app.files.forms import parse_browse
from app.transfers.service import TransferItem, TransferOptions, transfer_document

LAB = "6a1f0d0e-8c5b-4a57-9d3f-0c8c2f1e4b11"
DEST = "0b6f2c1e-4b5a-4d8e-9f1a-3c2b1a0e9d88"
SUBMISSION = "8d3c9b7e-1f2a-4c5b-8e9d-0a1b2c3d4e5f"


def refusal(rule, *args, **kwargs) -> str:
    with pytest.raises(BadInput) as refused:
        rule(*args, **kwargs)
    return refused.value.message


@pytest.mark.parametrize("char", ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f"])
def test_one_line_inputs_refuse_every_control_character(char):
    assert inputs.has_control(f"a{char}b")
    assert refusal(parse_search, MultiDict({"q": f"lab{char}data"}))
    assert refusal(clean_bookmark_name, f"Lab{char}raw")
    assert refusal(inputs.clean_label, f"run{char}1")
    assert refusal(inputs.clean_name, f"run{char}1.dat")


def test_a_message_may_have_lines_and_tabs_but_no_other_control_character():
    assert not inputs.has_control("Dear Ada,\r\n\tyour data is ready.", lines=True)
    assert inputs.has_control("bell\x07", lines=True)
    assert refusal(inputs.clean_text, "a\x1bb", max_chars=10, lines=True, what="The message")
    assert inputs.clean_text(" two\nlines ", max_chars=10, lines=True) == "two\nlines"


def test_unicode_is_welcome_in_names_and_labels():
    assert inputs.clean_name("Ergebnisse ü 2024.csv") == "Ergebnisse ü 2024.csv"
    assert inputs.clean_label("Läuft: run 1") == "Läuft: run 1"


@pytest.mark.parametrize(
    "name",
    ["", "a/b", "a\\b", ".", "..", "é" * 128],  # 256 bytes in UTF-8
)
def test_names_are_one_part_of_a_path_of_at_most_255_bytes(name):
    assert refusal(inputs.clean_name, name, what="The name").startswith("The name")


def test_a_transfer_refuses_a_long_label_as_the_task_list_does():
    label = "x" * (inputs.MAX_LABEL_CHARS + 1)
    options = TransferOptions(label=label)
    item = TransferItem("/data/a", "/in/a")
    message = refusal(transfer_document, SUBMISSION, LAB, DEST, [item], options)
    assert message == refusal(inputs.clean_label, label)
    assert str(inputs.MAX_LABEL_CHARS) in message


def test_ids_are_canonical_uuids():
    assert inputs.is_uuid(LAB)
    assert not inputs.is_uuid(LAB.upper().replace("-", ""))
    assert not inputs.is_uuid(None)
    assert inputs.clean_collection_id(f" {LAB.upper()} ") == LAB
    assert "collection id" in refusal(inputs.clean_collection_id, "lab")


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_page_numbers_are_whole_and_at_least_one(bad):
    assert refusal(parse_browse, MultiDict({"collection": LAB, "page": bad}))
    assert refusal(parse_search, MultiDict({"page": bad}))


def test_page_numbers_have_an_upper_bound_per_list():
    too_far = str(FOLDER_MAX_PAGE + 1)
    assert str(FOLDER_MAX_PAGE) in refusal(
        parse_browse, MultiDict({"collection": LAB, "page": too_far})
    )
    assert (
        parse_browse(MultiDict({"collection": LAB, "page": str(FOLDER_MAX_PAGE)})).page
        == FOLDER_MAX_PAGE
    )
    assert str(SEARCH_MAX_PAGE) in refusal(
        parse_search, MultiDict({"page": str(SEARCH_MAX_PAGE + 1)})
    )
    assert inputs.clean_page(None, maximum=3) == inputs.clean_page("", maximum=3) == 1


def test_deadlines_are_in_the_future_and_read_as_utc():
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    naive = datetime(2030, 1, 1, 12, 30)
    assert inputs.clean_deadline(naive, now=now) == naive.replace(tzinfo=UTC)
    assert inputs.clean_deadline(None) is None
    assert "future" in refusal(inputs.clean_deadline, now - timedelta(minutes=1), now=now)


def test_the_wtforms_adapter_cleans_the_field_or_gives_the_rule_s_message():
    from wtforms.validators import ValidationError

    class Field:
        data = "  run1.dat "

    check = inputs.validator(inputs.clean_name, what="The new name")
    field = Field()
    check(None, field)
    assert field.data == "run1.dat"
    field.data = "a/b"
    with pytest.raises(ValidationError, match="The new name cannot contain '/'"):
        check(None, field)
