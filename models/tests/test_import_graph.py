"""The sdumc import graph has no cycle (issue 16).

Every import statement counts, wherever it stands: at module level, inside a function (a lazy
import), or under `if TYPE_CHECKING:`. A lazy import only delays a cycle to run time; the two
modules still depend on each other, so neither can be understood, tested or moved alone. The
graph also has an edge to each package an import passes through (`import sdumc.speech.mel` runs
`sdumc/speech/__init__.py` first), so a package `__init__` that imported its own modules back
would show up too. Imports of other packages (numpy, torch, ...) are not part of the graph.
Imports by string (`importlib.import_module`, `__import__`) are not parsed; the package has none.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # models/: the folder that holds sdumc/


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file for every module and package under root/package."""
    names = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` names (resolving leading dots)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _with_parents(name: str, known: dict[str, Path]) -> set[str]:
    """`name` and every package above it that is part of the graph."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(known)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (module-level, lazy and type-only alike)."""
    known = module_names(root, package)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        is_package = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    deps |= _with_parents(alias.name, known)
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(module, is_package, node)
                deps |= _with_parents(target, known)
                for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                    deps |= _with_parents(f"{target}.{alias.name}", known)
        deps.discard(module)
        # a module's own packages are already running when it is imported: no edge back to them
        graph[module] = {d for d in deps if not module.startswith(d + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle (a -> b -> ... -> a) per strongly connected group of modules
    (Tarjan's algorithm, iterative); empty when the graph is acyclic."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return [_path_through(graph, set(g)) for g in groups]


def _path_through(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle from the group's first module back to itself, staying in the group."""
    first = min(group)
    prev: dict[str, str] = {}
    frontier = [first]
    while frontier:
        nxt = []
        for m in frontier:
            for d in sorted(graph[m] & group):
                if d == first:
                    path = [m]
                    while path[-1] != first:
                        path.append(prev[path[-1]])
                    return path[::-1] + [first]
                if d not in prev:
                    prev[d] = m
                    nxt.append(d)
        frontier = nxt
    raise AssertionError(f"no cycle through {sorted(group)}")  # cannot happen for an SCC


def test_sdumc_import_graph_has_no_cycle():
    found = cycles(import_graph(ROOT, "sdumc"))
    assert not found, "import cycles in models/sdumc:\n" + "\n".join(" -> ".join(c) for c in found)


def test_checker_sees_lazy_relative_and_package_imports(tmp_path):
    """The checker itself: a cycle closed by an import inside a function, written relatively,
    through `from pkg import mod`, is found and printed as a path."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n    return g\n")
    (pkg / "c.py").write_text("import numpy\n\ndef g():\n    from . import a\n    return a\n")
    (pkg / "leaf.py").write_text("from .a import b\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert graph["pkg.leaf"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]
    (pkg / "c.py").write_text("import numpy\n")
    assert cycles(import_graph(tmp_path, "pkg")) == []
