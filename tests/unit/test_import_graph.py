"""The package's imports flow one way: no cycle, counting the imports made inside
functions (they run too), and no layer imports one above it or beside it.

The layers, from the bottom: the top-level modules (`record`, `config`, `urls`,
`jsontext`); then `net`, `extract`, `store` and `present`, which know nothing of each
other; then `run`, which previews URLs with them; then `cli`, which nothing imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "og_preview"

RANKS = {"": 0, "net": 1, "extract": 1, "store": 1, "present": 1, "run": 2, "cli": 3}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_name(path: Path) -> str:
    """`og_preview/run/pool.py` → `run.pool`; `og_preview/run/__init__.py` → `run`."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, target: str) -> str:
    """The absolute name (under og_preview) of a relative import `level` dots up."""
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports at run time (anywhere in it)."""
    found: set[str] = set()
    module = module_name(path)
    is_package = path.name == "__init__.py"

    def add(name: str) -> None:
        while name and name not in modules:  # `from ..net import fetch` names a module
            name = name.rpartition(".")[0]
        if name:
            found.add(name)

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if _is_type_checking(node.test):  # (for the type checker only)
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = _resolve(module, is_package, node.level, node.module or "")
            elif (node.module or "").startswith("og_preview"):
                base = (node.module or "").removeprefix("og_preview").lstrip(".")
            else:
                return
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                add(candidate if candidate in modules else base)

        def visit_Import(self, node: ast.Import) -> None:
            for alias in node.names:
                if alias.name.startswith("og_preview."):
                    add(alias.name.removeprefix("og_preview."))

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    found.discard("")  # the package itself (`from .. import __version__`)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    paths.pop("", None)  # the public API: lazy re-exports of everything
    names = set(paths)
    return {name: imports_of(path, names) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (each reported once, from its node)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                walk(nxt, [*path, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            walk(start, [start])
    return found


def layer(module: str) -> str:
    head, _, rest = module.partition(".")
    return head if rest or (head in RANKS and head) else ""


def wrong_way(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports of a module in a layer above the importer's, or beside it."""
    bad = []
    for name, deps in graph.items():
        mine = layer(name)
        for dep in deps:
            theirs = layer(dep)
            if theirs != mine and RANKS[theirs] >= RANKS[mine]:
                bad.append((name, dep))
    return sorted(bad)


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "run.pipeline" in graph["cli.batch"] and "run.previewer" in graph["run.worker"]
    assert "record" in graph["run.previewer"] and "extract.decode" in graph["extract.metadata"]
    assert {layer(name) for name in graph} == set(RANKS)


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_checker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_imports_flow_down_the_layers() -> None:
    assert wrong_way(import_graph()) == []


def test_the_checker_sees_a_wrong_way_import() -> None:
    graph = {
        "extract.meta": {"cli.app", "record", "extract.clean"},
        "net.fetch": {"extract.challenge"},
        "record": {"store.cache"},
        "run.pool": {"net.fetch", "extract.metadata"},
    }
    assert wrong_way(graph) == [
        ("extract.meta", "cli.app"),
        ("net.fetch", "extract.challenge"),
        ("record", "store.cache"),
    ]
