"""Tiny random models built from explicit configs, for tests and examples that need no download.

Everything here is deterministic under ``seed`` and builds in milliseconds: a character-level
tokenizer, a BERT-style encoder, a Llama-style causal LM and a T5-style encoder-decoder. They
have the same interfaces as real models, so code paths can be tested without weights.

Examples
--------
>>> from tiny_models import tiny_embedder
>>> emb = tiny_embedder(dim=16)
>>> emb.embed(["hello", "world"]).shape
(2, 16)
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any

from embedlens.embedders import Pooling, TransformersEmbedder
from embedlens.models import Decoder

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[BOS]", "[EOS]", "[MASK]")


def tiny_tokenizer(model_max_length: int = 256) -> Any:
    """A character-level fast tokenizer over printable ASCII (unknown characters -> [UNK])."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]
    vocab = {tok: i for i, tok in enumerate([*SPECIAL_TOKENS, *chars])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
    )


def _build(config: Any, cls: Any, seed: int) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]):  # leaves the caller's global RNG untouched
        torch.manual_seed(seed)
        model = cls(config)
    return model.eval()


def tiny_encoder(dim: int = 32, layers: int = 2, heads: int = 2, seed: int = 0) -> tuple[Any, Any]:
    """A random BERT encoder ``(model, tokenizer)`` with hidden size ``dim``."""
    from transformers import BertConfig, BertModel

    tok = tiny_tokenizer()
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=dim,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=dim * 2,
        max_position_embeddings=tok.model_max_length,
        pad_token_id=tok.pad_token_id,
    )
    return _build(config, BertModel, seed), tok


def tiny_embedder(
    dim: int = 32,
    *,
    layers: int = 2,
    pooling: Pooling = "mean",
    normalize: bool = True,
    seed: int = 0,
    device: str | None = "cpu",
) -> TransformersEmbedder:
    """A :class:`TransformersEmbedder` over :func:`tiny_encoder`, named ``tiny-bert-{dim}``."""
    model, tok = tiny_encoder(dim=dim, layers=layers, seed=seed)
    return TransformersEmbedder(
        model, tok, pooling=pooling, normalize=normalize, name=f"tiny-bert-{dim}", device=device
    )


def tiny_causal_lm(
    hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0, device: str | None = "cpu"
) -> Decoder:
    """A random Llama-style causal LM as a :class:`~embedlens.models.Decoder`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=tok.model_max_length,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
    )
    model = _build(config, LlamaForCausalLM, seed)
    if device is not None:
        model.to(device)
    return Decoder(model=model, tokenizer=tok, name=f"tiny-llama-{hidden}")


def tiny_seq2seq(
    hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0, device: str | None = "cpu"
) -> Decoder:
    """A random T5-style encoder-decoder as a :class:`~embedlens.models.Decoder`."""
    from transformers import T5Config, T5ForConditionalGeneration

    tok = tiny_tokenizer()
    config = T5Config(
        vocab_size=len(tok),
        d_model=hidden,
        d_kv=hidden // heads,
        d_ff=hidden * 2,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=heads,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    model = _build(config, T5ForConditionalGeneration, seed)
    if device is not None:
        model.to(device)
    return Decoder(model=model, tokenizer=tok, name=f"tiny-t5-{hidden}")


def save_tiny(model: Any, tokenizer: Any, path: str | os.PathLike[str]) -> Path:
    """Write a tiny model and tokenizer as a model directory (``config.json`` + safetensors)."""
    out = Path(path)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
