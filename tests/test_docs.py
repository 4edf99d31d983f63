"""The documents in docs/ stay true to the repository: every test that docs/security.md
names exists, every section of docs/globus-api.md that the code cites is a heading of it,
and every repository path the documents name exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SECURITY = DOCS / "security.md"
GLOBUS_API = DOCS / "globus-api.md"
ARCHITECTURE = DOCS / "architecture.md"

# The sections of docs/security.md that the code cites by name.
SECURITY_SECTIONS = (
    "Login",
    "Sessions, CSRF, headers",
    "Tokens at rest",
    "Access control",
    "Input",
    "Reliability",
    "localglobus",
)


# Where the code that cites docs/globus-api.md lives, and which files count as code.
CITING_FOLDERS = ("app", "localglobus", "templates", "migrations", "tests", "bench", "docs")
CITING_SUFFIXES = (".py", ".html", ".md")

# A section number of docs/globus-api.md: "0.4", "A.11", "B", "C.2a".
_SECTION = r"[0-9A-Z](?:\.[0-9]+[a-z]?)?(?!\w)"
_SECTION_LIST = rf"{_SECTION}(?:\s*(?:,|and|-|–)\s*{_SECTION})*"
# "docs/globus-api.md B.5" (today's form), "docs/globus-api.md B.5" (the form the code moves to),
# and a bare "(B.1, B.2)" or "(B.13: ...)" with a dotted number.
_CITATIONS = (
    re.compile(rf"(?i:reference)\s+({_SECTION_LIST})"),
    re.compile(rf"docs/globus-api\.md[,:]?\s+({_SECTION_LIST})"),
    re.compile(r"\(([A-C]\.[0-9]+[a-z]?(?:\s*(?:,|-|–)\s*[A-C]\.[0-9]+[a-z]?)*)(?=[):;])"),
)
_HEADING = re.compile(rf"^#{{2,6}}\s+({_SECTION})\.?\s", re.MULTILINE)
_TEST_REF = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)+)`")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`]+)`")
_REPO_PATH = re.compile(r"[\w.\-]+(?:/[\w.\-]*)+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]+$")


def cited_sections(text: str) -> set[str]:
    """Every docs/globus-api.md section number cited in `text`; "B.4-B.9" cites B.4 to B.9."""
    found = set()
    for pattern in _CITATIONS:
        for match in pattern.finditer(text):
            parts = re.split(r"\s*(,|and|-|–)\s*", match.group(1))
            numbers, separators = parts[0::2], parts[1::2]
            found.update(numbers)
            for first, separator, last in zip(numbers, separators, numbers[1:], strict=False):
                if separator in ("-", "–"):
                    found.update(_range(first, last))
    return found


def _range(first: str, last: str) -> list[str]:
    head, _, start = first.partition(".")
    other, _, end = last.partition(".")
    if head != other or not (start.isdigit() and end.isdigit()):
        return [first, last]
    return [f"{head}.{n}" for n in range(int(start), int(end) + 1)]


def headings(text: str) -> set[str]:
    return set(_HEADING.findall(text))


def citing_files() -> list[Path]:
    files = []
    for folder in CITING_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in CITING_SUFFIXES and path.is_file() and path != Path(__file__):
                files.append(path)
    return files


def code_citations() -> dict[str, list[str]]:
    """Section number -> the files that cite it."""
    cited: dict[str, list[str]] = {}
    for path in citing_files():
        for number in cited_sections(path.read_text(encoding="utf-8", errors="replace")):
            cited.setdefault(number, []).append(str(path.relative_to(ROOT)))
    return cited


def test_documents_exist():
    for document in (ARCHITECTURE, SECURITY, GLOBUS_API):
        assert document.is_file(), document


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("(docs/globus-api.md A.2)", {"A.2"}),
        ("docs/globus-api.md 0.4 and A.2)", {"0.4", "A.2"}),
        ("(docs/globus-api.md B.4-B.9).", {"B.4", "B.5", "B.6", "B.7", "B.8", "B.9"}),
        ("(docs/globus-api.md B.2,\nB.8; recorded)", {"B.2", "B.8"}),
        ("the same token (docs/globus-api.md B).", {"B"}),
        ("(docs/globus-api.md C.2a)", {"C.2a"}),
        ("see docs/globus-api.md, B.5 and B.6", {"B.5", "B.6"}),
        ("filter scopes (B.1), as tabs", {"B.1"}),
        ("(B.13: roles)", {"B.13"}),
        ("against a reference on the same disk", set()),
    ],
)
def test_citations_are_read_as_the_code_writes_them(text, numbers):
    assert cited_sections(text) == numbers


def test_every_section_the_code_cites_is_a_heading_of_globus_api_md():
    cited = code_citations()
    assert cited, "no citation of docs/globus-api.md found: the scan is broken"
    present = headings(GLOBUS_API.read_text(encoding="utf-8"))
    missing = {number: files for number, files in cited.items() if number not in present}
    assert not missing, f"cited but not a heading of docs/globus-api.md: {missing}"


def test_security_md_has_the_sections_the_code_cites():
    text = SECURITY.read_text(encoding="utf-8")
    titles = re.findall(r"^## (.+?)\s*$", text, re.MULTILINE)
    for section in SECURITY_SECTIONS:
        assert section in titles, f"docs/security.md has no section '## {section}'"


def _defined(tree: ast.Module, names: list[str]) -> bool:
    """`names` (a function, or a class then a method) is defined at the top of `tree`."""
    body: list[ast.stmt] = tree.body
    for i, name in enumerate(names):
        last = i == len(names) - 1
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef) if last else (ast.ClassDef,)
        node = next((n for n in body if isinstance(n, kinds) and n.name == name), None)
        if node is None:
            return False
        body = node.body
    return names[-1].startswith("test")


def test_every_test_named_in_security_md_exists():
    refs = _TEST_REF.findall(SECURITY.read_text(encoding="utf-8"))
    assert refs, "docs/security.md names no test"
    missing = []
    trees: dict[str, ast.Module] = {}
    for file, names in refs:
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file}{names} (no such file)")
            continue
        if file not in trees:
            trees[file] = ast.parse(path.read_text(encoding="utf-8"))
        if not _defined(trees[file], names.split("::")[1:]):
            missing.append(f"{file}{names}")
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_every_promise_in_security_md_has_a_test_or_says_not_yet_tested():
    text = SECURITY.read_text(encoding="utf-8")
    promises = re.split(r"^- \*\*", text, flags=re.MULTILINE)[1:]
    assert promises
    for promise in promises:
        evidence = re.findall(r"^  - (.+)$", promise, re.MULTILINE)
        assert evidence, f"a promise without tests: {promise[:80]!r}"
        for line in evidence:
            assert _TEST_REF.fullmatch(line.strip()) or line.strip() == "not yet tested", line


def _named_paths(text: str) -> set[str]:
    """Repository paths written in backticks: relative, with a `/`, and either a file
    extension or a trailing `/`. URL paths, placeholders and commands are not."""
    paths = set()
    for code in _INLINE_CODE.findall(_FENCE.sub("", text)):
        candidate = code.strip().split("::", 1)[0]
        if "://" in candidate or not _REPO_PATH.fullmatch(candidate):
            continue
        if candidate.endswith("/") or _EXTENSION.search(candidate.rsplit("/", 1)[-1]):
            paths.add(candidate)
    return paths


@pytest.mark.parametrize("document", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_repository_path_a_document_names_exists(document):
    named = _named_paths(document.read_text(encoding="utf-8"))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{document.name} names paths that do not exist: {missing}"


def test_path_detection():
    text = (
        "`app/globus/` and `tests/x/test_y.py::test_z`, not `/v0.10/transfer`, "
        "`application/json`, `app/<area>/views.py`, `~/.globus/cli/storage.db`, "
        "`http://127.0.0.1:8765/` nor\n```\nsrc/fenced.py\n```\n"
    )
    assert _named_paths(text) == {"app/globus/", "tests/x/test_y.py"}
