"""A package's public names loaded on first use (PEP 562 module ``__getattr__``), for
stages whose modules bring heavy imports that most commands never need."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module

__all__ = ["on_first_use"]


def on_first_use(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """The ``__getattr__`` of ``package``: each name in ``exports`` is read from its
    submodule (``exports[name]``) when first asked for."""

    def attribute(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{exports[name]}"), name)

    return attribute
