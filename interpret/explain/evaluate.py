"""How well explanations fit the vectors they explain: ELM's semantic consistency and token F1.

Semantic consistency (Tennenholtz et al., ICLR 2024) is the cosine between the embedding of an
explanation and the vector it explains. :func:`evaluate_explanations` measures it on held-out
texts beside three baselines that need no training or that show what training added:

- ``random``: a random text of the reference corpus (what any text scores);
- ``nearest``: the corpus text whose vector is closest to the explained one (what retrieval
  from the corpus would say, without the held-out text itself);
- ``untrained``: the same LM and prompt read through a freshly initialised projector;
- ``reading``: with a reader, the reader's words themselves, before the LM says anything.

The cosine by the explained embedder flatters anything tuned against it (the reader's search,
``best_of``): pass ``judge=`` another embedder (``"mpnet"``) and the explanations and baselines
are also scored as the cosine between the judge's embeddings of each one and of the held-out
text, which neither training nor decoding ever saw.

Every answer (and each baseline's text) is also checked by words against its held-out text
(:func:`interpret.explain.inventions.check_answers`): the share that invents fiction the text
lacks ("a fictional character who...") and the share that names the text's subject (shares a
content word with it).

With a ``"reconstruct"`` task it also scores the reconstructions by unigram token F1 against the
true texts (the nearest and random corpus texts scored the same way, for scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import check_texts
from embedlens.stats import bootstrap_sums, percentile_ci
from embedlens.tokens import token_prf

if TYPE_CHECKING:
    from embedlens.cache import EmbeddingCache
    from interpret.explain.prompting import ExplainerCore

__all__ = ["BASELINES", "ExplainResult", "evaluate_explanations"]

BASELINES: tuple[str, ...] = ("random", "nearest", "untrained", "reading")


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _rowwise_cos(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.asarray((_unit(A) * _unit(B)).sum(axis=1), dtype=np.float64)


def _ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean."""
    if values.size < 2:
        v = float(values.mean()) if values.size else float("nan")
        return v, v
    sums = bootstrap_sums(np.asarray(values, dtype=np.float64)[:, None], n_boot, seed)
    return percentile_ci(sums[:, 0] / values.size, 0.95)


@dataclass(frozen=True)
class ExplainResult:
    """Semantic consistency of explanations on held-out vectors, with baselines.

    Attributes
    ----------
    task : str
        The task whose explanations were scored.
    texts : list of str
        The held-out texts whose vectors were explained.
    explanations : list of str
        The trained explainer's answers.
    consistency : numpy.ndarray
        Per text: cosine between the embedding of the explanation and the explained vector.
    baselines : dict of str to numpy.ndarray
        The same cosine for each baseline (``random``, ``nearest``, ``untrained``).
    baseline_texts : dict of str to list of str
        What each baseline said.
    reconstructions : list of str or None
        The ``"reconstruct"`` task's outputs (None without that task).
    token_f1 : dict of str to numpy.ndarray
        Per text unigram F1 against the true text: ``"reconstruct"`` and the corpus baselines.
    judge : str or None
        The judge embedder's name (None: no judge).
    judged : dict of str to numpy.ndarray
        Per text, the judge's cosine between ``"explanation"`` (or a baseline) and the text.
    invented : dict of str to numpy.ndarray
        Per text, 1.0 where ``"explanation"`` (or a baseline) holds an invention word the text
        lacks (:data:`interpret.explain.inventions.INVENTION_WORDS`), else 0.0.
    on_subject : dict of str to numpy.ndarray
        Per text, 1.0 where ``"explanation"`` (or a baseline) shares a content word with the
        text, else 0.0.
    """

    task: str
    texts: list[str]
    explanations: list[str]
    consistency: np.ndarray
    baselines: dict[str, np.ndarray]
    baseline_texts: dict[str, list[str]]
    reconstructions: list[str] | None
    token_f1: dict[str, np.ndarray]
    judge: str | None = None
    judged: dict[str, np.ndarray] = field(default_factory=dict)
    invented: dict[str, np.ndarray] = field(default_factory=dict)
    on_subject: dict[str, np.ndarray] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Means with 95 % bootstrap intervals: ``{"consistency": {...}, "token_f1": {...},
        "invention_rate": {...}, "subject_rate": {...}}`` (the rates are shares of answers)."""

        def block(values: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
            out = {}
            for name, v in values.items():
                lo, hi = _ci(v)
                out[name] = {"mean": float(v.mean()), "ci_low": lo, "ci_high": hi}
            return out

        return {
            "task": self.task,
            "n": len(self.texts),
            "consistency": block({"explanation": self.consistency, **self.baselines}),
            "token_f1": block(self.token_f1),
            "judge": self.judge,
            "judged": block(self.judged),
            "invention_rate": block(self.invented),
            "subject_rate": block(self.on_subject),
        }

    def figure(self) -> Any:
        """Bars: mean consistency of explanations and baselines (and token F1), with 95 % CIs."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        summary = self.summary()
        panels = [("consistency", "semantic consistency (cosine)")]
        if summary["token_f1"]:
            panels.append(("token_f1", "reconstruction token F1"))
        fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels])
        for col, (key, _) in enumerate(panels, start=1):
            names = list(summary[key])
            means = [summary[key][n]["mean"] for n in names]
            fig.add_trace(
                go.Bar(
                    x=names,
                    y=means,
                    name=key,
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [
                            summary[key][n]["ci_high"] - m
                            for n, m in zip(names, means, strict=True)
                        ],
                        "arrayminus": [
                            m - summary[key][n]["ci_low"] for n, m in zip(names, means, strict=True)
                        ],
                    },
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        fig.update_layout(
            title=f"Explainer, task {self.task!r}: {len(self.texts)} held-out vectors"
        )
        return fig

    def table(self) -> Any:
        """A pandas DataFrame with one row per held-out text: texts, explanations, scores."""
        import pandas as pd

        data: dict[str, Any] = {"text": self.texts, "explanation": self.explanations}
        data["consistency"] = self.consistency
        if self.judged:
            data["judged"] = self.judged["explanation"]
        for name, v in self.baselines.items():
            data[f"{name}_consistency"] = v
            data[f"{name}_text"] = self.baseline_texts[name]
            if name in self.judged:
                data[f"{name}_judged"] = self.judged[name]
        if self.reconstructions is not None:
            data["reconstruction"] = self.reconstructions
        for name, v in self.token_f1.items():
            data[f"{name}_f1"] = v
        for name in self.invented:
            prefix = "" if name == "explanation" else f"{name}_"
            data[f"{prefix}invented"] = self.invented[name].astype(bool)
            data[f"{prefix}on_subject"] = self.on_subject[name].astype(bool)
        return pd.DataFrame(data)


def evaluate_explanations(
    explainer: ExplainerCore,
    texts: Sequence[str],
    *,
    task: str | None = None,
    corpus: Sequence[str] | None = None,
    baselines: Sequence[str] = BASELINES,
    max_new_tokens: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
    judge: Any = None,
    best_of: int = 1,
    with_reading: bool = False,
    readings: Sequence[str] | None = None,
    cache: str | EmbeddingCache | None = None,
    progress: bool | None = None,
) -> ExplainResult:
    """Explain the vectors of held-out ``texts`` and score how well the explanations fit them.

    Parameters
    ----------
    explainer
        A fitted :class:`~interpret.explain.Explainer`.
    texts
        Held-out texts: their vectors are explained, and they are the references of token F1.
    task
        The task scored by consistency (``None``: the explainer's default, ``"topic"``).
    corpus
        Reference corpus of the ``random`` and ``nearest`` baselines (default: the texts the
        explainer was trained on, kept in memory after ``fit``). A held-out text found in the
        corpus is never its own nearest text.
    baselines
        Any of ``"random"``, ``"nearest"``, ``"untrained"``, ``"reading"`` (the last is
        left out for an explainer without a reader).
    max_new_tokens, batch_size
        For generation (see :meth:`~interpret.explain.Explainer.explain`).
    seed
        Picks the random texts and initialises the untrained projector.
    judge
        Another embedder (an :class:`~embedlens.embedders.Embedder` or a name, e.g.
        ``"mpnet"``) that scores everything against the held-out texts themselves.
    best_of, with_reading
        See :meth:`~interpret.explain.Explainer.explain` (the explanations only).
    readings
        The reader's words for each held-out vector, when already read (they are read once
        otherwise, and shared by the explanations and the untrained baseline).
    cache
        An embedding cache for the corpus and the explanations.

    Examples
    --------
    >>> result = ex.evaluate(held_out_texts)  # doctest: +SKIP
    >>> result.summary()["consistency"]["explanation"]["mean"]  # doctest: +SKIP
    """
    from embedlens.train import embed_texts

    explainer._check_fitted()
    refs = check_texts(texts, what="held-out texts")
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise ValueError(f"unknown baselines {unknown}: valid are {list(BASELINES)}")
    name = explainer._default_task() if task is None else task
    explainer._task(name)  # an unknown task fails before any work
    emb = explainer.embedder_
    X = embed_texts(emb, refs, cache=cache, progress=progress)
    gen: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "progress": progress,
    }
    if readings is None:
        readings = explainer.read(X)
    elif len(readings) != len(refs):
        raise ValueError(f"readings must be {len(refs)} strings, got {len(readings)}")
    explanations = explainer.explain(
        X, task=name, best_of=best_of, with_reading=with_reading, readings=readings, **gen
    )
    said: dict[str, list[str]] = {}
    needs_corpus = {"random", "nearest"} & set(baselines)
    if needs_corpus:
        pool = corpus if corpus is not None else getattr(explainer, "train_texts_", None)
        if pool is None:
            raise ValueError(
                "the random and nearest baselines need a reference corpus: pass corpus=texts "
                "(a loaded explainer does not keep its training texts), or baselines=('untrained',)"
            )
        pool_texts = check_texts(pool, what="corpus")
        C = _unit(embed_texts(emb, pool_texts, cache=cache, progress=progress))
        if "random" in baselines:
            pick = np.random.default_rng(seed).integers(0, len(pool_texts), size=len(refs))
            said["random"] = [pool_texts[i] for i in pick]
        if "nearest" in baselines:
            sims = _unit(X) @ C.T
            where: dict[str, list[int]] = {}
            for i, t in enumerate(pool_texts):
                where.setdefault(t, []).append(i)
            for row, ref in enumerate(refs):  # the held-out text is not its own neighbour
                sims[row, where.get(ref, [])] = -np.inf
            if np.isinf(sims).all(axis=1).any():
                raise ValueError(
                    "the corpus holds nothing but a held-out text itself: pass a corpus with "
                    "other texts for the nearest baseline"
                )
            said["nearest"] = [pool_texts[i] for i in np.argmax(sims, axis=1)]
    if "untrained" in baselines:
        fresh = explainer._new_projector(explainer.projector_.in_dim, seed + 1)
        chosen = explainer._task(name)
        limit = max_new_tokens or (
            explainer.max_length if chosen.source == "text" else chosen.max_answer_tokens
        )
        said["untrained"] = explainer._generate(
            X,
            chosen.prompts[0],
            max_new_tokens=limit,
            batch_size=batch_size,
            progress=progress,
            projector=fresh,
            readings=readings,
        )
    if "reading" in baselines and readings is not None:
        said["reading"] = list(readings)
    order = [b for b in BASELINES if b in said]
    everything = explanations + [t for b in order for t in said[b]]
    E = np.asarray(emb.embed(everything, batch_size=64, progress=progress), dtype=np.float64)
    n = len(refs)
    consistency = _rowwise_cos(E[:n], X)
    scores = {b: _rowwise_cos(E[n * (j + 1) : n * (j + 2)], X) for j, b in enumerate(order)}
    reconstructions = None
    f1: dict[str, np.ndarray] = {}
    if any(t.name == "reconstruct" for t in explainer.tasks_):
        reconstructions = (
            explanations
            if name == "reconstruct"
            else explainer.explain(X, task="reconstruct", readings=readings, **gen)
        )
        f1["reconstruct"] = np.array(
            [token_prf(r, h)[2] for r, h in zip(refs, reconstructions, strict=True)]
        )
        for b in ("nearest", "random"):
            if b in said:
                f1[b] = np.array([token_prf(r, h)[2] for r, h in zip(refs, said[b], strict=True)])
    judged: dict[str, np.ndarray] = {}
    judge_name = None
    if judge is not None:
        from embedlens.embedders import load_embedder

        jemb = load_embedder(judge) if isinstance(judge, str) else judge
        judge_name = str(getattr(jemb, "name", judge))
        J = np.asarray(jemb.embed(refs + everything, batch_size=64, progress=progress))
        R, rest = J[:n], J[n:]
        judged["explanation"] = _rowwise_cos(rest[:n], R)
        for j, b in enumerate(order):
            judged[b] = _rowwise_cos(rest[n * (j + 1) : n * (j + 2)], R)
    from interpret.explain.inventions import check_answers

    invented: dict[str, np.ndarray] = {}
    on_subject: dict[str, np.ndarray] = {}
    for b, answers in (("explanation", explanations), *((b, said[b]) for b in order)):
        check = check_answers(answers, refs)
        invented[b] = check.invented.astype(np.float64)
        on_subject[b] = check.on_subject.astype(np.float64)
    return ExplainResult(
        task=name,
        texts=refs,
        explanations=explanations,
        consistency=consistency,
        baselines=scores,
        baseline_texts={b: said[b] for b in order},
        reconstructions=reconstructions,
        token_f1=f1,
        judge=judge_name,
        judged=judged,
        invented=invented,
        on_subject=on_subject,
    )
