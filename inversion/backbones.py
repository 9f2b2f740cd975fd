"""The language models an inverter decodes with: causal LMs and encoder-decoders.

:func:`load_backbone` turns a decoder spec into a :class:`~embedlens.models.Decoder`: the
built-in ``"smollm2"``, a causal LM directory or hub id (through
:func:`embedlens.models.load_decoder`), ``"t5:<dir or hub id>"`` for an encoder-decoder, a saved
decoder directory of either kind, or a loaded ``Decoder``.
"""

from __future__ import annotations

import copy as _copy
import os
from pathlib import Path
from typing import Any

from embedlens.models import Decoder
from embedlens.saving import without_adapters

__all__ = ["load_backbone", "load_seq2seq"]


def load_seq2seq(spec: str, *, device: Any = None, dtype: Any = None) -> Decoder:
    """Load an encoder-decoder (T5-style) from a directory or hub id as a :class:`Decoder`."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from embedlens.models import hub_error, resolve_device, resolve_dtype, resolve_model_source

    source = resolve_model_source(spec, builtins={})
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSeq2SeqLM.from_pretrained(source, dtype=resolve_dtype(dtype))
    except OSError as err:
        raise hub_error(spec, "seq2seq decoder", {}, err) from err
    model = model.to(resolve_device(device)).eval()
    return Decoder(model=model, tokenizer=tokenizer, name=f"t5:{spec}")


def load_backbone(
    decoder: str | os.PathLike[str] | Decoder,
    *,
    copy: bool = False,
    device: Any = None,
    dtype: Any = None,
) -> Decoder:
    """Resolve a decoder spec (or a loaded :class:`Decoder`) to a ``Decoder``.

    Parameters
    ----------
    decoder
        ``"smollm2"``, a causal LM directory or hub id, ``"t5:<dir or hub id>"``, a model
        directory of either kind (its ``config.json`` says which), or a ``Decoder``.
    copy
        For a ``Decoder``: train on a copy of its model, so the caller's model stays as it was.
    device, dtype
        ``None``: auto device and float32 for a spec; a ``Decoder`` stays where it is unless
        one of them is given.
    """
    from embedlens.models import load_decoder, resolve_device, resolve_dtype

    if isinstance(decoder, Decoder):
        model = without_adapters(decoder.model)
        if copy and model is decoder.model:
            model = _copy.deepcopy(model)
        if device is not None or dtype is not None:
            model = model.to(device=resolve_device(device), dtype=resolve_dtype(dtype))
        return Decoder(model=model, tokenizer=decoder.tokenizer, name=decoder.name)
    if not isinstance(decoder, (str, os.PathLike)):
        raise TypeError(
            f"decoder must be a name, a directory, 't5:<dir or hub id>' or a Decoder, "
            f"got {type(decoder).__name__}"
        )
    spec = os.fspath(decoder)
    if spec.startswith("t5:"):
        return load_seq2seq(spec[3:], device=device, dtype=dtype)
    path = Path(spec).expanduser()
    if (path / "config.json").is_file():
        from transformers import AutoConfig

        if getattr(AutoConfig.from_pretrained(path), "is_encoder_decoder", False):
            return load_seq2seq(str(path), device=device, dtype=dtype)
    return load_decoder(spec, device=device, dtype=dtype)
