"""Execution engines: the local engine's contract, and the Ray engine giving the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from embedlens.engine import ENGINES, LocalEngine, get_engine
from embedlens.engine.ray import ray_installed

TEXTS = [f"record {i}: {'word ' * (i % 7)}end" for i in range(23)]


def _records(n: int) -> list[dict]:
    return [{"id": i, "name": f"person {i}", "age": 20 + i % 50} for i in range(n)]


def _describe(batch: list[dict]) -> list[dict]:
    """A per-record function: each record's result depends only on that record."""
    return [{"id": r["id"], "score": r["age"] * 0.5 + len(r["name"])} for r in batch]


def _numbers(value):
    """A result without what depends on the clock (seconds, the date) or the engine; floats
    rounded to 1e-5."""
    if isinstance(value, dict):
        return {
            k: _numbers(v)
            for k, v in value.items()
            if "seconds" not in k and k not in ("timings", "engine", "created")
        }
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    if isinstance(value, float):
        return round(value, 5)
    return value


# --------------------------------------------------------------------------- local


def test_get_engine_local_and_unknown_names():
    assert isinstance(get_engine(), LocalEngine)
    assert get_engine("local").name == "local"
    with pytest.raises(ValueError, match="local, ray"):
        get_engine("spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no options"):
        get_engine("local", num_cpus=2)
    assert ENGINES == ("local", "ray")


def test_local_embed_matches_embedder(tiny_emb):
    with get_engine("local") as engine:
        X = engine.embed(tiny_emb, TEXTS, batch_size=4)
    assert X.dtype == np.float32 and X.shape == (len(TEXTS), tiny_emb.dim)
    np.testing.assert_allclose(X, tiny_emb.embed(TEXTS, batch_size=64), atol=1e-5)
    # rows follow the input order, not the length-sorted batch order
    np.testing.assert_allclose(X[5], tiny_emb.embed([TEXTS[5]])[0], atol=1e-5)


def test_local_embed_bad_input(tiny_emb):
    engine = LocalEngine()
    with pytest.raises(ValueError, match="empty"):
        engine.embed(tiny_emb, [])
    with pytest.raises(TypeError, match="list of strings"):
        engine.embed(tiny_emb, "one text")
    with pytest.raises(ValueError, match="at least 1"):
        engine.embed(tiny_emb, TEXTS, batch_size=0)


def test_local_map_batches_keeps_order_and_batches():
    seen: list[int] = []

    def fn(batch: list[int]) -> list[int]:
        seen.append(len(batch))
        return [x * x for x in batch]

    out = LocalEngine().map_batches(fn, list(range(10)), batch_size=4)
    assert out == [x * x for x in range(10)]
    assert seen == [4, 4, 2]
    assert LocalEngine().map_batches(fn, [], batch_size=4) == []
    assert LocalEngine().map_batches(_describe, _records(5)) == _describe(_records(5))


def test_local_map_batches_checks_result_count():
    with pytest.raises(ValueError, match="returned 1 results for a batch of 3"):
        LocalEngine().map_batches(lambda xs: xs[:1], [1, 2, 3])
    with pytest.raises(TypeError, match="expected a list"):
        LocalEngine().map_batches(lambda xs: None, [1, 2, 3])
    with pytest.raises(TypeError, match="positive int"):
        LocalEngine().map_batches(lambda xs: xs, [1], batch_size=1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- ray


def test_ray_engine_missing_ray_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'embedlens\[ray\]'"):
        get_engine("ray")


def test_ray_engine_checks_options(monkeypatch):
    if not ray_installed():
        pytest.skip("ray is not installed: pip install 'embedlens[ray]'")
    with pytest.raises(ValueError, match="shard_rows"):
        get_engine("ray", shard_rows=0)
    with pytest.raises(ValueError, match=r"\['workers'\].*valid options are address, num_cpus"):
        get_engine("ray", workers=2)
    with pytest.raises(TypeError, match="positive int"):
        get_engine("ray", num_cpus="2")
    monkeypatch.setenv("EMBEDLENS_RAY_SHARD_DIR", "s3://bucket/shards")
    assert get_engine("ray").shard_dir == "s3://bucket/shards"
    assert get_engine("ray", shard_dir="/mnt/shared").shard_dir == "/mnt/shared"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")
def test_ray_engine_gives_the_local_numbers(tmp_path, one_torch_thread):
    """A local 2-CPU Ray instance over 3 parquet shards: same vectors, records and audit."""
    pytest.importorskip("ray.data", reason="ray is not installed: pip install 'embedlens[ray]'")
    import ray

    from tiny_models import tiny_embedder

    emb = tiny_embedder(dim=16)
    cached = tiny_embedder(dim=16).with_cache(tmp_path / "cache.sqlite")
    records = _records(23)
    local = LocalEngine()
    try:
        shards = tmp_path / "shards"
        options = {"shard_rows": 8, "progress": False}
        with get_engine("ray", num_cpus=2, shard_dir=shards, **options) as engine:
            assert not ray.is_initialized()  # nothing starts before the first call
            X = engine.embed(emb, TEXTS, batch_size=4)
            assert ray.is_initialized()
            assert X.dtype == np.float32 and X.shape == (len(TEXTS), 16)
            np.testing.assert_allclose(X, local.embed(emb, TEXTS, batch_size=4), atol=1e-5)

            # the driver keeps the cache: the workers' texts are stored, a re-run sends none
            half = TEXTS[:10]
            cached.embed(half)
            before = cached.queries
            Xc = engine.embed(cached, TEXTS)
            assert cached.queries == before + len(TEXTS) - len(half)
            np.testing.assert_allclose(Xc, X, atol=1e-5)
            assert cached.cache is not None and cached.cache.count() == len(TEXTS)
            np.testing.assert_allclose(engine.embed(cached, TEXTS), X, atol=1e-5)
            assert cached.queries == before + len(TEXTS) - len(half)

            assert engine.map_batches(_describe, records, batch_size=5) == local.map_batches(
                _describe, records, batch_size=5
            )
            # items parquet cannot store exactly travel pickled and come back unchanged
            odd = [(1, 2), {"a": 1}, "s", None, np.arange(3)]
            back = engine.map_batches(lambda xs: [repr(x) for x in xs], odd, batch_size=2)
            assert back == [repr(x) for x in odd]
            assert engine.map_batches(_describe, []) == []
            assert shards.is_dir() and list(shards.iterdir()) == []  # each call cleans up

            # a second engine reuses the running session (shards in the system temp dir) and
            # leaves it running when closed: only the engine that started Ray stops it
            with get_engine("ray", **options) as guest:
                assert guest.map_batches(_describe, records[:9], batch_size=4) == _describe(
                    records[:9]
                )
            assert ray.is_initialized()
            with pytest.raises(ValueError, match="returned 1 results for a batch of 3"):
                engine.map_batches(lambda xs: xs[:1], [1, 2, 3], batch_size=3)

            # the audit through the Ray engine: the same numbers as through the local one
            from embedlens.audit import audit

            options = {"records": 30, "attacks": ["nn"], "defenses": [], "bootstrap": 0}
            on_ray = audit(emb, "pii", engine=engine, progress=False, **options)
            on_local = audit(emb, "pii", engine="local", progress=False, **options)
            assert on_ray.config["engine"] == "ray"
            assert _numbers(on_ray.to_dict()) == _numbers(on_local.to_dict())
        assert not ray.is_initialized()
    finally:
        ray.shutdown()


@pytest.mark.parametrize(
    ("items", "column"),
    [
        (["a", "b"], "item"),
        ([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], "item"),
        ([[1, 2], [3]], "item"),
        ([1, 2.0], "item_pickled"),  # parquet would make the 1 a float
        ([{"a": 1}, {"b": 2}], "item_pickled"),  # parquet would add the missing keys as None
        ([(1, 2)], "item_pickled"),  # parquet would make the tuple a list
    ],
)
def test_ray_items_go_native_only_when_parquet_keeps_them(items, column):
    pytest.importorskip("pyarrow")
    from embedlens.engine.ray import _item_column

    assert _item_column(items)[0] == column
