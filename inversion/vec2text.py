"""vec2text's public GTR-base checkpoints, loaded into embedlens models.

Morris et al. (2023) published a hypothesis model and a corrector for GTR-base embeddings of
32-token texts (hub ids ``jxm/gtr__nq__32`` and ``jxm/gtr__nq__32__correct``). The key names
and shapes below come from reading their model definitions (``InversionModel`` and
``CorrectorEncoderModel`` of the vec2text package); none of their code is used:

- hypothesis model: ``embedder.*`` (the GTR encoder; embedlens embeds separately, so these are
  dropped), ``encoder_decoder.*`` (a T5 ``T5ForConditionalGeneration``, ``t5-base`` for GTR),
  and ``embedding_transform.{0,3}.{weight,bias}``: ``Linear(d, d) -> Dropout -> GELU ->
  Linear(d, k * d_model)``, whose output is reshaped to ``k`` (``num_repeat_tokens``, 16)
  encoder input vectors. That is :class:`embedlens.soft.SoftPrompt` with no input
  LayerNorm, no RMS normalization of the soft tokens and a gain of 1 (``mlp.0`` and ``mlp.3``;
  dropout and GELU commute at inference), feeding a seq2seq :class:`~inversion.inverter.Inverter`.
  :func:`inverter_from_vec2text` builds that inverter (a :class:`Vec2TextInverter`).
- corrector: ``encoder_decoder.*`` (T5), ``embedding_transform_1`` (target ``e``),
  ``embedding_transform_2`` (difference ``e - ê``), ``embedding_transform_3`` (hypothesis
  ``ê``), each of the same form, and ``layernorm.{weight,bias}`` applied to the whole encoder
  input ``[eos] e [eos] ê [eos] (e - ê) [eos] hypothesis-tokens``.
  :func:`corrector_state_dict` translates these keys into the names of
  :class:`inversion.corrector.Corrector` (``projector.target / hypothesis / difference.mlp.*``,
  ``lm.*``) with shape checks; embedlens's Corrector has neither the separator tokens nor the
  final LayerNorm, so a vec2text corrector does not yet run inside it (see that function).

The vectors these models read are GTR's mean-pooled T5 encoder states without the
sentence-transformers Dense and Normalize layers: :func:`gtr_embedder` builds that embedder.

Examples
--------
>>> inv = load_vec2text_inverter()  # needs the hub  # doctest: +SKIP
>>> inv.invert(inv.embedder_.embed(["Jack Morris is a PhD student at Cornell Tech"]))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inversion.inverter import Inverter

if TYPE_CHECKING:
    import torch

    from embedlens.embedders import Embedder

logger = logging.getLogger(__name__)

__all__ = [
    "CORRECTOR_ID",
    "GTR_EMBEDDER_ID",
    "HYPOTHESIS_ID",
    "Vec2TextInverter",
    "Vec2TextUnavailableError",
    "corrector_state_dict",
    "gtr_embedder",
    "hypothesis_state_dict",
    "inverter_from_vec2text",
    "load_vec2text_inverter",
]

HYPOTHESIS_ID = "jxm/gtr__nq__32"
CORRECTOR_ID = "jxm/gtr__nq__32__correct"
GTR_EMBEDDER_ID = "sentence-transformers/gtr-t5-base"
BASE_MODEL = "t5-base"
_T5 = "encoder_decoder."
_TRANSFORM = ("0.weight", "0.bias", "3.weight", "3.bias")
#: vec2text corrector transform -> the role of the Corrector's projector it feeds
CORRECTOR_ROLES = {
    "embedding_transform_1": "target",
    "embedding_transform_3": "hypothesis",
    "embedding_transform_2": "difference",
}


class Vec2TextUnavailableError(OSError):
    """A vec2text checkpoint (or its base model or embedder) is neither local nor reachable."""


class Vec2TextInverter(Inverter):
    """An :class:`~inversion.inverter.Inverter` whose projector has vec2text's form.

    The projector is a :class:`~embedlens.soft.SoftPrompt` without input LayerNorm and
    without RMS normalization of its soft tokens (vec2text's ``embedding_transform``); the rest
    (T5 backbone, decoding, save/load) is the Inverter's. Saved as ``Vec2TextInverter``: load it
    with ``Vec2TextInverter.from_pretrained(dir)``.
    """

    def _make_projector(self, model: Any, in_dim: int) -> torch.nn.Module:
        from embedlens.soft.projector import SoftPrompt

        width = int(model.get_input_embeddings().weight.shape[1])
        return SoftPrompt(
            in_dim,
            width,
            self.prefix_tokens,
            hidden=self.hidden,
            normalize_input=False,
            rms_norm=False,
            target_norm=float(width) ** 0.5,  # gain 1: sqrt(width) / sqrt(width)
        )


# --------------------------------------------------------------------------- key translation


def _split_transform(
    state: dict[str, torch.Tensor], prefix: str, *, prefix_tokens: int, d_model: int
) -> dict[str, torch.Tensor]:
    """``prefix.{0,3}.*`` of a vec2text state dict as SoftPrompt ``mlp.{0,3}.*``, shape-checked."""
    missing = [f"{prefix}.{k}" for k in _TRANSFORM if f"{prefix}.{k}" not in state]
    if missing:
        raise ValueError(
            f"the vec2text state dict lacks {missing}: it is not a checkpoint of the expected "
            "model (InversionModel / CorrectorEncoderModel)"
        )
    w0, b0 = state[f"{prefix}.0.weight"], state[f"{prefix}.0.bias"]
    w3, b3 = state[f"{prefix}.3.weight"], state[f"{prefix}.3.bias"]
    hidden, in_dim = (int(x) for x in w0.shape)
    expected = {
        f"{prefix}.0.bias": (hidden,),
        f"{prefix}.3.weight": (prefix_tokens * d_model, hidden),
        f"{prefix}.3.bias": (prefix_tokens * d_model,),
    }
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise ValueError(
                f"{key} has shape {tuple(state[key].shape)}, expected {shape} for {prefix_tokens} "
                f"soft tokens of width {d_model} from {in_dim}-dim vectors: check "
                "num_repeat_tokens and the base model"
            )
    return {"mlp.0.weight": w0, "mlp.0.bias": b0, "mlp.3.weight": w3, "mlp.3.bias": b3}


def _t5_part(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    lm = {k[len(_T5) :]: v for k, v in state.items() if k.startswith(_T5)}
    if not lm:
        raise ValueError(
            "the vec2text state dict has no 'encoder_decoder.*' weights (the T5 model): it is "
            "not a checkpoint of the expected model"
        )
    return lm


def hypothesis_state_dict(
    state: dict[str, torch.Tensor], *, prefix_tokens: int, d_model: int
) -> dict[str, dict[str, torch.Tensor]]:
    """Translate a vec2text ``InversionModel`` state dict for a :class:`Vec2TextInverter`.

    Returns ``{"projector": SoftPrompt state, "lm": T5 state}``; ``embedder.*`` keys are dropped
    (the embedder is separate in embedlens). Any other key raises ``ValueError``.
    """
    known = ("embedder.", _T5, "embedding_transform.")
    unexpected = sorted(k for k in state if not k.startswith(known))
    if unexpected:
        raise ValueError(
            f"unexpected keys in the vec2text hypothesis checkpoint: {unexpected[:5]}; expected "
            "only embedder.*, encoder_decoder.* and embedding_transform.*"
        )
    projector = _split_transform(
        state, "embedding_transform", prefix_tokens=prefix_tokens, d_model=d_model
    )
    return {"projector": projector, "lm": _t5_part(state)}


def corrector_state_dict(
    state: dict[str, torch.Tensor], *, prefix_tokens: int, d_model: int
) -> dict[str, Any]:
    """Translate a vec2text ``CorrectorEncoderModel`` state dict into embedlens's names.

    Returns ``{"weights": {...}, "layernorm": {...}, "sequence": [...]}``: ``weights`` are named
    as a seq2seq :class:`inversion.corrector.Corrector` saves them (``projector.<role>.mlp.*``
    for the roles target / hypothesis / difference, ``lm.*`` for T5); ``layernorm`` holds the
    weight and bias vec2text applies to the whole encoder input, and ``sequence`` the layout of
    that input. Those two have no counterpart in embedlens's Corrector (which feeds
    ``[e][ê][e - ê] hypothesis`` without separators, and RMS-normalizes each soft token), so the
    translated weights do not reproduce vec2text's corrector until it gains them.
    """
    known = (_T5, *CORRECTOR_ROLES, "layernorm.")
    unexpected = sorted(k for k in state if not k.startswith(known))
    if unexpected:
        raise ValueError(
            f"unexpected keys in the vec2text corrector checkpoint: {unexpected[:5]}; expected "
            "encoder_decoder.*, embedding_transform_{1,2,3}.* and layernorm.*"
        )
    weights: dict[str, torch.Tensor] = {}
    for source, role in CORRECTOR_ROLES.items():
        part = _split_transform(state, source, prefix_tokens=prefix_tokens, d_model=d_model)
        weights.update({f"projector.{role}.{k}": v for k, v in part.items()})
    weights.update({f"lm.{k}": v for k, v in _t5_part(state).items()})
    norm = {k[len("layernorm.") :]: v for k, v in state.items() if k.startswith("layernorm.")}
    if set(norm) != {"weight", "bias"} or any(tuple(v.shape) != (d_model,) for v in norm.values()):
        raise ValueError(
            f"the vec2text corrector's layernorm must hold weight and bias of shape ({d_model},), "
            f"got { {k: tuple(v.shape) for k, v in norm.items()} }"
        )
    sequence = ["eos", "target", "eos", "hypothesis", "eos", "difference", "eos", "tokens"]
    return {"weights": weights, "layernorm": norm, "sequence": sequence}


def _load_t5(model: Any, lm: dict[str, torch.Tensor]) -> None:
    """Load T5 weights, allowing only the tied copies of the shared embedding to be absent."""
    import torch

    own = model.state_dict()
    tied = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"}
    if getattr(model.config, "tie_word_embeddings", True):
        tied.add("lm_head.weight")
    missing = sorted(set(own) - set(lm) - tied)
    unexpected = sorted(set(lm) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"the checkpoint's T5 weights do not fit the base model {model.config._name_or_path!r}"
            f" (missing {missing[:3]}, unexpected {unexpected[:3]}): pass the base model it was "
            "trained from (its config.json names it as model_name_or_path)"
        )
    with torch.no_grad():
        for key, value in lm.items():
            if tuple(own[key].shape) != tuple(value.shape):
                raise ValueError(
                    f"T5 weight {key} has shape {tuple(value.shape)} in the checkpoint but "
                    f"{tuple(own[key].shape)} in the base model: pass the matching base model"
                )
            own[key].copy_(value.to(own[key].dtype))  # tied copies share the storage


def inverter_from_vec2text(
    state: dict[str, torch.Tensor],
    *,
    model: Any,
    tokenizer: Any,
    embedder: Embedder,
    prefix_tokens: int = 16,
    max_length: int = 32,
    name: str = HYPOTHESIS_ID,
    device: str | None = None,
) -> Vec2TextInverter:
    """A :class:`Vec2TextInverter` holding the weights of a vec2text hypothesis checkpoint.

    Parameters
    ----------
    state
        The checkpoint's state dict (``InversionModel`` key names).
    model, tokenizer
        The T5 ``T5ForConditionalGeneration`` (randomly initialized or base weights: the
        checkpoint's T5 weights replace them) and its tokenizer.
    embedder
        The embedder whose vectors are inverted (GTR-base for ``jxm/gtr__nq__32``:
        :func:`gtr_embedder`); its dim must match the checkpoint.
    prefix_tokens, max_length
        ``num_repeat_tokens`` and ``max_seq_length`` of the checkpoint's config.
    """
    from embedlens.models import Decoder

    d_model = int(model.get_input_embeddings().weight.shape[1])
    parts = hypothesis_state_dict(state, prefix_tokens=prefix_tokens, d_model=d_model)
    hidden, in_dim = (int(x) for x in parts["projector"]["mlp.0.weight"].shape)
    if int(embedder.dim) != in_dim:
        raise ValueError(
            f"the vec2text checkpoint reads {in_dim}-dim vectors but the embedder "
            f"{embedder.name!r} is {embedder.dim}-dim: pass the embedder it was trained for "
            f"({GTR_EMBEDDER_ID} mean-pooled, see gtr_embedder())"
        )
    _load_t5(model, parts["lm"])
    inv = Vec2TextInverter(
        embedder=embedder,
        decoder=Decoder(model=model, tokenizer=tokenizer, name=f"t5:{name}"),
        prefix_tokens=prefix_tokens,
        finetune="projector",
        max_length=max_length,
        hidden=hidden,
        device=device,
    )
    inv.embedder_ = embedder
    inv._build(in_dim)
    inv.projector_.load_state_dict({**inv.projector_.state_dict(), **parts["projector"]})
    inv.module_.eval()
    return inv


# --------------------------------------------------------------------------- loading


def _locate(spec: str | os.PathLike[str], what: str, missing: list[str]) -> Path | str | None:
    """A local directory, or a hub id when the hub is reachable; else ``None`` (noted)."""
    from embedlens.models import hub_offline_reason

    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    text = os.fspath(spec)
    if hub_offline_reason() is None:
        return text
    missing.append(f"{what} {text!r}")
    return None


def _unavailable(missing: list[str]) -> Vec2TextUnavailableError:
    from embedlens.models import hub_offline_reason

    return Vec2TextUnavailableError(
        f"cannot load the vec2text checkpoint: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not local directories and the Hugging Face hub "
        f"cannot be reached ({hub_offline_reason()}). Connect to the internet, or download them "
        "where you can (huggingface-cli download <id> --local-dir <dir>) and pass the "
        "directories: load_vec2text_inverter(<checkpoint dir>, base_model=<t5-base dir>, "
        "embedder=gtr_embedder(<gtr-t5-base dir>))"
    )


def _read_checkpoint(
    root: Path | str, *, allow_pickle: bool = False
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``config.json`` and the weights: safetensors; a pickled ``.bin`` only with
    ``allow_pickle`` (and then only as tensors)."""
    if not isinstance(root, Path):
        from huggingface_hub import snapshot_download

        patterns = ["*.json", "*.safetensors", *(["*.bin"] if allow_pickle else [])]
        root = Path(snapshot_download(root, allow_patterns=patterns))
    config_file = root / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{str(root)!r} has no config.json: not a vec2text checkpoint")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    shards = sorted(root.glob("*.safetensors"))
    if shards:
        from safetensors.torch import load_file

        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(load_file(str(shard)))
        return config, state
    bins = sorted(root.glob("*.bin"))
    if not bins:
        hint = "" if allow_pickle else " (with allow_pickle=True, a pytorch_model.bin is read)"
        raise FileNotFoundError(f"{str(root)!r} holds no model.safetensors{hint}")
    if not allow_pickle:
        raise ValueError(
            f"{str(root)!r} holds its weights only as a pickle ({bins[0].name}), and embedlens "
            "reads safetensors only (unpickling a file can run code): if you trust the "
            "checkpoint, pass allow_pickle=True"
        )
    import torch

    state = {}
    for b in bins:  # weights_only: tensors are read, no pickled code is run
        state.update(torch.load(b, map_location="cpu", weights_only=True))
    return config, state


def gtr_embedder(
    source: str | os.PathLike[str] = GTR_EMBEDDER_ID, *, device: str | None = None
) -> Embedder:
    """GTR-base as vec2text embeds: the T5 encoder's states, mean-pooled, not normalized."""
    missing: list[str] = []
    where = _locate(source, "the embedder", missing)
    if where is None:
        raise _unavailable(missing)
    from transformers import AutoTokenizer, T5EncoderModel

    from embedlens.embedders import TransformersEmbedder

    model = T5EncoderModel.from_pretrained(str(where), use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(where))
    return TransformersEmbedder(
        model,
        tokenizer,
        pooling="mean",
        normalize=False,
        max_length=128,
        name="gtr-t5-base (vec2text)",
        device=device,
    )


def load_vec2text_inverter(
    source: str | os.PathLike[str] = HYPOTHESIS_ID,
    *,
    base_model: str | os.PathLike[str] | None = None,
    embedder: Embedder | None = None,
    device: str | None = None,
    allow_pickle: bool = False,
) -> Vec2TextInverter:
    """Load vec2text's hypothesis model (default ``jxm/gtr__nq__32``) as a :class:`Vec2TextInverter`.

    Parameters
    ----------
    source
        The hub id or a local directory with its ``config.json`` and weights.
    base_model
        The T5 model it was trained from (architecture and tokenizer); ``None`` reads
        ``model_name_or_path`` of its config (``t5-base``).
    embedder
        The embedder; ``None`` loads :func:`gtr_embedder`.
    allow_pickle
        Also read weights published only as ``pytorch_model.bin`` (a pickle, read with
        ``torch.load(weights_only=True)``): the opt-in for a checkpoint you trust; by default
        only safetensors are read.

    Raises
    ------
    Vec2TextUnavailableError
        When the checkpoint, its base model or the embedder is not local and the hub cannot be
        reached; the message names each missing piece.
    """
    missing: list[str] = []
    where = _locate(source, "the hypothesis checkpoint", missing)
    base_where = _locate(base_model, "the base model", missing) if base_model is not None else None
    if embedder is None:
        _locate(GTR_EMBEDDER_ID, "the embedder", missing)
    if base_model is None and where is None:
        missing.append(f"its base model {BASE_MODEL!r}")
    if missing or where is None:
        raise _unavailable(missing)
    config, state = _read_checkpoint(where, allow_pickle=allow_pickle)
    if base_where is None:
        base_where = _locate(
            config.get("model_name_or_path", BASE_MODEL), "the base model", missing
        )
        if base_where is None:
            raise _unavailable(missing)
    from transformers import AutoConfig, AutoTokenizer, T5ForConditionalGeneration

    t5_config = AutoConfig.from_pretrained(str(base_where))
    model = T5ForConditionalGeneration(t5_config)
    tokenizer = AutoTokenizer.from_pretrained(str(base_where))
    emb = embedder if embedder is not None else gtr_embedder(device=device)
    return inverter_from_vec2text(
        state,
        model=model,
        tokenizer=tokenizer,
        embedder=emb,
        prefix_tokens=int(config.get("num_repeat_tokens", 16)),
        max_length=int(config.get("max_seq_length", 32)),
        name=os.fspath(source),
        device=device,
    )
