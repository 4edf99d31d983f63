"""The portal's routes, for tests parametrized over every page.

from tests.portal.helpers.routes import portal_routes
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass

from werkzeug.exceptions import MethodNotAllowed

# Sample values for URL converters: the guard and CSRF answer before any view reads them.
_SAMPLES = {
    "UUIDConverter": uuid.UUID("3b8b9a4e-0000-4000-8000-00000000abcd"),
    "IntegerConverter": 1,
    "FloatConverter": 1.0,
    "PathConverter": "a/b",
}
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Route:
    """One url_map rule, with a concrete path to request."""

    endpoint: str
    path: str
    methods: frozenset[str]  # this rule's, without HEAD and OPTIONS
    get_answers: bool  # whether any rule answers GET on `path`

    @property
    def state_changing(self) -> bool:
        return bool(self.methods & _STATE_CHANGING)


def portal_routes() -> list[Route]:
    """Every rule of a freshly built portal (reading the url_map needs no database), so
    that a page added tomorrow is covered by today's parametrized tests."""
    from app import create_app
    from app.globus.crypto import generate_key

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "INSTANCE_PATH": tmp,
                "FERRY_DATABASE_URL": f"sqlite:///{tmp}/routes.db",
                "FERRY_GLOBUS_CLIENT_ID": "routes",
                "FERRY_GLOBUS_CLIENT_SECRET": "routes",
                "FERRY_TOKEN_KEYS": [generate_key()],
                "SECRET_KEY": "routes",
            }
        )
        adapter = app.url_map.bind("localhost")
        routes = []
        for rule in app.url_map.iter_rules():
            values = {name: _sample(conv) for name, conv in rule._converters.items()}
            path = adapter.build(rule.endpoint, values)
            methods = frozenset(rule.methods - {"HEAD", "OPTIONS"})
            routes.append(Route(rule.endpoint, path, methods, _answers_get(adapter, path)))
        return routes


def _sample(converter):
    if type(converter).__name__ == "AnyConverter":
        return sorted(converter.items)[0]
    return _SAMPLES.get(type(converter).__name__, "x")


def _answers_get(adapter, path: str) -> bool:
    # A POST-only rule may share its path with a GET page (list + create).
    try:
        adapter.match(path, method="GET")
    except MethodNotAllowed:
        return False
    return True
