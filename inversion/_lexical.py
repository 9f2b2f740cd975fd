"""Word-level pieces of zero-shot inversion: a vocabulary, keyword ranking and edit search.

A mean-pooled sentence embedder keeps much of a text's vocabulary: the single words whose own
embeddings lie closest to a target vector are often words of the text. :func:`rank_keywords`
ranks a vocabulary that way, and :func:`edit_search` climbs from a start text by word edits
(move, insert, replace, delete) drawn from those keywords and a short list of English function words,
keeping an edit only when the embedder's cosine to the target rises. It needs nothing but
embedder queries, so it works on a black-box embedder; every new text it scores costs one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["FUNCTION_WORDS", "edit_search", "rank_keywords", "tokenizer_words"]

# Frequent English function words: the glue a content-word bag lacks (edits may insert them).
FUNCTION_WORDS: tuple[str, ...] = (
    "the", "a", "an", "of", "to", "in", "and", "is", "was", "for", "on", "with", "by", "at",
    "from", "that", "as", "it", "his", "her", "their", "they", "he", "she", "be", "are", "were",
    "not", "this", "or", "have", "has", "you", "i", "we", "can", "will", "into", "out", "up",
)  # fmt: skip


def tokenizer_words(tokenizer: Any, *, min_chars: int = 3) -> list[str]:
    """The distinct lower-case alphabetic words a tokenizer holds as single word-initial tokens.

    Byte-level BPE vocabularies (GPT-2, Llama, SmolLM2) mark a token that starts a word with a
    leading ``"Ġ"``; SentencePiece vocabularies (T5) with ``"▁"``. A tokenizer with neither gets
    every alphabetic token. Words shorter than ``min_chars`` are dropped (the function words
    cover those).
    """
    vocab = tokenizer.get_vocab()
    marks = [m for m in ("Ġ", "▁") if any(t.startswith(m) for t in list(vocab)[:5000])]
    words: set[str] = set()
    for token in vocab:
        if marks:
            if not token.startswith(marks[0]):
                continue
            token = token[len(marks[0]) :]
        if len(token) >= min_chars and token.isascii() and token.isalpha():
            words.add(token.lower())
    if not words:
        raise ValueError(
            "the tokenizer holds no alphabetic word tokens: pass vocabulary= (a list of words)"
        )
    return sorted(words)


def rank_keywords(word_vectors: np.ndarray, words: Sequence[str], targets: np.ndarray, k: int):
    """The ``k`` words of ``words`` whose unit vectors are closest to each unit target row.

    Returns one list of words per target, best first.
    """
    k = min(k, len(words))
    scores = targets @ word_vectors.T  # (targets, words)
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    best = np.take_along_axis(top, order, axis=1)
    return [[words[j] for j in row] for row in best]


def _edits(
    current: list[str], candidates: Sequence[str], n: int, max_words: int, rng: random.Random
) -> list[list[str]]:
    """Up to ``n`` distinct random one-word edits of ``current`` (move, insert, replace, delete)."""
    found: dict[tuple[str, ...], None] = {}
    size = len(current)
    for _ in range(4 * n):  # random draws repeat; a few extra tries fill the quota
        if len(found) >= n:
            break
        op = rng.random()
        if op < 0.1 and size > 1:  # move a word: word order matters to a contextual embedder
            src, dst = rng.randrange(size), rng.randrange(size)
            edit = list(current)
            edit.insert(dst, edit.pop(src))
        elif op < 0.5 and size < max_words:
            pos = rng.randint(0, size)
            edit = [*current[:pos], rng.choice(candidates), *current[pos:]]
        elif op < 0.9 and size > 0:
            pos = rng.randrange(size)
            edit = [*current[:pos], rng.choice(candidates), *current[pos + 1 :]]
        elif size > 1:
            pos = rng.randrange(size)
            edit = [*current[:pos], *current[pos + 1 :]]
        else:
            continue
        if edit != current:
            found[tuple(edit)] = None
    return [list(e) for e in found]


def edit_search(
    starts: Sequence[str],
    candidates: Sequence[Sequence[str]],
    score: Callable[[list[str], list[int]], list[float]],
    *,
    budgets: Sequence[int],
    per_round: int,
    max_words: int,
    patience: int,
    seed: int,
    refresh: Callable[[int, str], Sequence[str]] | None = None,
    refresh_after: int = 3,
    word_cost: float = 0.0,
) -> list[tuple[str, float, int]]:
    """Hill-climb each start text by word edits; all targets' edits are scored in one call.

    ``score(texts, rows)`` returns the cosine of each text to the target of its row (``rows``
    index ``starts``) and may answer repeated texts from a cache; it is called once per round.
    An edit is kept when it raises cosine - ``word_cost`` x words (so a word that adds less
    than ``word_cost`` of cosine is not worth keeping); the cosine returned is the plain one.
    A row stops when its budget of scored edits is spent or after ``patience`` rounds without
    a better cosine. With ``refresh``, a row that has gone ``refresh_after`` rounds without a
    better cosine asks ``refresh(row, text)`` for more candidate words (new ones join its pool)
    before it goes on. Returns ``(best text, its cosine, edits scored)`` per row.
    """
    rng = random.Random(seed)
    pools = [list(dict.fromkeys(c)) if c else ["the"] for c in candidates]
    current = [s.split() for s in starts]
    best = list(score(list(starts), list(range(len(starts)))))
    used = [0] * len(starts)
    stall = [0] * len(starts)
    while True:
        texts: list[str] = []
        rows: list[int] = []
        proposals: list[list[list[str]]] = []
        for r, words in enumerate(current):
            left = budgets[r] - used[r]
            if left <= 0 or stall[r] >= patience:
                proposals.append([])
                continue
            if refresh is not None and stall[r] == refresh_after:
                known = set(pools[r])
                pools[r].extend(w for w in refresh(r, " ".join(words)) if w not in known)
            edits = _edits(words, pools[r], min(per_round, left), max_words, rng)
            proposals.append(edits)
            texts.extend(" ".join(e) for e in edits)
            rows.extend([r] * len(edits))
            used[r] += len(edits)
        if not texts:
            break
        cos = score(texts, rows)
        at = 0
        for r, edits in enumerate(proposals):
            if not edits:
                continue
            chunk = np.asarray(cos[at : at + len(edits)], dtype=np.float64)
            at += len(edits)
            adjusted = chunk - word_cost * np.array([len(e) for e in edits])
            j = int(np.argmax(adjusted))
            if adjusted[j] > best[r] - word_cost * len(current[r]):
                best[r], current[r], stall[r] = float(chunk[j]), edits[j], 0
            else:
                stall[r] += 1
    return [(" ".join(w), float(b), u) for w, b, u in zip(current, best, used, strict=True)]
