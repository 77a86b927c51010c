"""Imports run one way (docs/ARCHITECTURE.md): each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hlmshell"

# layer -> the hlmshell layers its modules may import
ALLOWED = {
    "errors": set(),
    "lang": {"errors", "lang"},
    "data": {"errors", "lang", "data"},
    "model": {"lang", "data", "model"},
    "inference": {"lang", "model", "inference"},
    "results": {"results"},
    "render": {"results", "render", "lang"},
    "commands": {"errors", "lang", "data", "model", "inference", "results", "render", "commands",
                 "shell.registry", "shell.session", "shell.byprefix", "shell.dofile",
                 "shell.output", "shell.dispatcher"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if rel.parts else ""


def _imports(path: Path) -> set[str]:
    """The hlmshell modules a file imports (``hlmshell.x.y`` → ``x.y``), at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
    return {n.removeprefix("hlmshell.") for n in names if n.startswith("hlmshell.")}


def _allowed(layer: str, imported: str) -> bool:
    rules = ALLOWED[layer]
    return any(imported == rule or imported.startswith(rule + ".") for rule in rules)


MODULES = [p for p in sorted(PACKAGE.rglob("*.py")) if _layer(p) in ALLOWED]


def test_every_layer_is_checked() -> None:
    layers = {_layer(p) for p in PACKAGE.rglob("*.py")} - {"__init__", "__main__"}
    assert layers == set(ALLOWED) | {"shell"}, "a new top-level folder needs its rule here"
    assert len(MODULES) > 60


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    layer = _layer(path)
    wrong = sorted(m for m in _imports(path) if not _allowed(layer, m))
    assert not wrong, f"{layer} may not import {wrong}"
