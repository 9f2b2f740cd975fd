"""Lazy re-exports for package ``__init__`` modules.

``import probes`` (or ``interpret``, ``inversion``) must stay light, so a package lists its public
names with the module that defines each, and that module is imported on first access.

Examples
--------
>>> getattr_, dir_ = lazy_exports("embedlens", {"EmbeddingCache": "embedlens.cache"})
>>> getattr_("EmbeddingCache").__name__
'EmbeddingCache'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` serving ``exports`` lazily.

    ``exports`` maps a public name to the dotted module that defines it. A loaded name is
    stored in the package's namespace, so later lookups cost nothing.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
