"""interpret.explain: every kind of bad input gets a clear error naming the fix."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from interpret.explain import Explainer, ExplainerLabeler, Task  # noqa: E402
from tiny_models import tiny_causal_lm, tiny_embedder  # noqa: E402

TEXTS = ["the cat sat", "a dog ran"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def emb():
    return tiny_embedder(dim=32)


@pytest.fixture(scope="module")
def fitted(emb):
    torch.set_num_threads(1)
    ex = Explainer(embedder=emb, decoder=tiny_causal_lm(), prefix_tokens=2, max_length=8)
    return ex.fit(TEXTS, steps=1, batch_size=2, progress=False)


def test_wrong_dimension(fitted):
    with pytest.raises(ValueError, match=r"expects 32-dim embeddings .* got 16"):
        fitted.explain(np.zeros((2, 16), dtype=np.float32))
    with pytest.raises(ValueError, match="expects 32-dim"):
        fitted.explain_midpoint(np.zeros(16), np.zeros(16))
    with pytest.raises(ValueError, match="NaN or inf"):
        fitted.explain(np.full((1, 32), np.nan, dtype=np.float32))


def test_unknown_task_lists_the_valid_ones(fitted, emb):
    X = emb.embed(TEXTS)
    with pytest.raises(ValueError, match=r"unknown task 'summary'.*'reconstruct', 'topic'"):
        fitted.explain(X, task="summary")
    with pytest.raises(ValueError, match=r"unknown task 'summary': valid tasks are"):
        Explainer(tasks=("topic", "summary")).fit(TEXTS, steps=1)
    with pytest.raises(ValueError, match="given twice"):
        Explainer(tasks=("topic", "topic")).fit(TEXTS, steps=1)
    with pytest.raises(ValueError, match="unknown task"):
        fitted.evaluate(TEXTS, task="summary")


def test_zero_norm_and_malformed_directions(fitted, emb):
    X = emb.embed(TEXTS)
    with pytest.raises(ValueError, match="zero norm"):
        fitted.explain_direction(np.zeros(32), X)
    with pytest.raises(ValueError, match=r"shape \(16,\), expected \(32,\)"):
        fitted.explain_direction(np.ones(16), X)
    with pytest.raises(TypeError, match=r"probes\.ConceptDirection"):
        fitted.explain_direction(object(), X)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        fitted.explain_direction(np.ones(32), X, alpha=0.0)

    class MultiClass:
        coef_ = np.ones((3, 32))

    with pytest.raises(ValueError, match="pick one row"):
        fitted.explain_direction(MultiClass(), X)


def test_not_fitted(emb):
    ex = Explainer(embedder=emb, decoder=tiny_causal_lm())
    X = emb.embed(TEXTS)
    for call in (
        lambda: ex.explain(X),
        lambda: ex.explain_centroid(X, [0, 1]),
        lambda: ex.explain_midpoint(X[0], X[1]),
        lambda: ex.interpolate(X[0], X[1]),
        lambda: ex.explain_direction(np.ones(32), X),
        lambda: ex.evaluate(TEXTS),
        lambda: ex.save_pretrained("/tmp/never-written"),
    ):
        with pytest.raises(RuntimeError, match="not fitted: call fit"):
            call()


def test_other_bad_arguments(fitted, emb):
    X = emb.embed(TEXTS)
    with pytest.raises(ValueError, match="corpus is empty"):
        Explainer(embedder=emb).fit([], steps=1)
    with pytest.raises(TypeError, match="list of strings"):
        Explainer(embedder=emb).fit("just one text", steps=1)
    with pytest.raises(ValueError, match="unknown finetune mode"):
        Explainer(embedder=emb, finetune="full").fit(TEXTS, steps=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one label per vector"):
        fitted.explain_centroid(X, [0])
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        fitted.interpolate(X[0], X[1], n=1)
    with pytest.raises(ValueError, match="single vectors"):
        fitted.explain_midpoint(X, X[0])
    with pytest.raises(ValueError, match="unknown baselines"):
        fitted.evaluate(TEXTS, baselines=("oracle",))
    with pytest.raises(ValueError, match="max_new_tokens must be a positive integer"):
        fitted.explain(X, max_new_tokens=0)
    with pytest.raises(ValueError, match="prompt must be a non-empty string"):
        fitted.explain(X, prompt="  ")
    with pytest.raises(ValueError, match="needs at least one non-empty prompt"):
        Task("mine", ())
    with pytest.raises(ValueError, match="source must be 'text'"):
        Task("mine", ("Why?",), source="oracle")  # type: ignore[arg-type]


def test_loaded_explainer_needs_a_corpus_for_corpus_baselines(fitted, emb, tmp_path):
    loaded = Explainer.from_pretrained(fitted.save_pretrained(tmp_path / "ex"), embedder=emb)
    with pytest.raises(ValueError, match="need a reference corpus: pass corpus="):
        loaded.evaluate(TEXTS)
    res = loaded.evaluate(TEXTS, baselines=("untrained",), max_new_tokens=2)
    assert set(res.baselines) == {"untrained"}


def test_labeler_with_no_clusters_and_encoder_decoder_refused(fitted, emb):
    from interpret.maps import ClusterContext
    from tiny_models import tiny_seq2seq

    assert ExplainerLabeler(fitted)(ClusterContext([], [], None, np.zeros((0, 32)))) == []
    with pytest.raises(ValueError, match="causal"):
        Explainer(embedder=emb, decoder=tiny_seq2seq()).fit(TEXTS, steps=1)


def test_explain_modules_keep_the_arrows_and_import_light():
    import ast
    import pathlib
    import subprocess
    import sys

    import interpret

    root = pathlib.Path(interpret.__file__).parent
    paths = sorted((root / "explain").glob("*.py"))
    assert len(paths) >= 5
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert name.split(".")[0] not in ("inversion", "probes"), (path.name, name)
                assert not name.startswith(("embedlens.audit", "embedlens.cli")), name
    code = "import sys, interpret.explain; print([m for m in ('torch', 'transformers', 'plotly') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_nearest_baseline_needs_other_texts(fitted):
    with pytest.raises(ValueError, match="nothing but a held-out text itself"):
        fitted.evaluate(TEXTS[:1], corpus=[TEXTS[0], TEXTS[0]], baselines=("nearest",))
