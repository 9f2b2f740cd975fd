"""The one decoding routine: text from input embeddings (soft tokens, prompts, or both).

Every embedlens decoder ends here: the soft-prefix models through
:meth:`embedlens.soft.SoftPrefixModel.generate`, the explainer's teacher on plain prompts.
"""

from __future__ import annotations

import re
from typing import Any

import torch

__all__ = ["generate_from_embeds", "sentence_stop", "whole_clause"]

_OPEN_WORDS = (
    "a an the of with to and or but nor for from by in on at as into onto than that which who "
    "whom whose where when while if because is are was were be been being has have had do does "
    "did will would can could should may might must not its their his her our your my this "
    "these those such very about over under between like"
)
#: words a whole phrase does not end on: articles, prepositions, conjunctions, relative
#: pronouns, auxiliaries and possessives ("...equipped with a", "...a character who")
DANGLING = frozenset(_OPEN_WORDS.split())

# a sentence ends: terminal punctuation (maybe closed by a quote or bracket) after a lower-case
# letter or digit ("U.S." does not end one), at the end or before a space
_SENTENCE_END = re.compile(r"[a-z0-9%][.!?][\"')\]]?(?=\s|$)")
# a clause boundary: ", " / "; " / ": " / " - " / " -- " / an en or em dash, with words after it
_CLAUSE = re.compile(r"(?:[,;:]|\s[-\u2013\u2014]{1,2})\s+(?=[\w\"'(])")
_ENDED = re.compile(r"[.!?][\"')\]]?$")
_WORD = re.compile(r"[\w']+")


def _drop_dangling(text: str) -> str:
    """``text`` without trailing words that leave a phrase open; unchanged if that is all of it."""
    words = text.split()
    keep = len(words)
    while keep > 1 and words[keep - 1].lower().strip("\"'()[],;:-") in DANGLING:
        keep -= 1
    return " ".join(words[:keep]).rstrip(",;:- \u2013\u2014") if keep < len(words) else text


def whole_clause(text: str) -> str:
    """An answer cut by the token limit, trimmed to its last complete sentence or clause.

    A text that ends a sentence (``.``, ``!`` or ``?``) is kept as it is. Otherwise it is cut at
    the later of its last sentence end (kept with its punctuation) and its last clause boundary
    (``", "``, ``"; "``, ``": "``, ``" - "`` or a dash followed by more words, after at least two
    words; the boundary itself is dropped), and words that leave a phrase open ("with a", "who is") are dropped from the
    end. With no boundary, only those trailing words go. Never empty unless ``text`` is: at
    least its first word stays.

    Examples
    --------
    >>> whole_clause("Rates rose. The bank said that it would")
    'Rates rose.'
    >>> whole_clause("a train, which was not equipped with a")
    'a train'
    >>> whole_clause("a fictional character who")
    'a fictional character'
    """
    if not isinstance(text, str):
        raise TypeError(f"whole_clause expects a string, got {type(text).__name__}")
    text = text.strip()
    if not text or _ENDED.search(text):
        return text
    cut = 0
    for found in _SENTENCE_END.finditer(text):
        cut = max(cut, found.end())
    for found in _CLAUSE.finditer(text):
        if len(_WORD.findall(text[: found.start()])) > 1:  # a clause of one word is no answer
            cut = max(cut, found.start())
    kept = text[:cut].strip() if cut else text
    return kept if _ENDED.search(kept) else _drop_dangling(kept)


def sentence_stop(tokenizer: Any, *, prompt_tokens: int = 0) -> Any:
    """A stopping criterion that ends each row of a ``generate`` call at its first sentence end.

    ``prompt_tokens`` is how many leading ids of the ids ``generate`` passes are not new (0 for
    a decoder-only model fed ``inputs_embeds``, 1 for an encoder-decoder's start token).
    """
    from transformers import StoppingCriteria

    class _SentenceStop(StoppingCriteria):  # type: ignore[misc]
        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            tails = tokenizer.batch_decode(input_ids[:, prompt_tokens:], skip_special_tokens=True)
            done = [
                len(t.split()) > 1 and bool(_SENTENCE_END.search(t.rstrip()[-3:] + " "))
                for t in tails
            ]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return _SentenceStop()


def generate_from_embeds(
    model: Any,
    tokenizer: Any,
    inputs_embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    max_new_tokens: int = 32,
    num_beams: int = 1,
    whole: bool = False,
    **generate_kwargs: Any,
) -> list[str]:
    """Decode text from input embeddings: greedy (``num_beams=1``) or beam search.

    The one generation routine of embedlens. For a decoder-only model the batch must be
    left-padded (``splice(..., padding_side="left")``); for an encoder-decoder model the
    embeddings are the encoder's input. Only the new tokens are decoded, special tokens dropped.
    With ``whole=True`` each row stops at its first sentence end (:func:`sentence_stop`), and a
    row that reached ``max_new_tokens`` without ending is trimmed to its last complete clause
    (:func:`whole_clause`); a row that ended by itself on an open word ("... scored to") loses
    the open words. No answer stops mid-phrase, none is emptied.

    Parameters
    ----------
    model, tokenizer
        A transformers generative model and its tokenizer.
    inputs_embeds, attention_mask
        ``(n, L, E)`` and ``(n, L)``.
    max_new_tokens
        Most tokens to generate per row.
    num_beams
        Beam width; 1 is greedy decoding.
    whole
        Whole answers: stop at a sentence end, trim an answer cut by the limit.
    **generate_kwargs
        Passed on to ``model.generate`` (e.g. ``repetition_penalty``).

    Examples
    --------
    >>> import torch
    >>> import embedlens
    >>> model, tok, _ = embedlens.load_decoder("smollm2")  # doctest: +SKIP
    >>> out = generate_from_embeds(model, tok, torch.zeros(2, 3, 576),  # doctest: +SKIP
    ...                            torch.ones(2, 3, dtype=torch.long), max_new_tokens=4)
    """
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"num_beams must be a positive integer, got {num_beams!r}")
    if not isinstance(whole, bool):
        raise TypeError(f"whole must be True or False, got {whole!r}")
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    start = 1 if getattr(model.config, "is_encoder_decoder", False) else 0
    if whole:
        from transformers import StoppingCriteriaList

        stops = list(generate_kwargs.pop("stopping_criteria", None) or [])
        stops.append(sentence_stop(tokenizer, prompt_tokens=start))
        generate_kwargs["stopping_criteria"] = StoppingCriteriaList(stops)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.generate(
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=pad,
                **generate_kwargs,
            )
    finally:
        model.train(was_training)
    texts: list[str] = [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]
    if not whole:
        return texts
    # a row that met EOS (or was padded after stopping) ended by itself: only words left open at
    # its end go; a row that hit the limit is cut back to its last complete clause
    ended = ((out[:, start:] == eos) | (out[:, start:] == pad)).any(dim=1).tolist()
    return [
        t if _ENDED.search(t) else _drop_dangling(t) if done else whole_clause(t)
        for t, done in zip(texts, ended, strict=True)
    ]
