"""Texts as words and the glue between them, and the one-word edits a search proposes.

A record such as ``"Contact: 555-0100, ann.lee@mail.com."`` is kept as its word runs
(``Contact``, ``555``, ``0100``, ``ann``, ``lee``, ...) and the characters between them
(``": "``, ``"-"``, ``", "``, ``"."``, ``"@"``, ...). An edit changes words and leaves the glue in
place, so replacing ``ann`` with ``mia`` keeps the address an address, and the punctuation a
start text brings survives the search.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Words", "propose_edits"]

_RUN = re.compile(r"\w+(?:'\w+)?")


@dataclass(frozen=True)
class Words:
    """A text split into ``words`` with ``glue[i]`` after ``words[i]`` and ``lead`` before."""

    lead: str
    words: tuple[str, ...]
    glue: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Words:
        """Split ``text`` into word runs and the glue between them."""
        spans = [m.span() for m in _RUN.finditer(text)]
        if not spans:
            return cls("", (), ())
        lead = text[: spans[0][0]]
        words = tuple(text[a:b] for a, b in spans)
        ends = [a for a, _ in spans[1:]] + [len(text)]
        glue = tuple(text[b:e] for (_, b), e in zip(spans, ends, strict=True))
        return cls(lead, words, glue)

    def render(self) -> str:
        """The text: lead, then each word followed by its glue."""
        return (
            self.lead + "".join(w + g for w, g in zip(self.words, self.glue, strict=True))
        ).strip()

    def __len__(self) -> int:
        return len(self.words)

    def replace(self, i: int, word: str) -> Words:
        return Words(self.lead, (*self.words[:i], word, *self.words[i + 1 :]), self.glue)

    def insert(self, i: int, word: str) -> Words:
        """``word`` before position ``i`` (``i == len``: at the end, taking the final glue)."""
        n = len(self.words)
        if i >= n:
            last = self.glue[-1] if n else ""
            glue = (*self.glue[:-1], " ", last) if n else (last,)
            return Words(self.lead, (*self.words, word), glue)
        return Words(
            self.lead,
            (*self.words[:i], word, *self.words[i:]),
            (*self.glue[:i], " ", *self.glue[i:]),
        )

    def delete(self, i: int) -> Words:
        """Drop word ``i``; its glue survives on the word before when it carries punctuation."""
        glue = list(self.glue)
        if i > 0 and glue[i].strip() and not glue[i - 1].strip():
            glue[i - 1] = glue[i]
        del glue[i]
        return Words(self.lead, (*self.words[:i], *self.words[i + 1 :]), tuple(glue))

    def swap(self, i: int) -> Words:
        """Exchange words ``i`` and ``i + 1``; the glue stays where it was."""
        words = list(self.words)
        words[i], words[i + 1] = words[i + 1], words[i]
        return Words(self.lead, tuple(words), self.glue)


def propose_edits(
    text: Words,
    pool: Sequence[str],
    pool_weights: np.ndarray,
    keep: np.ndarray,
    n: int,
    max_words: int,
    rng: random.Random,
) -> list[Words]:
    """Up to ``n`` distinct one-word edits of ``text``.

    New words are drawn from ``pool`` in proportion to ``pool_weights``; the word an edit
    replaces or deletes is drawn in proportion to ``1 - keep`` (``keep[i]``: how sure the caller
    is that word ``i`` belongs in the text). Replacements are half of the draws, insertions a
    quarter, deletions and swaps of neighbours the rest.
    """
    size = len(text)
    if not len(pool):
        pool, pool_weights = ["the"], np.ones(1)
    cum_pool = np.cumsum(pool_weights, dtype=np.float64)
    change = np.clip(1.0 - np.asarray(keep, dtype=np.float64), 0.02, 1.0)
    cum_change = np.cumsum(change) if size else np.zeros(0)

    def new_word() -> str:
        return pool[int(np.searchsorted(cum_pool, rng.random() * cum_pool[-1], side="right"))]

    def weak_position() -> int:
        j = int(np.searchsorted(cum_change, rng.random() * cum_change[-1], side="right"))
        return min(j, size - 1)

    found: dict[tuple[str, ...], Words] = {}
    for _ in range(4 * n):
        if len(found) >= n:
            break
        op = rng.random()
        if size and op < 0.5:
            i, word = weak_position(), new_word()
            if word.casefold() == text.words[i].casefold():
                continue
            edit = text.replace(i, word)
        elif op < 0.75 and size < max_words:
            edit = text.insert(rng.randint(0, size), new_word())
        elif op < 0.9 and size > 1:
            edit = text.delete(weak_position())
        elif size > 1:
            edit = text.swap(rng.randrange(size - 1))
        else:
            continue
        found.setdefault(edit.words + edit.glue, edit)
    return list(found.values())
