"""The layers of docs/ARCHITECTURE.md hold: no app imports what its layer may not know."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"config", "store", "catalog", "webapi", "operations", "queues", "dashboard", "imports"}
# What each app may import besides itself (docs/ARCHITECTURE.md, "What may import what").
# `config` is the composition root: apps only import its two leaf modules.
ALLOWED = {
    "store": {"config.appsettings"},
    "queues": {"config.appsettings"},
    "webapi": {"store", "config.appsettings"},
    "catalog": {"webapi", "store", "config.appsettings"},
    "operations": {"webapi", "queues", "store", "config.appsettings"},
    "dashboard": {"operations", "queues", "webapi", "store", "config.appsettings"},
    "imports": {
        "catalog",
        "operations",
        "webapi",
        "queues",
        "store",
        "dashboard",
        "config.appsettings",
    },
}


def _imports(path: Path) -> set[str]:
    """Return the project modules `path` imports (top-level package, or `config.<module>`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] in PROJECT:
                found.add(".".join(parts[:2]) if parts[0] == "config" else parts[0])
    return found


def _modules(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_what_its_layer_may_know(app):
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - ALLOWED[app] - {app})
        for path in _modules(app)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_operations_app_needs_nothing_of_the_catalog():
    # Bulks run any app's routes: the catalog is only one of them.
    assert not any("catalog" in _imports(path) for path in _modules("operations"))
