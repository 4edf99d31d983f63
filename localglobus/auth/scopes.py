"""Globus scope strings: the dependency syntax and the resource server of each scope.

`parent[*child other[grandchild]]`: children sit in brackets after their parent, separated
by spaces; `*` marks an optional dependency (docs/globus-api.md A.9). Tokens report only the plain
root scopes; consents record every node of the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

AUTH_RS = "auth.globus.org"
OIDC_SCOPES = frozenset({"openid", "profile", "email"})

_URN = re.compile(r"^urn:globus:auth:scope:(?P<rs>[^:\s]+):\S+$")
_URL = re.compile(r"^https://auth\.globus\.org/scopes/(?P<rs>[^/\s]+)/\S+$")
# Services whose resource server is a name rather than their client id (docs/globus-api.md A.9).
_NAMED_RESOURCE_SERVERS = {"eec9b274-0c81-4334-bdc2-54e90e689b9a": "flows.globus.org"}


class ScopeSyntaxError(ValueError):
    """A scope string that does not follow the dependency syntax."""


@dataclass
class Scope:
    """One scope string and the scopes it depends on."""

    name: str
    optional: bool = False
    children: list[Scope] = field(default_factory=list)

    def __str__(self) -> str:
        text = ("*" if self.optional else "") + self.name
        if self.children:
            text += "[" + serialize(self.children) + "]"
        return text


def parse(text: str | None) -> list[Scope]:
    """Parse a space-separated scope string with dependencies into a forest."""
    tokens = re.findall(r"\[|\]|[^\s\[\]]+", text or "")
    forest, position = _parse_forest(tokens, 0, depth=0)
    if position != len(tokens):
        raise ScopeSyntaxError("unbalanced ']' in scope string")
    return forest


def _parse_forest(tokens: list[str], position: int, depth: int) -> tuple[list[Scope], int]:
    forest: list[Scope] = []
    while position < len(tokens):
        token = tokens[position]
        if token == "]":
            if depth == 0:
                raise ScopeSyntaxError("unbalanced ']' in scope string")
            return forest, position
        if token == "[":
            if not forest or forest[-1].children:
                raise ScopeSyntaxError("'[' must follow a scope string")
            children, position = _parse_forest(tokens, position + 1, depth + 1)
            if position >= len(tokens) or not children:
                raise ScopeSyntaxError("'[' without its scopes and closing ']'")
            forest[-1].children = children
            position += 1
            continue
        optional = token.startswith("*")
        name = token[1:] if optional else token
        if not name or "*" in name:
            raise ScopeSyntaxError(f"bad scope string {token!r}")
        forest.append(Scope(name, optional))
        position += 1
    if depth:
        raise ScopeSyntaxError("missing ']' in scope string")
    return forest, position


def serialize(forest: Iterable[Scope]) -> str:
    """The scope string of a forest (inverse of `parse`)."""
    return " ".join(str(scope) for scope in forest)


def walk(forest: Iterable[Scope]) -> Iterator[Scope]:
    """Every node of the forest, parents before children."""
    for scope in forest:
        yield scope
        yield from walk(scope.children)


def paths(forest: Iterable[Scope], above: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The scope strings from a root down to each node, parents before children."""
    for scope in forest:
        path = (*above, scope.name)
        yield path
        yield from paths(scope.children, path)


def all_names(forest: Iterable[Scope]) -> list[str]:
    """Every scope string in the forest, roots and dependencies, without duplicates."""
    return list(dict.fromkeys(scope.name for scope in walk(forest)))


def resource_server(scope: str) -> str:
    """The resource server a token for `scope` is issued for.

    OIDC scopes belong to Auth; `urn:globus:auth:scope:<rs>:<x>` to `<rs>`;
    `https://auth.globus.org/scopes/<client id>/<x>` to that client (or the service's
    name); any other string is its own resource server.
    """
    if scope in OIDC_SCOPES:
        return AUTH_RS
    match = _URN.match(scope) or _URL.match(scope)
    if match:
        rs = match.group("rs")
        return _NAMED_RESOURCE_SERVERS.get(rs, rs)
    return scope


def group_by_resource_server(forest: Iterable[Scope]) -> dict[str, list[Scope]]:
    """Root scopes grouped by resource server, in the order first requested."""
    groups: dict[str, list[Scope]] = {}
    for scope in forest:
        groups.setdefault(resource_server(scope.name), []).append(scope)
    return groups


def merge(forest: Iterable[Scope]) -> list[Scope]:
    """Merge roots named twice (`a a[b]` is `a[b]`), so each token scope appears once."""
    merged: dict[str, Scope] = {}
    for scope in forest:
        if scope.name in merged:
            merged[scope.name].children = merge(merged[scope.name].children + scope.children)
        else:
            merged[scope.name] = Scope(scope.name, scope.optional, merge(scope.children))
    return list(merged.values())
