"""Shared fixtures: tiny random models for unit tests, the real offline models for `slow` tests."""

from __future__ import annotations

import os

import pytest

from embedlens.models import cache_dir

# No test reaches the hub: the offline world has none, and a hub id must fail fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The user's cache as it was before any test ran: the converted SmolLM2 lives there, so the
# tests and `make demo` dequantize the GGUF file once per machine, not once per run.
USER_CACHE = cache_dir()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Tests write caches under a temporary directory, never into the user's cache."""
    monkeypatch.setenv("EMBEDLENS_CACHE", str(tmp_path_factory.getbasetemp() / "embedlens-cache"))


@pytest.fixture(scope="session")
def tiny_emb():
    from tiny_models import tiny_embedder

    return tiny_embedder(dim=32)


@pytest.fixture(scope="session")
def minilm():
    from embedlens import load_embedder

    return load_embedder("minilm", device="cpu")


@pytest.fixture(scope="session")
def user_cache():
    return USER_CACHE


@pytest.fixture(scope="session")
def smollm2():
    from embedlens.models import load_decoder

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBEDLENS_CACHE", str(USER_CACHE))
        return load_decoder("smollm2", device="cpu")


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread: tiny models are far faster so on a shared 2-core CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
