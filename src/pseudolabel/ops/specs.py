"""Component specs as text: ``"flexmatch(threshold=0.9)"`` and comma-separated refiner chains."""

from __future__ import annotations

import ast
from typing import Any


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name(a=1, b='x')"`` → ``("name", {"a": 1, "b": "x"})``."""
    spec = spec.strip()
    if "(" not in spec:
        return spec.lower(), {}
    if not spec.endswith(")"):
        raise ValueError(f"cannot parse component spec {spec!r}: expected name(key=value, ...)")
    name, args = spec[: spec.index("(")].strip().lower(), spec[spec.index("(") :]
    try:
        call = ast.parse(f"f{args}", mode="eval").body
        if not isinstance(call, ast.Call) or call.args:
            raise ValueError
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError) as exc:
        raise ValueError(
            f"cannot parse arguments of {spec!r}: use keyword=literal pairs, e.g. flexmatch(threshold=0.9)"
        ) from exc
    return name, kwargs


def split_specs(text: str) -> list[str]:
    """Split ``"calibrate,sinkhorn(prior='uniform')"`` on top-level commas only."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return [s for s in out if s]


def as_spec_list(spec) -> list:
    """A refiner chain as a list: ``None`` → ``[]``; ``"calibrate,sinkhorn"`` → two specs; a list or
    tuple as given; one object → ``[object]``."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [] if spec.strip().lower() == "none" else split_specs(spec)
    if isinstance(spec, list | tuple):
        return list(spec)
    return [spec]
