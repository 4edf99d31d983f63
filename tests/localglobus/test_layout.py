"""The layout of localglobus keeps its promises: the task engine never imports Flask or
the HTTP routes, and no module hides behind a catch-all name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = "localglobus.transfer.engine"
CATCH_ALL_NAMES = {"common", "utils", "misc"}


def _module_file(name: str) -> Path | None:
    """The source file of a module of this repository, or None for anything else."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _import_nodes(tree: ast.Module, everywhere: bool) -> list[ast.stmt]:
    """The import statements of a module: all of them, or only those that run when it is
    imported (not inside functions or classes, nor under `if TYPE_CHECKING:`)."""
    if everywhere:
        return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    found: list[ast.stmt] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                todo.extend(node.body)
            todo.extend(node.orelse)
        elif isinstance(node, ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                todo.extend(getattr(node, block, []))
        elif isinstance(node, ast.ExceptHandler):
            todo.extend(node.body)
    return found


def _imports(name: str, path: Path, everywhere: bool) -> set[str]:
    """The modules `path` imports, as Python would load them: each parent package of an
    imported module too, and `from pkg import sub` as the submodule `pkg.sub`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path)), everywhere):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            for alias in node.names:
                if _module_file(f"{module}.{alias.name}") is not None:
                    found.add(f"{module}.{alias.name}")
    with_parents = set()
    for module in found:
        parts = module.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return with_parents


def _engine_closure() -> dict[str, str]:
    """Every module the engine loads, each with the repository module that imports it.

    In the engine's own modules every import counts, even one inside a function; in the
    modules they import, the imports that run at import time."""
    start = sorted(
        ENGINE + ("" if p.stem == "__init__" else "." + p.stem)
        for p in (ROOT / "localglobus/transfer/engine").glob("*.py")
    )
    seen: dict[str, str] = {name: "(engine)" for name in start}
    todo = list(start)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None:
            continue
        for imported in _imports(name, path, everywhere=name.startswith(ENGINE)):
            if imported not in seen:
                seen[imported] = name
                todo.append(imported)
    return seen


def test_engine_imports_neither_flask_nor_the_api():
    loaded = _engine_closure()
    assert f"{ENGINE}.scheduler" in loaded  # the walk did find the engine
    bad = {
        module: by
        for module, by in loaded.items()
        if module.split(".")[0] in ("flask", "werkzeug")
        or module == "localglobus.transfer.api"
        or module.startswith("localglobus.transfer.api.")
    }
    assert not bad, f"the engine imports (module: imported by) {bad}"


def test_no_catch_all_module_names():
    offenders = [
        str(path.relative_to(ROOT))
        for top in ("localglobus", "app")
        for path in (ROOT / top).rglob("*")
        if (path.suffix == ".py" or path.is_dir()) and path.stem in CATCH_ALL_NAMES
    ]
    assert not offenders, f"modules named like a drawer of odds and ends: {offenders}"


def test_route_modules_do_not_import_one_another():
    """What two resources share lives in a helper module of api/, not in either's routes."""
    api = ROOT / "localglobus/transfer/api"
    routes = {
        f"localglobus.transfer.api.{p.stem}": p
        for p in api.glob("*.py")
        if re.search(r"^@bp\.(get|post|put|patch|delete|route)\(", p.read_text(), re.M)
    }
    assert "localglobus.transfer.api.tasks" in routes
    crossing = {
        name: sorted(routes.keys() & _imports(name, path, everywhere=True) - {name})
        for name, path in routes.items()
    }
    assert not any(crossing.values()), f"route modules importing routes: {crossing}"
