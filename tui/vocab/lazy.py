"""A package's names imported when first asked for (PEP 562's module ``__getattr__``): what a
command never uses costs it no start-up time, and the names are still the package's."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], object]:
    """The ``__getattr__`` of ``package``: each name in ``where`` is imported from the package's
    module ``where[name]`` when first asked for, then kept in the package (found directly from
    then on)."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
