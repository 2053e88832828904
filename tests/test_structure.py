"""The shape of the code: imports inside ``autograd`` flow one way, and only at the top.

    value (the node and its operations; operation: how one definition becomes code)
      ◄── graph (topological order, backward, no_grad)
            ◄── check · compile · explain
                  ◄── viz · walkthrough          names, files: leaves several of them use
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "autograd"

# module: the autograd modules it may import
ALLOWED = {
    "operation": set(),
    "names": {"value"},  # for type hints only
    "files": set(),
    "value": {"operation"},
    "graph": {"value"},
    "check": {"graph", "value"},
    "compile_pieces": {"value"},
    "compile_source": {"compile_pieces", "operation", "value"},
    "compile_vector": {"compile_pieces", "compile_source", "operation", "value"},
    "compile": {"compile_pieces", "compile_source", "compile_vector", "graph", "operation", "value"},
    "explain": {"graph", "names", "operation", "value"},
    "viz": {"files", "graph", "names", "value"},
    "walkthrough": {"explain", "files", "graph", "names", "viz", "value"},
}
# Imports that may wait until a function runs: optional programs and packages.
LAZY = {"graphviz"}
# The packages beyond the standard library a module may import: NumPy, for the vectorised replay only.
THIRD_PARTY = {"compile": {"numpy"}, "compile_vector": {"numpy"}}


def _imports(tree: ast.Module) -> list[tuple[ast.AST, str, bool]]:
    """(node, imported module, at top level?) for every import in ``tree``."""
    top = set(map(id, tree.body))
    guarded = {  # imports under ``if TYPE_CHECKING:`` count as top level
        id(child) for node in tree.body if isinstance(node, ast.If) for child in node.body
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            modules = [node.module] if node.module else [alias.name for alias in node.names]
            for module in modules:
                found.append((node, "." * node.level + module, id(node) in top or id(node) in guarded))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node, alias.name, id(node) in top or id(node) in guarded))
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_autograd_imports_flow_one_way_and_only_at_the_top(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    for node, name, at_top in _imports(tree):
        if name.startswith("."):
            target = name.lstrip(".").split(".")[0]
            assert target in ALLOWED[module], f"{module}.py imports {target} (line {node.lineno})"
        assert at_top or name.split(".")[0] in LAZY, f"{module}.py imports {name} inside a function"


def test_every_module_is_in_the_table():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(ALLOWED)


def test_autograd_needs_only_the_standard_library_graphviz_and_numpy_for_the_vectorised_replay():
    import sys

    for path in PACKAGE.glob("*.py"):
        allowed = LAZY | THIRD_PARTY.get(path.stem, set())
        for _, name, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            root = name.split(".")[0]
            if root and not name.startswith("."):
                assert root in sys.stdlib_module_names or root in allowed, f"{path.name} imports {name}"
