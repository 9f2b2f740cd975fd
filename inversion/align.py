"""Few-shot transfer: map an unseen embedder's space into one that has a trained inverter.

An inverter is expensive to train; a linear map between two embedding spaces is not. From ``N``
texts embedded by both models (ALGEN, Chen et al. 2025, needs about a thousand), an
:class:`Alignment` learns ``x_src -> x_tgt`` by least squares, ridge regression or orthogonal
Procrustes after centering (optionally with a global scale). An :class:`AlignedEmbedder` then
wraps the source embedder so that its vectors live in the target space: an
:class:`~inversion.inverter.Inverter` trained for the target embedder decodes them, and
``Inverter.from_pretrained(dir, embedder=aligned)`` accepts it (its ``aligned_to`` record is
checked instead of its own fingerprint).

Only numpy is needed here.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(50, 4)); Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
>>> a = Alignment(method="procrustes").fit(X, X @ Q + 1.0)
>>> bool(np.allclose(a.transform(X), X @ Q + 1.0, atol=1e-4))
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embedlens._utils import atomic_path, check_matrix, check_texts
from embedlens.params import Params
from embedlens.saving import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    artifact_config,
    config_entries,
    load_weights,
    read_config,
    resolve_dir,
)

logger = logging.getLogger(__name__)

__all__ = ["ALIGN_METHODS", "AlignMethod", "AlignedEmbedder", "Alignment", "align_embedders"]

AlignMethod = Literal["lstsq", "ridge", "procrustes"]
ALIGN_METHODS: tuple[str, ...] = ("lstsq", "ridge", "procrustes")
#: ridge strength used when least squares is asked on fewer pairs than dimensions, relative to
#: the mean eigenvalue of the centered source Gram matrix
FALLBACK_ALPHA = 1e-2


class Alignment(Params):
    """A linear map from one embedding space into another, learned from paired vectors.

    Parameters
    ----------
    method
        ``"lstsq"`` (ordinary least squares with an intercept), ``"ridge"`` (least squares with
        an L2 penalty ``alpha``) or ``"procrustes"`` (an orthogonal map after centering both
        sides; with different dimensions, a semi-orthogonal one).
    alpha
        Ridge penalty (``method="ridge"``), on the centered source vectors.
    center
        Subtract each side's mean before fitting (the intercept maps one mean onto the other).
    scale
        ``method="procrustes"`` only: also fit one global scale factor (similarity Procrustes).
    normalize
        Renormalize mapped vectors to unit length: ``"auto"`` does so when every target vector
        seen in :meth:`fit` had unit length (as sentence-transformers models output).

    Attributes
    ----------
    W_ : ndarray (d_src, d_tgt)
        The linear part (including the Procrustes scale).
    mean_src_, mean_tgt_ : ndarray
        The means removed before fitting (zeros with ``center=False``).
    alpha_ : float
        The ridge penalty actually used (0 for plain least squares and Procrustes).
    n_pairs_ : int
        Number of pairs fitted on.

    Examples
    --------
    >>> a = Alignment(method="ridge", alpha=0.1).fit(X_src, X_tgt)  # doctest: +SKIP
    >>> a.score(X_src_test, X_tgt_test)  # mean cosine of mapped and true vectors  # doctest: +SKIP
    """

    def __init__(
        self,
        method: AlignMethod = "procrustes",
        *,
        alpha: float = 1.0,
        center: bool = True,
        scale: bool = True,
        normalize: bool | Literal["auto"] = "auto",
    ) -> None:
        self.method = method
        self.alpha = alpha
        self.center = center
        self.scale = scale
        self.normalize = normalize

    def _check_params(self) -> None:
        if self.method not in ALIGN_METHODS:
            raise ValueError(
                f"unknown alignment method {self.method!r}: use one of {list(ALIGN_METHODS)}"
            )
        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
            raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
        if self.normalize not in (True, False, "auto"):
            raise ValueError(f"normalize must be True, False or 'auto', got {self.normalize!r}")

    def fit(self, X_src: Any, X_tgt: Any) -> Alignment:
        """Learn the map from ``N`` paired rows: ``X_src[i]`` and ``X_tgt[i]`` embed one text.

        Raises ``ValueError`` for different numbers of rows, fewer than 2 pairs or NaN/inf
        values. Least squares on fewer pairs than source dimensions is underdetermined: it warns
        and falls back to ridge with a small penalty (see ``alpha_``).
        """
        self._check_params()
        src = check_matrix(X_src, what="X_src").astype(np.float64)
        tgt = check_matrix(X_tgt, what="X_tgt").astype(np.float64)
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(
                f"X_src has {src.shape[0]} rows but X_tgt has {tgt.shape[0]}: pass the two "
                "embeddings of the same texts, one row per text in the same order"
            )
        n, d_src = src.shape
        if n < 2:
            raise ValueError(f"an alignment needs at least 2 paired texts, got {n}")
        mu_s = src.mean(axis=0) if self.center else np.zeros(d_src)
        mu_t = tgt.mean(axis=0) if self.center else np.zeros(tgt.shape[1])
        A, B = src - mu_s, tgt - mu_t
        alpha = 0.0
        if self.method == "procrustes":
            W = _procrustes(A, B, scale=self.scale)
        else:
            if self.method == "ridge":
                alpha = float(self.alpha)
            elif n <= d_src:
                alpha = FALLBACK_ALPHA * float(np.sum(A * A)) / d_src
                warnings.warn(
                    f"least squares on {n} pairs for {d_src} source dimensions is "
                    f"underdetermined: fitting ridge with alpha={alpha:.3g} instead (use more "
                    "pairs than dimensions, or method='ridge'/'procrustes')",
                    UserWarning,
                    stacklevel=2,
                )
            W = _ridge(A, B, alpha) if alpha > 0 else np.linalg.lstsq(A, B, rcond=None)[0]
        norms = np.linalg.norm(tgt, axis=1)
        self.W_ = W.astype(np.float32)
        self.mean_src_ = mu_s.astype(np.float32)
        self.mean_tgt_ = mu_t.astype(np.float32)
        self.alpha_ = alpha
        self.n_pairs_ = n
        self.target_unit_norm_ = bool(np.allclose(norms, 1.0, atol=1e-3))
        return self

    @property
    def in_dim(self) -> int:
        """Dimension of the source space."""
        self._check_fitted()
        return int(self.W_.shape[0])

    @property
    def out_dim(self) -> int:
        """Dimension of the target space."""
        self._check_fitted()
        return int(self.W_.shape[1])

    def _check_fitted(self) -> None:
        if not hasattr(self, "W_"):
            raise RuntimeError(
                "this Alignment is not fitted: call fit(X_src, X_tgt) with paired embeddings "
                "first, or load one with Alignment.from_pretrained(directory)"
            )

    def transform(self, X: Any) -> np.ndarray:
        """Map source vectors ``(n, d_src)`` into the target space ``(n, d_tgt)`` (float32)."""
        self._check_fitted()
        arr = np.asarray(X)
        if arr.ndim in (1, 2) and arr.dtype != object and arr.shape[-1] != self.in_dim:
            raise ValueError(
                f"this Alignment maps {self.in_dim}-dim source vectors, got {arr.shape[-1]}: "
                "pass embeddings of the source model it was fitted on"
            )
        src = check_matrix(arr, what="X", dim=self.in_dim)
        out = (src - self.mean_src_) @ self.W_ + self.mean_tgt_
        if self.normalize is True or (self.normalize == "auto" and self.target_unit_norm_):
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.maximum(norms, 1e-12)
        return out.astype(np.float32)

    def fit_transform(self, X_src: Any, X_tgt: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` of ``X_src``."""
        return self.fit(X_src, X_tgt).transform(X_src)

    def score(self, X_src: Any, X_tgt: Any) -> float:
        """Mean cosine between mapped source vectors and their true target vectors."""
        mapped = self.transform(X_src)
        tgt = check_matrix(X_tgt, what="X_tgt", dim=self.out_dim)
        if tgt.shape[0] != mapped.shape[0]:
            raise ValueError(f"X_src has {mapped.shape[0]} rows but X_tgt has {tgt.shape[0]}")
        num = np.sum(mapped * tgt, axis=1)
        den = np.linalg.norm(mapped, axis=1) * np.linalg.norm(tgt, axis=1)
        return float(np.mean(num / np.maximum(den, 1e-12)))

    @property
    def fingerprint(self) -> str:
        """A stable hash of the fitted map."""
        self._check_fitted()
        h = hashlib.sha256(json.dumps(self.get_params(), sort_keys=True, default=str).encode())
        for arr in (self.W_, self.mean_src_, self.mean_tgt_):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ save / load

    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to the directory ``path`` (atomically)."""
        from safetensors.numpy import save_file

        self._check_fitted()
        config = artifact_config(
            "Alignment",
            {
                "params": self.get_params(),
                "alpha_": self.alpha_,
                "n_pairs_": self.n_pairs_,
                "target_unit_norm_": self.target_unit_norm_,
            },
        )
        weights = {"W": self.W_, "mean_src": self.mean_src_, "mean_tgt": self.mean_tgt_}
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            save_file(weights, str(tmp / WEIGHTS_FILE))
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> Alignment:
        """Load an alignment written by :meth:`save_pretrained`."""
        root = resolve_dir(path)
        config = read_config(root, "Alignment")
        weights = load_weights(root, framework="numpy")
        with config_entries(root):
            out = cls(**config["params"])
            out.W_, out.mean_src_, out.mean_tgt_ = (
                weights["W"],
                weights["mean_src"],
                weights["mean_tgt"],
            )
            out.alpha_ = float(config["alpha_"])
            out.n_pairs_ = int(config["n_pairs_"])
            out.target_unit_norm_ = bool(config["target_unit_norm_"])
        return out

    def __repr__(self) -> str:
        fitted = f", n_pairs_={self.n_pairs_}" if hasattr(self, "W_") else ""
        return f"Alignment(method={self.method!r}{fitted})"


def _ridge(A: np.ndarray, B: np.ndarray, alpha: float) -> np.ndarray:
    """``argmin_W ||A W - B||^2 + alpha ||W||^2``, in the primal or dual form, whichever is smaller."""
    n, d = A.shape
    if n < d:  # dual: W = A^T (A A^T + alpha I)^-1 B
        return A.T @ np.linalg.solve(A @ A.T + alpha * np.eye(n), B)
    return np.linalg.solve(A.T @ A + alpha * np.eye(d), A.T @ B)


def _procrustes(A: np.ndarray, B: np.ndarray, *, scale: bool) -> np.ndarray:
    """The (semi-)orthogonal ``W`` minimizing ``||s A W - B||``, times ``s`` when ``scale``."""
    U, S, Vt = np.linalg.svd(A.T @ B, full_matrices=False)
    W = U @ Vt
    if scale:
        denom = float(np.sum(A * A))
        W = W * (float(S.sum()) / denom if denom > 0 else 1.0)
    return W


# --------------------------------------------------------------------------- the embedder


def _record(target: Any) -> dict[str, Any]:
    if isinstance(target, dict):
        missing = [k for k in ("name", "dim", "fingerprint") if k not in target]
        if missing:
            raise ValueError(f"target record lacks {missing}: pass an Embedder or a full record")
        return {
            "name": target["name"],
            "dim": int(target["dim"]),
            "fingerprint": target["fingerprint"],
        }
    inner = getattr(target, "embedder_", None)  # a fitted Inverter, attack or corrector
    if inner is not None:
        target = inner
    if not all(hasattr(target, k) for k in ("name", "dim", "fingerprint")):
        raise TypeError(
            f"target must be an Embedder, a fitted model with embedder_, or a record dict "
            f"(name, dim, fingerprint), got {type(target).__name__}"
        )
    return {"name": target.name, "dim": int(target.dim), "fingerprint": target.fingerprint}


class AlignedEmbedder:
    """A source embedder whose vectors are mapped into a target embedder's space.

    It implements the :class:`~embedlens.embedders.Embedder` protocol (``name``, ``dim``,
    ``fingerprint``, ``embed``), so whatever decodes the target's vectors decodes its vectors.
    Its ``fingerprint`` is its own (the source's and the map's: caches never mix mapped and
    true target vectors); ``aligned_to`` records the target's name, dim and fingerprint, which
    :func:`embedlens.saving.check_embedder` accepts when a saved model is loaded with it.

    Parameters
    ----------
    source_embedder
        The embedder whose vectors are mapped (any :class:`~embedlens.embedders.Embedder`).
    alignment
        A fitted :class:`Alignment` from the source space to the target space.
    target
        The target embedder, a fitted model with an ``embedder_`` (an ``Inverter``), or its
        record ``{"name", "dim", "fingerprint"}``.

    Examples
    --------
    >>> aligned = align_embedders(other, minilm, texts[:1000])  # doctest: +SKIP
    >>> inv.invert(aligned.embed(["what the other model embedded"]))  # doctest: +SKIP
    """

    def __init__(self, source_embedder: Any, alignment: Alignment, *, target: Any) -> None:
        if not isinstance(alignment, Alignment):
            raise TypeError(f"alignment must be an Alignment, got {type(alignment).__name__}")
        alignment._check_fitted()
        record = _record(target)
        if int(source_embedder.dim) != alignment.in_dim:
            raise ValueError(
                f"the alignment maps {alignment.in_dim}-dim vectors but {source_embedder.name!r} "
                f"is {source_embedder.dim}-dim: fit it on that embedder's vectors"
            )
        if record["dim"] != alignment.out_dim:
            raise ValueError(
                f"the alignment maps into {alignment.out_dim} dims but the target "
                f"{record['name']!r} is {record['dim']}-dim: fit it on that embedder's vectors"
            )
        self.source_embedder = source_embedder
        self.alignment = alignment
        self.aligned_to = record

    @property
    def name(self) -> str:
        return f"{self.source_embedder.name}->{self.aligned_to['name']}"

    @property
    def dim(self) -> int:
        return int(self.aligned_to["dim"])

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(
            f"{self.source_embedder.fingerprint}|{self.alignment.fingerprint}|"
            f"{self.aligned_to['fingerprint']}".encode()
        )
        return h.hexdigest()[:16]

    @property
    def queries(self) -> int:
        """Texts sent to the source model (as counted by the source embedder)."""
        return int(getattr(self.source_embedder, "queries", 0))

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool | None = None
    ) -> np.ndarray:
        """Embed ``texts`` with the source model and map them into the target space."""
        X = self.source_embedder.embed(texts, batch_size=batch_size, progress=progress)
        return self.alignment.transform(X)

    def __repr__(self) -> str:
        return f"AlignedEmbedder({self.name!r}, method={self.alignment.method!r})"


def align_embedders(
    source: Any,
    target: Any,
    texts: Sequence[str],
    *,
    method: AlignMethod = "procrustes",
    batch_size: int = 32,
    progress: bool | None = None,
    **params: Any,
) -> AlignedEmbedder:
    """Embed ``texts`` with both models, fit an :class:`Alignment` and wrap ``source`` with it.

    ``target`` is the embedder an inverter was trained for (or the fitted inverter itself);
    ``params`` go to :class:`Alignment` (``alpha``, ``center``, ``scale``, ``normalize``).
    """
    items = check_texts(texts)
    target_emb = getattr(target, "embedder_", target)
    X_src = source.embed(items, batch_size=batch_size, progress=progress)
    X_tgt = target_emb.embed(items, batch_size=batch_size, progress=progress)
    alignment = Alignment(method=method, **params).fit(X_src, X_tgt)
    logger.info(
        "aligned %s to %s on %d pairs (%s)", source.name, target_emb.name, len(items), method
    )
    return AlignedEmbedder(source, alignment, target=target_emb)
