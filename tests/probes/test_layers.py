"""Layer sweeps: on synthetic states (the curve peaks where the label lives) and a tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from probes import LayerSweepResult, LinearProbe, evaluate_probe, layer_sweep


def one_layer_states(
    n: int = 240, n_layers: int = 5, carrier: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States where only layer ``carrier`` encodes y; keys are 40 word types."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 40, size=n)
    y = np.where(keys % 2 == 0, "even", "odd")
    states = rng.normal(size=(n_layers, n, 8)).astype(np.float32)
    states[carrier, :, 0] += 2.5 * (y == "odd")
    return states, y, keys


def test_curve_peaks_at_the_layer_that_carries_the_label() -> None:
    states, y, keys = one_layer_states()
    sweep = layer_sweep(states, y=y, keys=keys, n_bootstrap=200)
    assert isinstance(sweep, LayerSweepResult)
    assert sweep.layers == (0, 1, 2, 3, 4)
    assert sweep.best_layer == 3
    assert sweep.metric == "accuracy"
    scores = np.array(sweep.scores)
    assert scores[3] > 0.85
    others = np.delete(scores, 3)
    assert (others < 0.65).all()
    assert sweep.cis[3][0] > max(c[1] for i, c in enumerate(sweep.cis) if i != 3)
    # selectivity peaks there too, and controls stay near chance on every layer
    assert sweep.selectivities is not None and sweep.control_scores is not None
    assert int(np.argmax(sweep.selectivities)) == 3
    assert sweep.selectivities[3] > 0.2
    assert all(
        lo <= s <= hi
        for s, (lo, hi) in zip(sweep.selectivities, sweep.selectivity_cis, strict=True)
    )


def test_layer_matches_evaluate_probe_on_that_layer() -> None:
    states, y, _ = one_layer_states(n=150)
    probe = LinearProbe(C=0.5)
    sweep = layer_sweep(states, y=y, probe=probe, layers=[3, -1], n_bootstrap=100, random_state=7)
    assert sweep.layers == (3, 4)
    direct = evaluate_probe(states[3], y, probe, n_bootstrap=100, random_state=7)
    assert sweep.scores[0] == pytest.approx(direct.score)
    assert sweep.cis[0] == pytest.approx(direct.ci)
    assert sweep.control_scores is None and sweep.selectivities is None


def test_regression_targets_give_r2_curve() -> None:
    rng = np.random.default_rng(3)
    t = rng.normal(size=200)
    states = rng.normal(size=(3, 200, 6))
    states[1, :, 2] = t + 0.1 * rng.normal(size=200)
    sweep = layer_sweep(states, y=t, n_bootstrap=50)
    assert sweep.metric == "r2"
    assert sweep.best_layer == 1
    assert sweep.scores[1] > 0.9 > max(sweep.scores[0], sweep.scores[2])


def test_figure_frame_and_dict() -> None:
    states, y, keys = one_layer_states(n=120, n_layers=3, carrier=1)
    sweep = layer_sweep(states, y=y, keys=keys, cv=3, n_bootstrap=50)
    fig = sweep.figure()
    by_name = {trace.name: trace for trace in fig.data}
    assert {
        "accuracy",
        "accuracy CI",
        "baseline",
        "control",
        "selectivity",
        "selectivity CI",
    } <= set(by_name)
    assert list(by_name["accuracy"].x) == [0, 1, 2]
    assert list(by_name["accuracy"].y) == pytest.approx(sweep.scores)
    assert list(by_name["selectivity"].y) == pytest.approx(sweep.selectivities)
    band = by_name["accuracy CI"]
    assert len(band.x) == 6 and band.fill == "toself"
    assert list(band.y[:3]) == pytest.approx([c[1] for c in sweep.cis])
    frame = sweep.to_frame()
    assert list(frame["layer"]) == [0, 1, 2]
    assert {"accuracy", "ci_low", "ci_high", "baseline", "control_accuracy", "selectivity"} <= set(
        frame.columns
    )
    d = sweep.to_dict()
    assert d["best_layer"] == 1 and len(d["layers"]) == 3
    import json

    json.dumps(d)


def test_sweep_over_a_tiny_model(tiny_emb) -> None:  # type: ignore[no-untyped-def]
    emb = tiny_emb  # 2 layers, shared with the other test packages
    rng = np.random.default_rng(0)
    words = ["apple", "zebra", "kiwi", "mango", "quartz", "yak"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 9)))) for _ in range(90)]
    y = np.array(["short" if len(t) < 25 else "long" for t in texts])
    sweep = layer_sweep(emb, texts, y, keys=texts, cv=3, n_bootstrap=50)
    assert sweep.layers == (0, 1, 2)
    assert sweep.n_samples == 90
    assert all(0.0 <= s <= 1.0 for s in sweep.scores)
    # one forward pass per batch gives exactly what embed_layers gives
    states = emb.embed_layers(texts)
    again = layer_sweep(states, y=y, keys=texts, cv=3, n_bootstrap=50)
    assert again.scores == pytest.approx(sweep.scores)
    some = layer_sweep(emb, texts, y, layers=[0, -1], cv=3, n_bootstrap=0)
    assert some.layers == (0, 2)


def test_bad_input() -> None:
    states, y, _ = one_layer_states(n=60, n_layers=2, carrier=1)
    with pytest.raises(ValueError, match="3-D"):
        layer_sweep(states[0], y=y)
    with pytest.raises(ValueError, match="y is required"):
        layer_sweep(states)
    with pytest.raises(TypeError, match="y="):
        layer_sweep(states, list(y), y)  # texts make no sense with states
    with pytest.raises(ValueError, match="different lengths"):
        layer_sweep(states, y=y[:-1])
    bad = states.copy()
    bad[1, 4, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values in layer\(s\) \[1\]"):
        layer_sweep(bad, y=y)
    with pytest.raises(ValueError, match="out of range"):
        layer_sweep(states, y=y, layers=[2])
    with pytest.raises(ValueError, match="layers is empty"):
        layer_sweep(states, y=y, layers=[])
    with pytest.raises(TypeError, match="y="):
        layer_sweep(states, y)  # labels passed where texts go
    with pytest.raises(TypeError, match="embed_layers"):
        layer_sweep(object(), ["a"], ["b"])


def test_embedder_input_is_checked_before_embedding(tiny_emb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="y is required"):
        layer_sweep(tiny_emb, ["a", "b"])
    with pytest.raises(ValueError, match="2 texts, 3 labels"):
        layer_sweep(tiny_emb, ["a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="pass the texts"):
        layer_sweep(tiny_emb, y=["x"])
    with pytest.raises(TypeError, match="single str"):
        layer_sweep(tiny_emb, "a b", ["x"])
    with pytest.raises(ValueError, match="out of range"):
        layer_sweep(tiny_emb, ["a", "b"], ["x", "y"], layers=[7])
    with pytest.raises(TypeError, match="numeric"):
        layer_sweep(np.array([[["a"]]]), y=["x"])
