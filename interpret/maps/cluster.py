"""Clusters on a map and their names: k-means or HDBSCAN, and a pluggable labeler.

A labeler is any callable that takes a :class:`ClusterContext` (member indices and texts,
centroids in the original space) and returns one name per cluster. The default,
:class:`KeywordLabeler`, names a cluster by its class-based TF-IDF keywords. A decoder of
centroids (an inverter, an explainer) plugs in the same way without this module knowing it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

logger = logging.getLogger(__name__)

ClusterMethod = Literal["hdbscan", "kmeans"]
NOISE = -1


@dataclass(frozen=True)
class ClusterContext:
    """What a labeler sees: one entry per cluster to name (noise excluded).

    Attributes
    ----------
    cluster_ids : list of int
        The clusters to name, in order.
    members : list of numpy.ndarray
        Indices (rows of the map) of each cluster's points.
    texts : list of str or None
        All texts of the map (index them with ``members``), or None without texts.
    centroids : numpy.ndarray
        ``(n_clusters, dim)``: mean of the members' vectors in the original space (unit
        vectors first when the map's metric is cosine), ready for a decoder of embeddings.
    """

    cluster_ids: list[int]
    members: list[np.ndarray]
    texts: list[str] | None
    centroids: np.ndarray

    def member_texts(self, j: int, limit: int | None = None) -> list[str]:
        """Texts of the ``j``-th cluster (at most ``limit``, evenly spaced)."""
        if self.texts is None:
            return []
        idx = self.members[j]
        if limit is not None and idx.size > limit:
            idx = idx[np.linspace(0, idx.size - 1, limit).astype(np.int64)]
        return [self.texts[i] for i in idx.tolist()]


@runtime_checkable
class ClusterLabeler(Protocol):
    """Names clusters: ``labeler(context) -> one name per cluster in context.cluster_ids``."""

    def __call__(self, context: ClusterContext) -> Sequence[str]: ...


#: what never names a cluster: e-mail addresses, URLs and domain names (``mail.example.com``)
_NOT_WORDS = re.compile(
    r"\S+@\S+|\b(?:https?|ftp)://\S+|\bwww\.\S+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b",
    re.IGNORECASE,
)
#: words: two or more letters, so numbers (dates, phone numbers, ids) and tokens with digits
#: ("apt5", "1987") never count
WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"


def strip_non_words(text: str) -> str:
    """``text`` without e-mail addresses, URLs and domain names (see :data:`WORD_PATTERN`).

    Examples
    --------
    >>> strip_non_words("write to ann@mail.com or see www.x.org/help and example.com")
    'write to  or see  and '
    """
    return _NOT_WORDS.sub("", text)


@dataclass
class KeywordLabeler:
    """Names each cluster by its top class-based TF-IDF keywords.

    All member texts of a cluster count as one document: a term scores ``tf * idf`` with
    ``tf`` its share of the cluster's words and ``idf = log(1 + A / f)``, where ``f`` is the
    term's count over all clusters and ``A`` the mean number of words per cluster. Words
    frequent in one cluster and rare elsewhere win. A word must appear in at least
    ``min_df`` of the cluster's texts (one record's name or street never names a cluster;
    a cluster where no word does is named by its words without that floor); equal scores go to
    the word used more often in the cluster, then alphabetically. E-mail
    addresses, URLs, domain names, numbers and tokens with digits are never words, so "com"
    from e-mail addresses or "1987" from dates cannot name a cluster.

    Parameters
    ----------
    n_words : int
        Keywords per name.
    stop_words : "english" or list of str or None
        Words never used (scikit-learn's English list by default).
    ngram_range : tuple of int
        Word n-grams counted.
    min_df : int or float
        Smallest number of a cluster's texts a keyword appears in (at most the cluster's
        size); a float is a fraction of the cluster's texts (rounded up).
    max_texts : int
        At most this many texts per cluster are read (evenly spaced), which bounds the time
        on large maps.

    Examples
    --------
    >>> import numpy as np
    >>> ctx = ClusterContext([0, 1], [np.array([0, 1]), np.array([2, 3])],
    ...                      ["cats purr", "cats nap", "stocks fall", "stocks rise"],
    ...                      np.zeros((2, 4)))
    >>> KeywordLabeler(n_words=1)(ctx)
    ['cats', 'stocks']
    """

    n_words: int = 3
    stop_words: Any = "english"
    ngram_range: tuple[int, int] = (1, 1)
    min_df: float = 2
    max_texts: int = 5_000
    keywords_: dict[int, list[str]] = field(default_factory=dict, init=False, repr=False)

    def __call__(self, context: ClusterContext) -> list[str]:
        fallback = [f"cluster {c}" for c in context.cluster_ids]
        if context.texts is None or not context.cluster_ids:
            return fallback
        if isinstance(self.min_df, bool) or not (
            (isinstance(self.min_df, int) and self.min_df >= 1)
            or (isinstance(self.min_df, float) and 0.0 < self.min_df <= 1.0)
        ):
            raise ValueError(
                f"min_df must be an int >= 1 (texts) or a float in (0, 1] (a fraction of a "
                f"cluster's texts), got {self.min_df!r}"
            )
        from scipy.sparse import csr_matrix
        from sklearn.feature_extraction.text import CountVectorizer

        docs: list[str] = []
        owner: list[int] = []
        for j in range(len(context.cluster_ids)):
            texts = context.member_texts(j, self.max_texts)
            docs += [strip_non_words(t) for t in texts]
            owner += [j] * len(texts)
        vectorizer = CountVectorizer(
            stop_words=self.stop_words, ngram_range=self.ngram_range, token_pattern=WORD_PATTERN
        )
        try:
            counts_by_doc = vectorizer.fit_transform(docs)
        except ValueError:  # nothing but stop words, numbers and punctuation
            return fallback
        k = len(context.cluster_ids)
        onehot = csr_matrix(
            (np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(k, len(owner))
        )
        counts = np.asarray((onehot @ counts_by_doc).todense(), dtype=np.float64)
        df = np.asarray((onehot @ (counts_by_doc > 0).astype(np.float64)).todense())
        sizes = np.bincount(np.asarray(owner), minlength=k).astype(np.float64)
        need = (
            np.full(k, float(self.min_df))
            if isinstance(self.min_df, int)
            else np.ceil(self.min_df * sizes)
        )
        need = np.clip(need, 1.0, np.maximum(sizes, 1.0))
        words_per_cluster = counts.sum(axis=1, keepdims=True)
        tf = counts / np.maximum(words_per_cluster, 1.0)
        idf = np.log1p(words_per_cluster.mean() / np.maximum(counts.sum(axis=0), 1.0))
        scores = np.where(df >= need[:, None], tf * idf, 0.0)
        bare = ~(scores > 0).any(axis=1)  # no word used often enough: drop the floor there
        scores[bare] = (tf * idf)[bare]
        vocab = vectorizer.get_feature_names_out()
        names = []
        self.keywords_ = {}
        for j, cid in enumerate(context.cluster_ids):
            # best score first; equal scores: the word used more often here, then A-Z
            order = np.lexsort((vocab, -counts[j], -np.round(scores[j], 12)))
            top = [t for t in order[: self.n_words] if scores[j, t] > 0]
            words = [str(vocab[t]) for t in top]
            self.keywords_[cid] = words
            names.append(", ".join(words) if words else fallback[j])
        return names


@dataclass(frozen=True)
class Clustering:
    """Clusters of a map: one id per point (``-1`` is HDBSCAN's noise) and their names.

    Attributes
    ----------
    labels : numpy.ndarray
        Cluster id of each point.
    names : dict of int to str
        The labeler's name of each cluster (noise excluded).
    centres : dict of int to numpy.ndarray
        Where each name is drawn: the median of the members' map coordinates.
    sizes : dict of int to int
        Points per cluster (noise included).
    method, space : str
        How the clusters were found, and on which coordinates ("layout" or "original").
    """

    labels: np.ndarray
    names: dict[int, str]
    centres: dict[int, np.ndarray]
    sizes: dict[int, int]
    method: str
    space: str

    def summary(self) -> Any:
        """A pandas DataFrame with one row per cluster: id, size, name (largest first)."""
        import pandas as pd

        rows = [
            {"cluster": c, "size": self.sizes[c], "name": self.names.get(c, "noise")}
            for c in self.sizes
        ]
        return pd.DataFrame(rows).sort_values("size", ascending=False, ignore_index=True)

    def display_names(self) -> dict[int, str]:
        """Legend names: ``"3: cats, purr"``, and ``"noise"`` for ``-1``."""
        out = {c: f"{c}: {name}" for c, name in self.names.items()}
        if NOISE in self.sizes:
            out[NOISE] = "noise"
        return out


def find_clusters(
    points: np.ndarray,
    method: str,
    *,
    n_clusters: int,
    min_cluster_size: int | None,
    random_state: int | None,
    params: Mapping[str, Any],
) -> np.ndarray:
    """Cluster ids of ``points`` with scikit-learn's KMeans or HDBSCAN."""
    n = points.shape[0]
    if method == "kmeans":
        from sklearn.cluster import KMeans

        if (
            isinstance(n_clusters, bool)
            or not isinstance(n_clusters, (int, np.integer))
            or not 1 <= n_clusters <= n
        ):
            raise ValueError(
                f"n_clusters must be an integer between 1 and the number of points ({n}), "
                f"got {n_clusters!r}"
            )
        model = KMeans(
            n_clusters=int(n_clusters), random_state=random_state, n_init="auto", **params
        )
    elif method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        size = min_cluster_size if min_cluster_size is not None else max(5, min(500, n // 100))
        if n < 2 or size > n:
            raise ValueError(
                f"Fewer points than the method needs: hdbscan with min_cluster_size={size} "
                f"needs at least {max(size, 2)} points, got {n}: pass a smaller min_cluster_size"
            )
        options = {"copy": True, **params}  # never write into the map's coordinates
        model = HDBSCAN(min_cluster_size=int(size), **options)
    else:
        raise ValueError(
            f"unknown cluster method {method!r}: expected 'hdbscan' (finds the number of "
            "clusters, marks noise) or 'kmeans' (pass n_clusters)"
        )
    return np.asarray(model.fit_predict(points), dtype=np.int64)


def cluster_points(
    points: np.ndarray,
    *,
    layout: np.ndarray,
    vectors: np.ndarray,
    texts: list[str] | None,
    method: str,
    space: str,
    labeler: ClusterLabeler,
    n_clusters: int,
    min_cluster_size: int | None,
    random_state: int | None,
    params: Mapping[str, Any],
) -> Clustering:
    """Cluster ``points``, name the clusters with ``labeler`` and place names on ``layout``.

    ``vectors`` are the original vectors the labeler's centroids are averaged from.
    """
    ids = find_clusters(
        points,
        method,
        n_clusters=n_clusters,
        min_cluster_size=min_cluster_size,
        random_state=random_state,
        params=params,
    )
    found = sorted(int(c) for c in np.unique(ids) if c >= 0)
    members = [np.flatnonzero(ids == c) for c in found]
    centroids = np.stack([vectors[m].mean(axis=0) for m in members]) if members else vectors[:0]
    names = list(labeler(ClusterContext(found, members, texts, centroids)))
    if len(names) != len(found):
        raise ValueError(
            f"the labeler returned {len(names)} names for {len(found)} clusters: return one "
            "name per cluster, in the order of context.cluster_ids"
        )
    logger.info("%s found %d clusters (%d noise points)", method, len(found), int((ids < 0).sum()))
    return Clustering(
        labels=ids,
        names={c: str(name) for c, name in zip(found, names, strict=True)},
        centres={c: np.median(layout[m], axis=0) for c, m in zip(found, members, strict=True)},
        sizes={int(c): int(s) for c, s in zip(*np.unique(ids, return_counts=True), strict=True)},
        method=method,
        space=space,
    )
