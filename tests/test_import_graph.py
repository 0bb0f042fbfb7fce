"""The layering of the package, checked on its source: no import cycles, and each layer imports
only the layers below it.

Every module under ``src/pseudolabel`` is parsed with ``ast`` and *every* ``import`` statement
counts, including the ones inside functions (a lazy import is still a dependency; it only moves
the moment the cycle bites). Names are resolved to the most specific module: ``from
pseudolabel.ops import simplex`` is an edge to ``pseudolabel.ops.simplex``, ``from
pseudolabel.select import FlexMatch`` one to the package ``pseudolabel.select``. The implicit
import of parent packages is not an edge (otherwise everything would depend on
``pseudolabel/__init__``). Imports by string (``importlib.import_module`` in
``core/registry.py``, which discovers the stage packages and the optional ``neural`` teacher by
name) are not edges either: that discovery is what the registry is for.

Layers::

    ops                      → ops
    core                     → core, ops
    teachers, refine, select → their own folder, core, ops   (never each other, learn, audit,
                                                              bench, cli, data)

Allowed exceptions are listed below with their reason; each must still occur (a stale entry
fails too, so the list shrinks when the code is fixed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "pseudolabel"

LAYERS: dict[str, set[str]] = {
    "ops": {"ops"},
    "core": {"core", "ops"},
    "teachers": {"teachers", "core", "ops"},
    "refine": {"refine", "core", "ops"},
    "select": {"select", "core", "ops"},
}
"""Top-level folder → folders it may import from."""

ALLOWED_EDGES: dict[tuple[str, str], str] = {
    ("pseudolabel.teachers.zeroshot", "pseudolabel.data.embed"): (
        "text rows are embedded with the data layer's sentence encoder and its on-disk cache "
        "(lazy, inside ZeroShotTeacher._embed, only for text input; the text extra). The encoder "
        "loads a model from disk and writes files, which does not belong in the pure-array ops layer."
    ),
}

ALLOWED_CYCLES: dict[frozenset[str], str] = {}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is_package)."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _resolve(name: str, modules) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def build_graph() -> dict[str, dict[str, int]]:
    """Module → {imported module: first line number}, for imports of the package itself."""
    modules = _modules()
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_pkg) in modules.items():
        package = name if is_pkg else name.rpartition(".")[0]
        edges: dict[str, int] = {}

        def add(target: str | None, line: int, edges=edges, name=name) -> None:
            if target is not None and target != name:
                edges.setdefault(target, line)
                edges[target] = min(edges[target], line)

        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                        add(_resolve(alias.name, modules), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if not (source == PACKAGE or source.startswith(PACKAGE + ".")):
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    add(sub if sub in modules else _resolve(source, modules), node.lineno)
        graph[name] = edges
    return graph


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _cycle_path(graph, members: list[str]) -> str:
    """One concrete cycle through the component, with the line of each import, for the message."""
    inside = set(members)
    start = members[0]
    prev = {start: None}
    queue = [start]
    while queue:  # breadth-first search back to start, within the component
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                path = path[::-1] + [start]
                hops = zip(path, path[1:], strict=False)
                return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in hops) + f" -> {start}"
            if nxt in inside and nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return ", ".join(members)


@pytest.fixture(scope="module")
def graph():
    return build_graph()


def test_graph_sees_the_package(graph):
    # guards the checker itself: modules are found and function-level imports are edges
    assert "pseudolabel.ops.simplex" in graph and "pseudolabel.teachers.graph" in graph
    assert "pseudolabel.ops.propagation" in graph["pseudolabel.teachers.graph"]
    assert "pseudolabel.data.embed" in graph["pseudolabel.teachers.zeroshot"]  # inside a method


def test_no_import_cycles(graph):
    cycles = _cycles(graph)
    new = [c for c in cycles if frozenset(c) not in ALLOWED_CYCLES]
    stale = [sorted(c) for c in ALLOWED_CYCLES if sorted(c) not in cycles]
    msg = ["import cycles (including imports inside functions):"]
    msg += [f"  {_cycle_path(graph, c)}" for c in new]
    msg += [f"  allowed cycle no longer exists, remove it from ALLOWED_CYCLES: {c}" for c in stale]
    assert not new and not stale, "\n".join(msg)


def test_layers_import_only_what_is_below(graph):
    violations, used = [], set()
    for module, edges in sorted(graph.items()):
        allowed = LAYERS.get(_folder(module))
        if allowed is None:
            continue
        for target, line in sorted(edges.items()):
            if _folder(target) in allowed:
                continue
            if (module, target) in ALLOWED_EDGES:
                used.add((module, target))
                continue
            violations.append(f"  {module} (line {line}) imports {target}: {_folder(module)}/ may import only {sorted(allowed)}")
    stale = [f"  allowed edge no longer exists, remove it from ALLOWED_EDGES: {e}" for e in ALLOWED_EDGES if e not in used]
    assert not violations and not stale, "layering violations:\n" + "\n".join(violations + stale)


def test_component_folders_do_not_import_each_other(graph):
    # stated separately because it is the rule that keeps a component a drop-in module
    components = {"teachers", "refine", "select"}
    bad = [
        f"  {m} (line {line}) imports {t}"
        for m, edges in sorted(graph.items())
        for t, line in sorted(edges.items())
        if _folder(m) in components and _folder(t) in components and _folder(t) != _folder(m)
    ]
    assert not bad, "component folders import each other:\n" + "\n".join(bad)
