"""Iterative correction with sequence beam search: re-embed, compare, rewrite, keep the best.

vec2text's loop (Morris et al., 2023): start from the hypothesis model's text, and at each step
let a corrector propose rewrites of every text in the beam given the target vector ``e``, the
text's own vector ``ê`` and the text; embed each new candidate through the
:class:`~embedlens.embedders.Embedder` (any black box will do: only its outputs are used) and keep
the ``beam_width`` candidates closest to ``e`` by cosine. :func:`run_correction` runs it for many
examples at once:

- **batched across examples**: the (example, beam text) pairs of all unfinished examples are
  corrected ``batch_size`` at a time, whatever example they belong to;
- **memory**: each example keeps only its ``beam_width`` best texts and their vectors; the up to
  ``beam_width ** 2`` candidates of a step exist only for the batch that produced them and are
  folded into the beam right away (plus a set of the texts already seen, so none is embedded
  twice);
- **elitist**: the beam of the previous step competes with the new candidates, so the best cosine
  never falls; an example stops as soon as a step does not raise it by more than ``tol``
  (nothing new would be proposed from the same beam: correction is deterministic);
- **cost**: every embedded text is one query; the hypothesis costs one, each new distinct
  candidate one more. :class:`CorrectionHistory` keeps the count per example and step.
- **empty texts** are never sent to the embedder (embedding APIs reject them, and they carry
  nothing): an empty proposal is dropped, an empty hypothesis starts from a zero vector (cosine
  0, no query), as :meth:`inversion.corrector.Corrector.fit` treats it in training.

Examples
--------
>>> inv.invert(X, steps=20, beam_width=4)  # doctest: +SKIP
>>> inv.last_history_.example(0)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from embedlens._utils import check_matrix, check_texts, progress_bar

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = ["CorrectionHistory", "Proposer", "check_correction_args", "run_correction"]

DEFAULT_TOL = 1e-4


@runtime_checkable
class Proposer(Protocol):
    """What the loop needs of a corrector (:class:`~inversion.corrector.Corrector` is one).

    ``propose(X, texts, H, num_candidates=k)`` returns, for each row, ``k`` rewrites of
    ``texts[i]`` aimed at the target ``X[i]`` (``H[i]`` is the embedding of ``texts[i]``);
    ``check_compatible(inverter)`` raises when the corrector was not trained for that inverter.
    """

    def propose(
        self,
        X: np.ndarray,
        texts: Sequence[str],
        H: np.ndarray,
        *,
        num_candidates: int = 1,
        max_length: int | None = None,
        batch_size: int = 32,
    ) -> list[list[str]]: ...

    def check_compatible(self, inverter: Any) -> None: ...


def check_correction_args(steps: Any, beam_width: Any) -> None:
    """Raise ``ValueError`` unless ``steps >= 0`` and ``beam_width >= 1`` are integers."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(
            f"steps must be an integer >= 0 (0: the hypothesis model alone), got {steps!r}"
        )
    if (
        not isinstance(beam_width, (int, np.integer))
        or isinstance(beam_width, bool)
        or beam_width < 1
    ):
        raise ValueError(
            f"beam_width must be an integer >= 1 (1: greedy correction), got {beam_width!r}"
        )


@dataclass(frozen=True)
class CorrectionHistory:
    """What each correction step did, per example.

    Attributes
    ----------
    texts
        ``texts[t][i]``: the best text of example ``i`` after step ``t`` (``t=0``: the
        hypothesis model's text). An example that stopped keeps its last text.
    cosine
        ``(steps + 1, n)``: the cosine of that text's embedding to the target.
    queries
        ``(steps + 1, n)``: embedder queries spent on example ``i`` up to step ``t``.
    stopped
        ``(n,)``: the last step that ran for each example (``steps`` if it never stopped
        early).
    beam_width
        Texts kept per example between steps.
    """

    texts: list[list[str]]
    cosine: np.ndarray
    queries: np.ndarray
    stopped: np.ndarray
    beam_width: int

    @property
    def steps(self) -> int:
        """Correction steps asked for."""
        return len(self.texts) - 1

    @property
    def final_texts(self) -> list[str]:
        return list(self.texts[-1])

    def example(self, i: int) -> list[dict[str, Any]]:
        """Example ``i`` step by step: ``{"step", "text", "cosine", "queries"}`` per step run."""
        n = self.cosine.shape[1]
        if not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"example {i!r} out of range: the history has {n} examples")
        last = int(self.stopped[i])
        return [
            {
                "step": t,
                "text": self.texts[t][i],
                "cosine": float(self.cosine[t, i]),
                "queries": int(self.queries[t, i]),
            }
            for t in range(last + 1)
        ]

    def figure(self) -> go.Figure:
        """Cosine to the target per step: one faint line per example, the mean in bold."""
        import plotly.graph_objects as go

        steps = list(range(self.steps + 1))
        fig = go.Figure()
        for i in range(self.cosine.shape[1]):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=self.cosine[:, i].tolist(),
                    mode="lines",
                    line={"width": 1},
                    opacity=0.35,
                    name=f"example {i}",
                    hovertext=[self.texts[t][i] for t in steps],
                    showlegend=False,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=self.cosine.mean(axis=1).tolist(),
                mode="lines+markers",
                line={"width": 3},
                name="mean",
            )
        )
        fig.update_layout(
            title=f"Correction with sequence beam width {self.beam_width}",
            xaxis_title="correction step",
            yaxis_title="cosine to the target",
        )
        return fig


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def _embed(embedder: Embedder, texts: list[str], dim: int) -> np.ndarray:
    vectors = np.asarray(embedder.embed(texts, progress=False), dtype=np.float32)
    if vectors.shape != (len(texts), dim):
        raise ValueError(
            f"the embedder {embedder.name!r} returned shape {vectors.shape} for {len(texts)} "
            f"texts, expected ({len(texts)}, {dim}): correction needs the embedder the "
            "inverter was trained for"
        )
    return check_matrix(vectors, what=f"embeddings from {embedder.name!r}")


def run_correction(
    embedder: Embedder,
    corrector: Proposer,
    X: Any,
    hypotheses: Sequence[str],
    *,
    steps: int,
    beam_width: int = 1,
    batch_size: int = 32,
    max_length: int | None = None,
    tol: float = DEFAULT_TOL,
    progress: bool | None = None,
) -> CorrectionHistory:
    """Refine ``hypotheses`` of the targets ``X`` for up to ``steps`` correction steps.

    Parameters
    ----------
    embedder
        Re-embeds every candidate (one query per text).
    corrector
        Proposes rewrites (a :class:`Proposer`).
    X
        Target embeddings ``(n, dim)``.
    hypotheses
        The starting texts, one per row (the hypothesis model's).
    steps, beam_width
        Correction steps and texts kept per example.
    batch_size
        (example, beam text) pairs corrected at once.
    max_length
        Most tokens per proposed text (``None``: the corrector's own limit).
    tol
        An example stops when a step raises its best cosine by no more than this.
    progress
        Progress bar over steps.

    Returns
    -------
    CorrectionHistory
        ``texts[-1]`` are the corrected texts.
    """
    check_correction_args(steps, beam_width)
    texts0 = check_texts(hypotheses, what="hypotheses")
    target = check_matrix(X, what="X")
    n, dim = target.shape
    if len(texts0) != n:
        raise ValueError(f"need one hypothesis per target vector: {len(texts0)} texts, X {X.shape}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    goal = _unit(target)
    filled = [i for i, t in enumerate(texts0) if t.strip()]
    vec0 = np.zeros((n, dim), dtype=np.float32)  # an empty text: no query, a zero vector
    if filled:
        vec0[filled] = _embed(embedder, [texts0[i] for i in filled], dim)
    cos0 = np.einsum("ij,ij->i", _unit(vec0), goal)
    # beams[i]: (cosine, text, vector) of the kept texts, best first
    beams: list[list[tuple[float, str, np.ndarray]]] = [
        [(float(cos0[i]), texts0[i], vec0[i])] for i in range(n)
    ]
    seen: list[set[str]] = [{t} for t in texts0]
    queries = np.array([1 if t.strip() else 0 for t in texts0], dtype=np.int64)
    done = cos0 >= 1.0 - 1e-6
    stopped = np.zeros(n, dtype=np.int64)
    hist_texts = [list(texts0)]
    hist_cos = [cos0.astype(np.float64)]
    hist_q = [queries.copy()]
    for step in progress_bar(range(1, steps + 1), progress=progress, total=steps, desc="correct"):
        active = np.flatnonzero(~done)
        if active.size:
            before = np.array([beams[i][0][0] for i in active])
            pools = {int(i): list(beams[i]) for i in active}
            rows = [(int(i), j) for i in active for j in range(len(beams[i]))]
            for s in range(0, len(rows), batch_size):
                chunk = rows[s : s + batch_size]
                proposals = corrector.propose(
                    target[[i for i, _ in chunk]],
                    [beams[i][j][1] for i, j in chunk],
                    np.stack([beams[i][j][2] for i, j in chunk]),
                    num_candidates=beam_width,
                    max_length=max_length,
                    batch_size=batch_size,
                )
                if len(proposals) != len(chunk):
                    raise ValueError(
                        f"the corrector returned {len(proposals)} proposal lists for "
                        f"{len(chunk)} texts: expected one list per text"
                    )
                new: list[tuple[int, str]] = []
                for (i, _), options in zip(chunk, proposals, strict=True):
                    for text in options:
                        if text.strip() and text not in seen[i]:
                            seen[i].add(text)
                            new.append((i, text))
                if not new:
                    continue
                vectors = _embed(embedder, [t for _, t in new], dim)
                cosines = np.einsum("ij,ij->i", _unit(vectors), goal[[i for i, _ in new]])
                for (i, text), vec, c in zip(new, vectors, cosines, strict=True):
                    queries[i] += 1
                    pools[i].append((float(c), text, vec))
                for i in {i for i, _ in new}:  # fold in now: at most beam_width kept per example
                    pools[i] = sorted(pools[i], key=lambda item: -item[0])[:beam_width]
            for k, row in enumerate(active.tolist()):
                beams[row] = pools[row]
                if beams[row][0][0] <= before[k] + tol or beams[row][0][0] >= 1.0 - 1e-6:
                    done[row] = True
            stopped[active] = step
        hist_texts.append([b[0][1] for b in beams])
        hist_cos.append(np.array([b[0][0] for b in beams], dtype=np.float64))
        hist_q.append(queries.copy())
    logger.info(
        "correction: %d steps, beam %d, mean cosine %.4f -> %.4f, %.1f queries per text",
        steps,
        beam_width,
        float(hist_cos[0].mean()),
        float(hist_cos[-1].mean()),
        float(queries.mean()),
    )
    return CorrectionHistory(
        texts=hist_texts,
        cosine=np.stack(hist_cos),
        queries=np.stack(hist_q),
        stopped=stopped,
        beam_width=int(beam_width),
    )
