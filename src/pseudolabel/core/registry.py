"""Pipeline components by name, for the CLI and for ``SelfTrainer(select="flexmatch")``; query
strategies (which rows a person labels next) are the ``"query"`` kind.

Each method module registers its class with one decorator line::

    @register("select", "flexmatch")
    class FlexMatch(BaseSelector): ...

Specs may carry keyword arguments: ``"flexmatch(threshold=0.9)"``; values are Python literals.
A name belongs to one component across all kinds (``--teacher ensemble`` and ``--select ...``
can never mean two different methods); a renamed component keeps its old name as an alias that
still resolves, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from pseudolabel.ops.specs import parse_spec, split_specs

__all__ = ["KINDS", "available", "make", "parse_spec", "register", "split_specs"]

KINDS = {
    "teacher": "pseudolabel.teachers",
    "refine": "pseudolabel.refine",
    "select": "pseudolabel.select",
    "query": "pseudolabel.query",
}
_REGISTRY: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_ALIASES: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
# Components living outside the stage packages because they need an optional extra: imported on
# first use so that `import pseudolabel` never pulls in torch.
_OPTIONAL = {"teacher": {"neural": ("pseudolabel.learn.neural", "torch")}}


def register(kind: str, name: str, *, aliases: tuple[str, ...] = ()):
    """Class decorator that makes ``name`` (and the deprecated ``aliases``) resolve to the class."""
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; expected one of {sorted(KINDS)}")

    def deco(cls: type) -> type:
        for other, names in _REGISTRY.items():
            known = names.get(name)
            if known is not None and known is not cls:
                raise ValueError(f"name {name!r} is already taken by {other} {known.__name__}; names are unique across kinds")
        _REGISTRY[kind][name] = cls
        for alias in aliases:
            _ALIASES[kind][alias] = name
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


def make(kind: str, spec: Any):
    """Build a component from a name/spec string; objects pass through unchanged."""
    if not isinstance(spec, str):
        return spec
    name, kwargs = parse_spec(spec)
    names = available(kind, optional=False)
    if name not in names and name in _ALIASES[kind]:
        new = _ALIASES[kind][name]
        warnings.warn(f"{kind} {name!r} was renamed to {new!r}; the old name will be removed", DeprecationWarning, stacklevel=2)
        name = new
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


