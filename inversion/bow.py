"""Bag-of-words attack: which words were in the text, read off its embedding.

Song & Raghunathan (2020, "Information Leakage in Embedding Models") showed that a multi-label
classifier from sentence embeddings to vocabulary words recovers a large share of the input
words. :class:`BagOfWordsAttack` is that attack: a linear layer (or one hidden layer) trained
with binary cross-entropy on (vector, text) pairs, scored by word precision/recall/F1. It trains
in seconds on a CPU, so every audit can afford it.

torch and safetensors are imported inside the methods that need them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlens._utils import atomic_path, check_matrix, check_texts, progress_bar
from embedlens.params import Params
from embedlens.saving import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    artifact_config,
    check_embedder,
    config_entries,
    embedder_record,
    load_weights,
    read_config,
    resolve_dir,
)
from inversion.metrics import normalize_tokens

logger = logging.getLogger(__name__)

__all__ = ["ENGLISH_STOPWORDS", "BagOfWordsAttack", "WordScores"]


#: a short list of English function words, dropped from the vocabulary when ``stopwords=True``
_STOPWORD_TEXT = """a an the and or but if then than so of to in on at by for with from into onto over under
    about as is are was were be been being am do does did has have had having it its it's this
    that these those there here i me my we us our you your he him his she her they them their
    what which who whom whose when where why how not no nor all any both each few more most
    other some such only own same too very can will just should would could may might must
    shall s t up out off again further once"""
ENGLISH_STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class WordScores:
    """Word-level scores of a bag-of-words attack (see :meth:`BagOfWordsAttack.score`).

    ``precision``/``recall``/``f1`` are micro-averaged (pooled over all examples);
    ``mean_f1`` averages the per-example F1 in ``per_example_f1``. The true words of a text are
    its distinct in-vocabulary words (the attack can name no other). An example with no true
    and no predicted word scores F1 1.0.
    """

    precision: float
    recall: float
    f1: float
    mean_f1: float
    n: int
    per_example_f1: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "mean_f1": self.mean_f1,
            "n": self.n,
            "per_example_f1": self.per_example_f1.tolist(),
        }


class BagOfWordsAttack(Params):
    """Multi-label classifier from an embedding to the words of its text.

    Parameters
    ----------
    vocab_size
        Keep at most this many words, the most frequent by document frequency.
    min_df
        Drop words found in fewer training texts.
    stopwords
        Drop :data:`ENGLISH_STOPWORDS` from the vocabulary (they are easy and uninformative).
    hidden
        None: one linear layer; an int: one hidden ReLU layer of that width.
    epochs
        Passes over the training pairs.
    lr, weight_decay
        AdamW settings.
    batch_size
        Minibatch size; None trains full-batch.
    threshold
        Default probability above which a word is predicted.
    embedder
        The embedder the vectors come from (optional): its name, dim and fingerprint are checked
        on fit and saved, and loading refuses an embedder with another fingerprint.
    random_state
        Seed of the private generators for initialization and shuffling.
    progress
        Progress bar over epochs; None shows it only in interactive sessions.

    Notes
    -----
    Inputs are divided by the mean row norm of the training vectors and centered (the map stays
    linear; unit-norm embeddings such as MiniLM's are only centered). Each word's output bias
    starts at its training log-odds, so an untrained word is predicted as rarely as it occurs.
    The defaults (full batch, 200 epochs, lr 1e-2, decoupled weight decay 1.0) were chosen on
    MiniLM with a few hundred texts; a vector that encodes nothing yields near-zero F1.

    Examples
    --------
    >>> import numpy as np
    >>> texts = ["red apple", "green apple", "red car", "green car"] * 5
    >>> words = {"red": 0, "green": 1, "apple": 2, "car": 3}
    >>> X = np.zeros((len(texts), 4), dtype=np.float32)
    >>> for i, t in enumerate(texts):
    ...     for w in t.split():
    ...         X[i, words[w]] = 1.0
    >>> attack = BagOfWordsAttack(min_df=1, epochs=300).fit(X, texts)
    >>> attack.predict_words(X[:1])
    [['apple', 'red']]
    """

    def __init__(
        self,
        *,
        vocab_size: int = 2000,
        min_df: int = 2,
        stopwords: bool = True,
        hidden: int | None = None,
        epochs: int = 200,
        lr: float = 1e-2,
        weight_decay: float = 1.0,
        batch_size: int | None = None,
        threshold: float = 0.5,
        embedder: Any = None,
        random_state: int = 0,
        progress: bool | None = None,
    ) -> None:
        self.vocab_size = vocab_size
        self.min_df = min_df
        self.stopwords = stopwords
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.threshold = threshold
        self.embedder = embedder
        self.random_state = random_state
        self.progress = progress

    #: name, dim and fingerprint of the embedder trained for (None when it was not given)
    embedder_info_: dict[str, Any] | None = None

    # ---- scikit-learn style parameters

    def __repr__(self) -> str:
        return f"BagOfWordsAttack(vocab_size={self.vocab_size}, min_df={self.min_df}, hidden={self.hidden})"

    # ---- fitting
    def _check_options(self) -> None:
        for name in ("vocab_size", "min_df", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.hidden is not None and (
            isinstance(self.hidden, bool) or not isinstance(self.hidden, int) or self.hidden < 1
        ):
            raise ValueError(f"hidden must be None or a positive int, got {self.hidden!r}")
        if self.batch_size is not None and (
            not isinstance(self.batch_size, int) or self.batch_size < 1
        ):
            raise ValueError(f"batch_size must be None or a positive int, got {self.batch_size!r}")
        _check_threshold(self.threshold)
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")

    def _words(self, text: str) -> set[str]:
        words = set(normalize_tokens(text))
        return words - ENGLISH_STOPWORDS if self.stopwords else words

    def fit(self, X: Any, texts: Sequence[str]) -> BagOfWordsAttack:
        """Learn the vocabulary of ``texts`` and a classifier from ``X`` to it.

        Parameters
        ----------
        X
            Embeddings ``(n, dim)`` of ``texts``, finite.
        texts
            The texts the rows of ``X`` embed.

        Returns
        -------
        self
        """
        self._check_options()
        items = check_texts(texts)
        dim = None if self.embedder is None else int(self.embedder.dim)
        arr = check_matrix(X, dim=dim)
        if arr.shape[0] != len(items):
            raise ValueError(
                f"X has {arr.shape[0]} rows but {len(items)} texts came: pass one text per row"
            )
        bags = [self._words(t) for t in items]
        df = Counter(w for bag in bags for w in bag)
        ranked = sorted((w for w, c in df.items() if c >= self.min_df), key=lambda w: (-df[w], w))
        vocab = ranked[: self.vocab_size]
        if not vocab:
            raise ValueError(
                f"no word occurs in at least min_df={self.min_df} of the {len(items)} texts: "
                "pass more texts or lower min_df"
            )
        self.vocabulary_ = vocab
        self.embedder_info_ = None if self.embedder is None else embedder_record(self.embedder)
        self._index = {w: i for i, w in enumerate(vocab)}
        Y = self._targets(bags)
        self.n_features_in_ = arr.shape[1]
        # one global scale (the mean row norm) keeps the map linear and the step size
        # independent of the embedder's scale; MiniLM's unit vectors pass unchanged
        self.scale_ = np.float32(max(float(np.linalg.norm(arr, axis=1).mean()), 1e-12))
        self.mean_ = (arr / self.scale_).mean(axis=0).astype(np.float32)
        self._train(self._inputs(arr), Y)
        logger.info(
            "BagOfWordsAttack: %d texts, %d words, final loss %.4f",
            len(items),
            len(vocab),
            self.loss_,
        )
        return self

    def _inputs(self, arr: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(arr / self.scale_ - self.mean_, dtype=np.float32)

    def _targets(self, bags: list[set[str]]) -> list[np.ndarray]:
        """Each text's vocabulary indices (kept sparse: a dense matrix of 100k texts by 20k
        words would take 8 GB; minibatches are made dense one at a time)."""
        index = self._index
        return [np.array(sorted(index[w] for w in bag if w in index), np.int64) for bag in bags]

    @staticmethod
    def _dense(cols: list[np.ndarray], rows: np.ndarray, width: int) -> np.ndarray:
        Y = np.zeros((len(rows), width), dtype=np.float32)
        for i, r in enumerate(rows):
            Y[i, cols[int(r)]] = 1.0
        return Y

    def _build(self, dim: int, out: int) -> Any:
        import torch

        with torch.random.fork_rng(devices=[]):  # the caller's global RNG stays untouched
            torch.manual_seed(self.random_state)
            if self.hidden is None:
                return torch.nn.Linear(dim, out)
            return torch.nn.Sequential(
                torch.nn.Linear(dim, self.hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(self.hidden, out),
            )

    def _train(self, Xs: np.ndarray, Y: list[np.ndarray]) -> None:
        import torch

        width = len(self.vocabulary_)
        xt = torch.from_numpy(np.ascontiguousarray(Xs))
        model = self._build(xt.shape[1], width)
        counts = np.bincount(np.concatenate([*Y, np.zeros(0, np.int64)]), minlength=width)
        prior = np.clip(counts / max(len(Y), 1), 1e-3, 1 - 1e-3)
        last = model if isinstance(model, torch.nn.Linear) else model[-1]
        with torch.no_grad():  # start from each word's base rate: few false alarms early on
            last.bias.copy_(torch.from_numpy(np.log(prior / (1 - prior)).astype(np.float32)))
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        gen = torch.Generator().manual_seed(self.random_state)
        n = xt.shape[0]
        step = n if self.batch_size is None else min(self.batch_size, n)
        loss = torch.tensor(float("nan"))
        model.train()
        for _ in progress_bar(
            range(self.epochs), progress=self.progress, total=self.epochs, desc="bag of words"
        ):
            order = torch.randperm(n, generator=gen) if step < n else torch.arange(n)
            for start in range(0, n, step):
                rows = order[start : start + step]
                yt = torch.from_numpy(self._dense(Y, rows.numpy(), width))
                opt.zero_grad()
                loss = loss_fn(model(xt[rows]), yt)
                loss.backward()
                opt.step()
        model.eval()
        self.model_ = model
        self.loss_ = float(loss.detach())

    # ---- prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError(
                "this BagOfWordsAttack is not fitted yet: call fit(X, texts) or from_pretrained(dir)"
            )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each vocabulary word ``(n, len(vocabulary_))``."""
        self._check_fitted()
        import torch

        arr = check_matrix(X, dim=self.n_features_in_)
        with torch.no_grad():
            logits = self.model_(torch.from_numpy(self._inputs(arr)))
        return torch.sigmoid(logits).numpy()

    def predict_words(
        self, X: Any, *, threshold: float | None = None, top_k: int | None = None
    ) -> list[list[str]]:
        """Predicted words per vector, most probable first.

        Parameters
        ----------
        X
            Embeddings ``(n, dim)``.
        threshold
            Keep words with probability above this (default: the ``threshold`` parameter).
        top_k
            Keep exactly the ``top_k`` most probable words instead (overrides ``threshold``).
        """
        proba = self.predict_proba(X)
        order = np.argsort(-proba, axis=1, kind="stable")
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
                raise ValueError(f"top_k must be a positive int, got {top_k!r}")
            keep = order[:, :top_k]
            return [[self.vocabulary_[j] for j in row] for row in keep]
        cut = _check_threshold(self.threshold if threshold is None else threshold)
        return [
            [self.vocabulary_[j] for j in row if p[j] > cut]
            for row, p in zip(order, proba, strict=True)
        ]

    def invert(
        self, X: Any, *, threshold: float | None = None, top_k: int | None = None
    ) -> list[str]:
        """The predicted words of each vector joined by spaces, to score with ``evaluate``."""
        return [" ".join(ws) for ws in self.predict_words(X, threshold=threshold, top_k=top_k)]

    def score(
        self,
        X: Any,
        texts: Sequence[str],
        *,
        threshold: float | None = None,
        top_k: int | None = None,
    ) -> WordScores:
        """Word precision, recall and F1 of the predictions against the words of ``texts``."""
        items = check_texts(texts)
        predicted = self.predict_words(X, threshold=threshold, top_k=top_k)
        if len(predicted) != len(items):
            raise ValueError(
                f"X has {len(predicted)} rows but {len(items)} texts came: pass one text per row"
            )
        vocab = set(self.vocabulary_)
        tp = n_pred = n_true = 0
        per_example = np.zeros(len(items))
        for i, (text, pred) in enumerate(zip(items, predicted, strict=True)):
            truth, guess = self._words(text) & vocab, set(pred)
            hit = len(truth & guess)
            tp, n_pred, n_true = tp + hit, n_pred + len(guess), n_true + len(truth)
            if not truth and not guess:
                per_example[i] = 1.0
            elif hit:
                per_example[i] = 2 * hit / (len(truth) + len(guess))
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else 0.0
        return WordScores(
            precision=precision,
            recall=recall,
            f1=f1,
            mean_f1=float(per_example.mean()),
            n=len(items),
            per_example_f1=per_example,
        )

    # ---- save / load
    def save_pretrained(self, path: str | Path, *, dtype: str = "float32") -> Path:
        """Write ``config.json`` and ``model.safetensors`` to the directory ``path`` atomically.

        ``dtype="float16"`` halves the weights' size (how the shipped models are stored);
        loading turns them back into float32.
        """
        self._check_fitted()
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
        from safetensors.torch import save_file

        params = {k: v for k, v in self.get_params().items() if k not in ("embedder", "progress")}
        info = embedder_record(self.embedder) if self.embedder is not None else None
        info = info or self.embedder_info_
        config = artifact_config(
            type(self).__name__,
            {
                "embedder": info,
                "params": params,
                "input_dim": int(self.n_features_in_),
                "vocabulary": list(self.vocabulary_),
                "loss": self.loss_,
            },
        )
        import torch

        half = torch.float16 if dtype == "float16" else torch.float32
        tensors = {
            f"model.{k}": v.detach().to(half).contiguous()
            for k, v in self.model_.state_dict().items()
        }

        tensors["input.mean"] = torch.from_numpy(np.ascontiguousarray(self.mean_, np.float32)).to(
            half
        )
        tensors["input.scale"] = torch.tensor([float(self.scale_)], dtype=half)
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
            save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, embedder: Any = None) -> BagOfWordsAttack:
        """Load an attack saved by :meth:`save_pretrained`.

        ``embedder``, when given, must have the fingerprint the attack was trained for.
        """
        folder = resolve_dir(path)
        config = read_config(folder, cls.__name__)
        saved = config.get("embedder")
        if embedder is not None and saved is not None:
            check_embedder(saved, embedder, folder)
        tensors = load_weights(folder)
        with config_entries(folder):
            attack = cls(**config["params"], embedder=embedder)
            attack.vocabulary_ = list(config["vocabulary"])
            attack._index = {w: i for i, w in enumerate(attack.vocabulary_)}
            attack.n_features_in_ = int(config["input_dim"])
            attack.mean_ = tensors.pop("input.mean").float().numpy()
            attack.scale_ = np.float32(tensors.pop("input.scale").float().item())
            model = attack._build(attack.n_features_in_, len(attack.vocabulary_))
            try:
                model.load_state_dict(
                    {k.removeprefix("model."): v.float() for k, v in tensors.items()}
                )
            except RuntimeError as err:  # torch: missing/unexpected keys or wrong shapes
                raise ValueError(
                    f"{str(folder / WEIGHTS_FILE)!r} does not fit the saved settings "
                    f"({str(err).splitlines()[0]}): save the attack again"
                ) from None
            attack.model_ = model.eval()
            attack.loss_ = float(config.get("loss", float("nan")))
        attack.embedder_info_ = saved
        return attack


def _check_threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1), got {value!r}")
    return float(value)
