"""``embedlens info``: versions, built-in models and corpora, the cache directory, the device."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("info", help="versions, built-in models and corpora, cache, device")
    p.set_defaults(func=_cmd_info)


def _cmd_info(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    from embedlens.data import BUILTIN_CORPORA
    from embedlens.models import BUILTIN_DECODERS, BUILTIN_EMBEDDERS, cache_dir, resolve_device

    print(f"embedlens {md.version('embedlens')}")
    for pkg in ("torch", "transformers", "sentence-transformers", "numpy", "scikit-learn"):
        try:
            print(f"  {pkg:22s} {md.version(pkg)}")
        except md.PackageNotFoundError:
            print(f"  {pkg:22s} (not installed)")
    print(f"device: {resolve_device(None)}")
    print(f"cache:  {cache_dir()}")
    for kind, table in (("embedders", BUILTIN_EMBEDDERS), ("decoders", BUILTIN_DECODERS)):
        print(f"built-in {kind}:")
        for name, what in table.items():
            print(f"  {name:10s} {what}")
    print("built-in corpora: " + ", ".join(BUILTIN_CORPORA))
    return 0
