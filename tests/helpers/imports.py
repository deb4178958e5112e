"""A static picture of who imports whom: every import of a tree of .py files, parsed with ``ast``.

Nothing is imported or executed. Used by tests/unit/test_boundaries.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One imported module, as the importing file names it once resolved."""

    importer: str  # module name, e.g. app.jobs.endpoints
    file: str  # the importer's path as the report shows it
    line: int
    target: str  # absolute module name, e.g. app.jobs.service (a submodule when `from pkg import submodule`)
    module_level: bool  # runs when the importer is imported (not inside a function, not under TYPE_CHECKING)

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def module_names(sources: list[tuple[Path, Path]]) -> dict[str, Path]:
    """Every module under the sources by dotted name (a package by its name, not ``…__init__``)."""
    names: dict[str, Path] = {}
    for directory, base in sources:
        for path in sorted(directory.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(nodes: Iterable[ast.AST], module_level: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement among ``nodes`` and below, and whether it runs when the module is imported."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, module_level
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _statements(ast.iter_child_nodes(node), False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, False)
            yield from _statements(node.orelse, module_level)
        else:
            yield from _statements(ast.iter_child_nodes(node), module_level)


def imports_of(module: str, path: Path, file: str, known: set[str]) -> list[Import]:
    """The imports of one file, resolved to absolute module names (``known`` tells submodules from names)."""
    found: list[Import] = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node, module_level in _statements(tree.body, True):
        if isinstance(node, ast.Import):
            found += [Import(module, file, node.lineno, alias.name, module_level) for alias in node.names]
            continue
        base = node.module or ""
        if node.level:  # relative: from the importer's package, one level up per extra dot
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            found.append(Import(module, file, node.lineno, candidate if candidate in known else base, module_level))
    return found


def collect(sources: list[tuple[Path, Path]], shown_from: Path) -> list[Import]:
    """The imports of every module under ``sources``; files are shown relative to ``shown_from``."""
    modules = module_names(sources)
    known = set(modules)
    return [
        imp
        for name, path in modules.items()
        for imp in imports_of(name, path, str(path.relative_to(shown_from)), known)
    ]


def under(name: str, *prefixes: str) -> bool:
    """``name`` is one of ``prefixes`` or a module inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def cycles(found: list[Import], within: str) -> list[str]:
    """One shortest cycle per strongly connected group of modules under ``within`` (module-level imports)."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in found:
        inside = under(imp.importer, within) and under(imp.target, within) and imp.target != imp.importer
        if imp.module_level and inside:
            edges.setdefault(imp.importer, {}).setdefault(imp.target, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    reports = []
    for group in groups:
        start = min(group)
        paths = {start: [start]}
        queue = [start]
        cycle: list[str] = []
        while queue and not cycle:  # breadth first: the shortest way back to start
            node = queue.pop(0)
            for nxt in sorted(edges.get(node, {})):
                if nxt == start:
                    cycle = [*paths[node], start]
                    break
                if nxt in group and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    queue.append(nxt)
        hops = [f"{a} ({edges[a][b].where()}) -> {b}" for a, b in zip(cycle, cycle[1:], strict=False)]
        reports.append("cycle: " + "; ".join(hops))
    return reports
