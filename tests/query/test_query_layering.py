"""query/ is a component folder: it imports only itself, core and ops (as teachers/refine/select)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pseudolabel"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pseudolabel."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("pseudolabel.")}
    return out


def test_query_imports_only_query_core_ops():
    bad = {p.name: _imports(p) - {"query", "core", "ops"} for p in (SRC / "query").glob("*.py")}
    assert not {k: v for k, v in bad.items() if v}


def test_store_does_not_import_the_learners():
    bad = {p.name: _imports(p) & {"learn", "bench", "cli", "review", "audit"} for p in (SRC / "store").glob("*.py")}
    assert not {k: v for k, v in bad.items() if v}
