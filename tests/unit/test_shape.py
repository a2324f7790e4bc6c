"""The shape of the package: layers that import only downwards, no import cycle, small modules and
functions. Read from the source (``ast``), so it holds for code that no test runs.

Layers, from the ground up (a package may import its own layer's modules and any layer below):

    errors, settings, heap · domain · language, books · store · services · engine, triggers, demo, client
    · http · cli

The client (``plainrun.client``) is an entry point that reaches the service over HTTP only: it imports
the domain and nothing else of the package.

Imports under ``if TYPE_CHECKING:`` are for the type checker only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "plainrun"
LAYERS = [
    {"plainrun", "plainrun._version", "plainrun.errors", "plainrun.heap", "plainrun.settings"},
    {"plainrun.domain"},
    {"plainrun.language", "plainrun.books"},
    {"plainrun.store"},
    {"plainrun.services"},
    {"plainrun.engine", "plainrun.triggers", "plainrun.demo", "plainrun.client"},
    {"plainrun.http"},
    {"plainrun.cli"},
]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> set[str]:
    """The plainrun modules a module imports (at any depth), TYPE_CHECKING blocks aside."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name.startswith("plainrun"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("plainrun"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in out if name in MODULES}


GRAPH = {name: _imports(ast.parse(path.read_text())) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer if top != "plainrun"):
            return i
    assert module in LAYERS[0], f"{module} belongs to no layer: add its package to LAYERS"
    return 0


def test_every_import_goes_down_or_stays_in_its_layer() -> None:
    upward = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def test_the_client_imports_only_the_domain_and_itself() -> None:
    reached = {
        target
        for module, targets in GRAPH.items()
        if module.startswith("plainrun.client")
        for target in targets
        if not target.startswith(("plainrun.client", "plainrun.domain"))
    }
    assert reached == set()


def test_no_import_cycle_between_modules() -> None:
    cycles = [c for c in _strongly_connected(GRAPH) if len(c) > 1]
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_are_small(module: str) -> None:
    text = MODULES[module].read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[operator]
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES  # type: ignore[operator]
    ]
    assert long == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in graph:
        if node not in index:
            connect(node)
    return components
