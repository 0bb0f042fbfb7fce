"""Pipeline components by name, for the CLI and for ``SelfTrainer(select="flexmatch")``.

Each method module registers its class with one decorator line::

    @register("select", "flexmatch")
    class FlexMatch(BaseSelector): ...

Specs may carry keyword arguments: ``"flexmatch(threshold=0.9)"``; values are Python literals.
"""

from __future__ import annotations

import ast
import importlib
from typing import Any

KINDS = {"teacher": "pseudolabel.teachers", "refine": "pseudolabel.refine", "select": "pseudolabel.select"}
_REGISTRY: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
# Components living outside the stage packages because they need an optional extra: imported on
# first use so that `import pseudolabel` never pulls in torch.
_OPTIONAL = {"teacher": {"neural": ("pseudolabel.learn.neural", "torch")}}


def register(kind: str, name: str):
    """Class decorator that makes ``name`` resolve to the class for ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; expected one of {sorted(KINDS)}")

    def deco(cls: type) -> type:
        known = _REGISTRY[kind].get(name)
        if known is not None and known is not cls:
            raise ValueError(f"{kind} name {name!r} is already taken by {known.__name__}")
        _REGISTRY[kind][name] = cls
        cls._registry_name = name
        return cls

    return deco


def available(kind: str, optional: bool = True) -> dict[str, type]:
    """Registered names for ``kind`` (imports the stage package so its modules register; with
    ``optional``, also the components of installed extras)."""
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; expected one of {sorted(KINDS)}")
    importlib.import_module(KINDS[kind])
    for name in _OPTIONAL.get(kind, {}) if optional else ():
        _import_optional(kind, name, strict=False)
    return dict(sorted(_REGISTRY[kind].items()))


def _import_optional(kind: str, name: str, strict: bool) -> None:
    module, extra = _OPTIONAL[kind][name]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if strict:
            raise ValueError(f"{kind} {name!r} needs the {extra!r} extra: pip install 'pseudolabel[{extra}]'") from exc


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


def make(kind: str, spec: Any):
    """Build a component from a name/spec string; objects pass through unchanged."""
    if not isinstance(spec, str):
        return spec
    name, kwargs = parse_spec(spec)
    names = available(kind, optional=False)
    if name not in names and name in _OPTIONAL.get(kind, {}):
        _import_optional(kind, name, strict=True)
        names = available(kind, optional=False)
    if name not in names:
        names = available(kind)
        raise ValueError(f"unknown {kind} {name!r}; choose one of: {', '.join(names)}")
    try:
        return names[name](**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad arguments for {kind} {name!r}: {exc}") from exc


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
