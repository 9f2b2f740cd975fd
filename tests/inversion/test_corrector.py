"""inversion.correction: the sequence beam search, checked with a scripted corrector stand-in.

The embedder is a black-box FunctionEmbedder over a table of vectors, so every cosine is known;
the stand-in proposes rewrites from a table, so the beam, the early stop and the query count
can be worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from embedlens.embedders import FunctionEmbedder
from inversion.correction import CorrectionHistory, check_correction_args, run_correction


def _vec(cos: float, side: float = 1.0) -> list[float]:
    """A unit vector at cosine ``cos`` to (1, 0, 0), tilted toward +y or -y."""
    return [cos, side * float(np.sqrt(1 - cos**2)), 0.0]


# example 0 targets (1, 0, 0); example 1 targets (0, 0, 1)
TABLE = {
    "h0": _vec(0.5),
    "a": _vec(0.7),
    "b": _vec(0.6, -1),
    "c": _vec(0.9),
    "d": _vec(0.95, -1),
    "x0": [0.0, 0.6, 0.8],
    "x1": [0.0, 0.95, np.sqrt(1 - 0.95**2)],
}
PROPOSALS = {
    "h0": ["a", "b"],
    "a": ["c", "h0"],
    "b": ["c", "d"],
    "c": ["a", "c"],
    "d": ["d", "c"],
    "x0": ["x1", "x0"],
    "": ["a", ""],
}
TARGETS = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)


class Recorder:
    """A black-box embedder that counts every text it is asked to embed."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        return np.array([TABLE[t] for t in texts], dtype=np.float32)


class ScriptedCorrector:
    """Proposes the first ``num_candidates`` rewrites of the table; records what it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def propose(self, X, texts, H, *, num_candidates=1, max_length=None, batch_size=32):
        assert len(X) == len(texts) == len(H) <= batch_size
        for text, h in zip(texts, H, strict=True):  # ê is the embedding of the text itself
            expected = TABLE[text] if text else [0.0, 0.0, 0.0]  # an empty text: zero vector
            np.testing.assert_allclose(h, np.asarray(expected, dtype=np.float32), atol=1e-6)
        self.batches.append(list(texts))
        return [PROPOSALS[t][:num_candidates] for t in texts]

    def check_compatible(self, inverter) -> None:
        return None


@pytest.fixture
def embedder():
    rec = Recorder()
    return FunctionEmbedder(rec, name="table", dim=3), rec


def test_beam_keeps_the_best_by_cosine_dedupes_and_stops_early(embedder):
    emb, rec = embedder
    corr = ScriptedCorrector()
    hist = run_correction(emb, corr, TARGETS, ["h0", "x0"], steps=10, beam_width=2, batch_size=2)
    assert isinstance(hist, CorrectionHistory) and hist.steps == 10
    # example 0: h0 (.5) -> {a .7, b .6} -> {d .95, c .9} (c proposed twice, embedded once)
    #            -> nothing new: stops at step 3
    assert [row["text"] for row in hist.example(0)] == ["h0", "a", "d", "d"]
    np.testing.assert_allclose(hist.cosine[:4, 0], [0.5, 0.7, 0.95, 0.95], atol=1e-6)
    assert hist.stopped[0] == 3
    # example 1: x1 (cos .31) is worse than x0 (.8): the beam keeps x0 and stops at step 1
    assert [row["text"] for row in hist.example(1)] == ["x0", "x0"]
    assert hist.stopped[1] == 1
    assert hist.final_texts == ["d", "x0"]
    assert hist.texts[-1] == ["d", "x0"] and np.all(hist.cosine[-1] == hist.cosine[3])
    # queries: every distinct text embedded once, and exactly what the embedder saw
    assert hist.queries[-1].tolist() == [5, 2]  # h0 a b c d / x0 x1
    assert hist.queries[:, 0].tolist() == [1, 3, 5] + [5] * 8
    assert sorted(rec.calls) == sorted(["h0", "x0", "a", "b", "c", "d", "x1"])
    assert int(hist.queries[-1].sum()) == len(rec.calls)
    # cosine never falls; batches mix examples (step 1: h0 and x0 in one call)
    assert np.all(np.diff(hist.cosine, axis=0) >= 0)
    assert corr.batches[0] == ["h0", "x0"]
    # stopped examples are not corrected again: step 3 corrects only example 0's beam
    assert all("x0" not in b for b in corr.batches[1:])
    assert sum(len(b) for b in corr.batches) == 2 + 2 + 2  # steps 1, 2, 3


def test_greedy_beam_of_one(embedder):
    emb, rec = embedder
    hist = run_correction(emb, ScriptedCorrector(), TARGETS[:1], ["h0"], steps=5, beam_width=1)
    # h0 -> a -> c -> (a, seen) stop
    assert [r["text"] for r in hist.example(0)] == ["h0", "a", "c", "c"]
    assert hist.queries[-1].tolist() == [3] and rec.calls == ["h0", "a", "c"]


def test_history_figure_and_example_bounds(embedder):
    emb, _ = embedder
    hist = run_correction(emb, ScriptedCorrector(), TARGETS, ["h0", "x0"], steps=3, beam_width=2)
    fig = hist.figure()
    mean = fig.data[-1]
    assert mean.name == "mean" and list(mean.x) == [0, 1, 2, 3]
    np.testing.assert_allclose(mean.y, hist.cosine.mean(axis=1))
    assert list(fig.data[0].hovertext) == [hist.texts[t][0] for t in range(4)]
    with pytest.raises(IndexError, match="2 examples"):
        hist.example(5)


@pytest.mark.parametrize(
    ("steps", "beam", "match"),
    [(-1, 1, "steps must be an integer >= 0"), (2, 0, "beam_width must be"), (1.5, 1, "steps")],
)
def test_bad_steps_and_beam_width_raise(steps, beam, match, embedder):
    with pytest.raises(ValueError, match=match):
        check_correction_args(steps, beam)
    with pytest.raises(ValueError, match=match):
        run_correction(
            embedder[0], ScriptedCorrector(), TARGETS, ["h0", "x0"], steps=steps, beam_width=beam
        )


def test_mismatched_hypotheses_and_bad_proposer_raise(embedder):
    emb, _ = embedder
    with pytest.raises(ValueError, match="one hypothesis per target"):
        run_correction(emb, ScriptedCorrector(), TARGETS, ["h0"], steps=1)

    class Short(ScriptedCorrector):
        def propose(self, X, texts, H, **kw):
            return []

    with pytest.raises(ValueError, match="one list per text"):
        run_correction(emb, Short(), TARGETS, ["h0", "x0"], steps=1)


def test_empty_texts_are_never_sent_to_the_embedder(embedder):
    emb, rec = embedder  # the table has no "": embedding it would raise KeyError
    hist = run_correction(emb, ScriptedCorrector(), TARGETS[:1], [""], steps=5, beam_width=2)
    # "" (cos 0, no query) -> {a, ""} -> {c .9, a .7} (h0 embedded too) -> nothing new: stop
    assert [r["text"] for r in hist.example(0)] == ["", "a", "c", "c"]
    assert hist.cosine[0, 0] == 0.0 and hist.queries[:4, 0].tolist() == [0, 1, 3, 3]
    assert sorted(rec.calls) == ["a", "c", "h0"]
