"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def toy_client(tmp_path, monkeypatch):
    """``py:toy_client:embed``: a function embedder that records that it was called."""
    import importlib
    import sys

    (tmp_path / "toy_client.py").write_text(
        "CALLS = []\n"
        "def embed(texts):\n"
        "    CALLS.append(len(texts))\n"
        "    return [[len(t), t.count('a'), t.count('e'), 1.0] for t in texts]\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("toy_client", None)
    return importlib.import_module("toy_client")
