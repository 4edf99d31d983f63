"""Times with their zone, sizes and counts (app.formatting), as pages show them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask, render_template_string

from app import formatting
from app.globus.task_types import Task
from app.globus.types import FileEntry

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def render():
    app = Flask(__name__)
    formatting.init_app(app)

    def render(source: str, **context) -> str:
        with app.app_context():
            return render_template_string(source, **context)

    return render


def test_a_time_is_shown_in_utc_and_says_so(render):
    berlin = timezone(timedelta(hours=2))
    moment = datetime(2024, 5, 1, 14, 30, 5, tzinfo=berlin)
    html = render("{{ t|when }}", t=moment)
    assert html == '<time datetime="2024-05-01T14:30:05+02:00">2024-05-01 12:30 UTC</time>'
    assert render("{{ t|when(seconds=True) }}", t=moment).endswith(
        ">2024-05-01 12:30:05 UTC</time>"
    )


def test_a_time_without_a_zone_is_utc_and_a_missing_one_is_a_dash(render):
    html = render("{{ t|when }}", t=datetime(2024, 5, 1, 12, 30))
    assert 'datetime="2024-05-01T12:30:00+00:00"' in html
    assert render("{{ t|when }}", t=None) == "—"
    assert render('{{ t|when(empty="") }}', t=None) == ""


@pytest.mark.parametrize(
    "text",
    ["2021-01-15 01:45:50+00:00", "2021-01-15T01:45:50+00:00", "2021-01-15T01:45:50Z"],
)
def test_globus_times_of_every_document_read_the_same(text):
    assert formatting.parse_time(text) == datetime(2021, 1, 15, 1, 45, 50, tzinfo=UTC)


def test_a_globus_time_without_an_offset_is_utc():
    parsed = formatting.parse_time("2021-01-15 01:45:50")
    assert parsed is not None and parsed.tzinfo is UTC
    assert formatting.parse_time("yesterday") is None
    assert formatting.parse_time(None) is None


def test_tasks_and_listings_carry_aware_times():
    task = Task.from_api({"task_id": "t", "request_time": "2021-01-15 01:45:50"})
    assert task.request_time == datetime(2021, 1, 15, 1, 45, 50, tzinfo=UTC)
    entry = FileEntry.from_api(
        {"name": "a", "type": "file", "last_modified": "2021-01-15 01:45:50+00:00"}
    )
    assert (
        entry.modified == '<time datetime="2021-01-15T01:45:50+00:00">2021-01-15 01:45 UTC</time>'
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "—"),
        (0, "0 Bytes"),
        (1, "1 Byte"),
        (999, "999 Bytes"),
        (1500, "1.5 kB"),
        (8_400_000, "8.4 MB"),
    ],
)
def test_sizes(render, size, text):
    assert render("{{ n|size }}", n=size) == text


def test_counts(render):
    assert render("{{ n|count }}", n=12345) == "12,345"
    assert render("{{ n|count }}", n=None) == "—"


def test_a_day_starts_at_midnight_utc():
    assert formatting.day_start(date(2024, 2, 28)) == datetime(2024, 2, 28, tzinfo=UTC)
    assert formatting.day_start(date(2024, 2, 28), days=1) == datetime(2024, 2, 29, tzinfo=UTC)
    assert formatting.day_start(None) is None


def test_templates_format_no_time_and_compute_no_page_themselves():
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(template.read_text("utf-8").splitlines(), 1):
            if re.search(
                r"<time\b|strftime|isoformat|\.page\s*[-+]|page\.number\s*[-+]|rsplit", line
            ):
                found.append(f"{template.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert found == []
