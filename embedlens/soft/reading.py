"""Readers: what turns a vector into the words a soft-prefix model reads beside its soft tokens.

A *reader* is any object with ``invert(X) -> list[str]`` for ``(n, dim)`` vectors of one
embedder (a search inverter, a trained inverter, a nearest-text lookup). The explainer puts the
reader's words after the soft tokens, so the language model starts from the words the vector
is closest to instead of learning to read the vector from nothing.

Readers are found by name through the ``embedlens.readers`` entry-point group, so a package of
the base never imports the package that implements one: ``inversion`` registers ``"search"``
(:class:`inversion.SearchInverter`) in ``pyproject.toml``. :func:`make_reader` builds one from a
name and options (what a saved model records), :func:`reader_spec` records one.

Examples
--------
>>> from embedlens.soft.reading import reader_names
>>> "search" in reader_names()
True
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

__all__ = ["GROUP", "Reader", "make_reader", "reader_names", "reader_spec"]

#: the entry-point group that names readers
GROUP = "embedlens.readers"


@runtime_checkable
class Reader(Protocol):
    """Anything that reads vectors back into text."""

    def invert(self, X: Any) -> list[str]: ...


def _registry() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def reader_names() -> list[str]:
    """The names :func:`make_reader` knows (installed ``embedlens.readers`` entry points)."""
    return sorted(_registry())


def make_reader(name: str, embedder: Any, options: Mapping[str, Any] | None = None) -> Reader:
    """Build the reader registered as ``name`` for ``embedder``, with keyword ``options``.

    Raises ``ValueError`` naming the known readers when ``name`` is not one of them, and
    ``TypeError`` when what is registered does not read vectors (no ``invert``).
    """
    found = _registry().get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(
            f"unknown reader {name!r}: installed readers are {reader_names() or 'none'} "
            f"(entry-point group {GROUP!r}); reinstall embedlens, or pass a reader object "
            "with an invert(X) method"
        )
    factory = found.load()
    reader = factory(embedder=embedder, **dict(options or {}))
    if not isinstance(reader, Reader):
        raise TypeError(f"reader {name!r} ({found.value}) has no invert(X) method")
    return reader


def reader_spec(reader: Any) -> dict[str, Any] | None:
    """``{"name", "options"}`` for a registered reader (its JSON-able parameters), else None.

    The embedder and any texts the reader holds are left out: a saved model records how to
    build its reader again, not the reader's data.
    """
    for name, ep in _registry().items():
        module, _, attr = ep.value.partition(":")
        cls = type(reader)
        if cls.__module__ == module and cls.__qualname__ == attr:
            params = reader.get_params() if hasattr(reader, "get_params") else {}
            options = {
                k: v
                for k, v in params.items()
                if k not in ("embedder", "aux_texts", "lm_texts", "progress")
                and (v is None or isinstance(v, (str, int, float, bool)))
            }
            return {"name": name, "options": options}
    return None
