"""The portal's layering, read from the imports of every module of app/.

An area (app/<area>/) imports only the core modules (app/*.py), the public names of the
Globus boundary (app.globus.PUBLIC_MODULES, and in them no name starting with '_'), its
own modules and other areas' `service.py`. A core module imports no area, except the two
that assemble the portal (the app factory, app/__init__.py, and the CLI). So a rule has one
home, and an area's forms or views can change without another area noticing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import app as app_package
from app.globus import PUBLIC_MODULES

APP = Path(app_package.__file__).resolve().parent
AREAS = frozenset(p.name for p in APP.iterdir() if (p / "__init__.py").exists()) - {"globus"}
# The modules that put the areas together: they register blueprints and commands.
ASSEMBLERS = frozenset({"app", "app.cli"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST, importer: str) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every import, in functions too; `name` is None for
    `import x`. `from app.globus import files` yields the module app.globus.files."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = importer.split(".")[: -node.level or None]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if _is_module(submodule):
                    found.append((node.lineno, submodule, None))
                else:
                    found.append((node.lineno, base, alias.name))
    return found


def _is_module(dotted: str) -> bool:
    if not dotted.startswith("app."):
        return False
    path = APP.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _globus_aliases(tree: ast.AST) -> set[str]:
    """Local names bound to a module of app.globus (`from app.globus import files as f`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "app.globus":
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def violations(path: Path, source: str) -> list[str]:
    """What in `source` (the module at `path`) breaks the layering."""
    importer = module_name(path)
    parts = importer.split(".")
    area = parts[1] if len(parts) > 1 and parts[1] in AREAS else None
    inside_globus = parts[:2] == ["app", "globus"]
    tree = ast.parse(source)
    found = []
    for line, module, name in imported(tree, importer):
        target = module.split(".")
        where = f"{path.relative_to(APP.parent)}:{line} imports {module}" + (
            f".{name}" if name else ""
        )
        if target[0] != "app" or len(target) < 2:
            continue
        if target[1] == "globus" and not inside_globus:
            if len(target) == 2:
                if name is not None and name not in PUBLIC_MODULES and name != "PUBLIC_MODULES":
                    found.append(f"{where}: not a public name of app.globus")
            elif target[2] not in PUBLIC_MODULES:
                found.append(f"{where}: app.globus.{target[2]} is internal to the boundary")
            elif name is not None and name.startswith("_"):
                found.append(f"{where}: a private name of the Globus boundary")
            continue
        if target[1] in AREAS and area is None and not inside_globus:
            if importer not in ASSEMBLERS:
                found.append(f"{where}: a core module imports no area")
            continue
        if area is None or target[1] == area or target[1] not in AREAS:
            continue  # core modules, and the area's own modules
        if target[2:] != ["service"]:
            found.append(f"{where}: another area is reached only through its service.py")
    if not inside_globus:
        aliases = _globus_aliases(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
            ):
                found.append(
                    f"{path.relative_to(APP.parent)}:{node.lineno} uses "
                    f"{node.value.id}.{node.attr}: a private name of the Globus boundary"
                )
    return found


def test_areas_import_only_core_the_globus_door_their_own_modules_and_services():
    modules = sorted(APP.rglob("*.py"))
    assert len(modules) > 40  # the walk found the portal
    problems = [v for path in modules for v in violations(path, path.read_text("utf-8"))]
    assert problems == []


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("collections/forms.py", "from app.files.forms import clean_path\n"),
        ("tasks/service.py", "from app.transfers import validation as v\n"),
        ("files/views.py", "import app.admin.queries\n"),
        ("files/service.py", "from app.globus.client import transfer_client\n"),
        ("auth/views.py", "from app.globus import refresh\n"),
        ("main/views.py", "def f():\n    from app.globus.tokens import _hidden\n"),
        ("auth/service.py", "from app.globus import tokens\ntokens._decrypt(1, 'x')\n"),
        ("security.py", "from app.globus.errors import calling_globus\n"),
        ("errors.py", "def f():\n    from app.auth.decorators import current_page\n"),
    ],
)
def test_the_walk_refuses_a_shortcut_between_layers(where, source):
    assert violations(APP / where, source)


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("files/service.py", "from app.transfers import service as transfers_service\n"),
        ("files/service.py", "from app.collections import service\n"),
        ("files/forms.py", "from app import paths\nfrom app.inputs import clean_name\n"),
        ("tasks/service.py", "from app.globus.task_types import Task\n"),
        ("admin/views/rules.py", "from app.admin.forms import RuleForm\n"),
        ("globus/files.py", "from app.globus.client import transfer_client\n"),
        ("__init__.py", "from app.files.views import bp\n"),
    ],
)
def test_the_walk_allows_the_layers_doors(where, source):
    assert violations(APP / where, source) == []
