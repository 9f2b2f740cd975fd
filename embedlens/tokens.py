"""Word tokens and unigram overlap: the one definition every score in embedlens uses.

Inversion metrics (token F1, the bag-of-words vocabulary), the audit and the explainer's
reconstruction score all count words the same way: case-folded runs of letters, digits or ``_``.
:func:`count_longer` counts the texts a model's tokenizer would cut at a length.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

__all__ = ["count_longer", "normalize_tokens", "token_prf"]

_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_tokens(text: str) -> list[str]:
    """Case-folded word tokens of ``text`` (runs of letters, digits or ``_``; punctuation dropped).

    Examples
    --------
    >>> normalize_tokens("The cat, the HAT!")
    ['the', 'cat', 'the', 'hat']
    """
    return _WORD.findall(text.casefold())


def token_prf(
    reference: str, hypothesis: str, *, overlap: Literal["multiset", "set"] = "multiset"
) -> tuple[float, float, float]:
    """Unigram precision, recall and F1 of ``hypothesis`` against ``reference``.

    Tokens come from :func:`normalize_tokens`. ``overlap="multiset"`` counts a repeated word as
    often as it occurs in both (SQuAD style); ``"set"`` compares the sets of distinct words.
    Two empty texts score 1.0; one empty text scores 0.0.

    Examples
    --------
    >>> token_prf("the cat sat", "the cat")
    (1.0, 0.6666666666666666, 0.8)
    """
    ref, hyp = normalize_tokens(reference), normalize_tokens(hypothesis)
    if overlap == "set":
        ref, hyp = sorted(set(ref)), sorted(set(hyp))
    elif overlap != "multiset":
        raise ValueError(f"overlap must be 'multiset' or 'set', got {overlap!r}")
    if not ref and not hyp:
        return 1.0, 1.0, 1.0
    common = sum((Counter(ref) & Counter(hyp)).values())
    if common == 0:
        return 0.0, 0.0, 0.0
    precision, recall = common / len(hyp), common / len(ref)
    return precision, recall, 2 * precision * recall / (precision + recall)


def count_longer(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> int:
    """How many ``texts`` a tokenizer splits into more than ``max_tokens`` tokens.

    No special tokens are counted; texts are tokenized 1,024 at a time.
    """
    count = 0
    for s in range(0, len(texts), 1024):
        enc = tokenizer(list(texts[s : s + 1024]), add_special_tokens=False)
        count += sum(len(ids) > max_tokens for ids in enc["input_ids"])
    return count
