"""The package's imports flow one way: no cycle, counting the imports made inside
functions (they run too), and nothing imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "og_preview"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports at run time (anywhere in it)."""
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):  # (for the type checker only)
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level == 1 or (node.module or "").startswith("og_preview"):
                parts = (node.module or "").split(".")
                module = parts[0] if node.level == 1 else (parts[1] if len(parts) > 1 else "")
                names = [module] if module else [alias.name for alias in node.names]
                found.update(name for name in names if name in modules)

        def visit_Import(self, node: ast.Import) -> None:
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "og_preview" and len(parts) > 1 and parts[1] in modules:
                    found.add(parts[1])

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(path.stem)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {path.stem: path for path in PACKAGE.glob("*.py")}
    names = set(paths)
    return {name: imports_of(path, names) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (each reported once, from its node)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                walk(nxt, [*path, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            walk(start, [start])
    return found


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "pipeline" in graph["cli"] and "previewer" in graph["pool"]


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_checker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_nothing_imports_the_cli() -> None:
    graph = import_graph()
    users = sorted(name for name, deps in graph.items() if deps & {"cli", "cli_common"})
    assert set(users) <= {"cli", "cli_common", "cli_options", "cli_report", "cli_show", "entry"}
