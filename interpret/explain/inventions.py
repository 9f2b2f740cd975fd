"""Is an explanation right about its text? Inventions and the text's subject, checked by words.

Two automatic checks of an answer against the text whose vector it explains:

- an *invention* is a word of :data:`INVENTION_WORDS` ("fictional", "story", "character"...)
  in the answer that the text does not contain (in any form: "stories" counts for "story"). A
  research finding or a password request explained as "a fictional character who..." is one.
- the answer *names the subject* when it shares at least one content word with the text: a
  word of three letters or more, not a stop word (:data:`inversion.bow.ENGLISH_STOPWORDS` has
  them; a short list stands in here so the base stays free of ``inversion``), compared after a
  light stemming (lower case; a plural or ``-ing``/``-ed`` ending dropped).

Both are crude on purpose: they are stated, cheap, and cannot be tuned against. A judge
embedder's cosine (:func:`~interpret.explain.evaluate_explanations` with ``judge=``) hides an
invention that shares the text's topic words; these counts show it.

:func:`invention_bans` turns the list into a decoding constraint: the token sequences of
invention words that no reading of the batch contains, for ``model.generate(bad_words_ids=...)``.

Examples
--------
>>> check = check_answers(["a fictional story about a bank"], ["I lost my bank card."])
>>> check.invented.tolist(), check.on_subject.tolist()
([True], [True])
>>> check.words[0]
['fictional', 'story']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["INVENTION_WORDS", "AnswerCheck", "check_answers", "content_words", "invention_bans"]

#: what the explainer invents when it cannot read a text: fiction it was never shown
INVENTION_WORDS: tuple[str, ...] = (
    "fictional",
    "fiction",
    "fictitious",
    "story",
    "character",
    "novel",
    "imaginary",
    "fantasy",
    "fairy",
    "tale",
    "fable",
    "myth",
    "mythical",
    "legend",
    "protagonist",
    "narrative",
)

_STOP_TEXT = (
    "the and for are was were that this with from into onto over under about after before "
    "than then them they their there these those what which who whom whose when where why "
    "how its it's his her hers our ours your yours you she him has have had having been being "
    "does did doing can could would should will shall may might must not nor but also very "
    "just only some any all each every more most much many such own same other another one "
    "two text about answer here there out off again once few both too can't don't isn't "
    "is be do an a of to in on at by as or if so no up we i me my"
)
_STOP = frozenset(_STOP_TEXT.split())
_TOKEN = re.compile(r"[a-z][a-z'-]*")


def _stem(word: str) -> str:
    """A light stem: ``stories`` -> ``story``, ``character's`` -> ``character``, ``banks`` ->
    ``bank``, ``rated`` -> ``rat``."""
    word = word.removesuffix("'s").strip("'-")
    if word.endswith("ss"):
        return word
    for end, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: len(word) - len(end)] + repl
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _TOKEN.findall(text.lower())}


def content_words(text: str) -> set[str]:
    """The stems of ``text``'s content words: three letters or more, no stop word."""
    if not isinstance(text, str):
        raise TypeError(f"content_words expects a string, got {type(text).__name__}")
    words = (w.strip("'-") for w in _TOKEN.findall(text.lower()))
    return {_stem(w) for w in words if len(w) >= 3 and w not in _STOP}


@dataclass(frozen=True)
class AnswerCheck:
    """Per answer: its inventions and whether it names its text's subject.

    Attributes
    ----------
    invented : numpy.ndarray
        Per answer, True where it holds an invention word its text lacks.
    on_subject : numpy.ndarray
        Per answer, True where it shares a content word with its text.
    words : list of list of str
        Per answer, the invention words it holds that its text lacks.
    """

    invented: np.ndarray
    on_subject: np.ndarray
    words: list[list[str]]

    @property
    def invention_rate(self) -> float:
        """The share of answers with an invention (NaN for no answers)."""
        return float(self.invented.mean()) if self.invented.size else float("nan")

    @property
    def subject_rate(self) -> float:
        """The share of answers that name their text's subject (NaN for no answers)."""
        return float(self.on_subject.mean()) if self.on_subject.size else float("nan")


def check_answers(
    answers: Sequence[str],
    references: Sequence[str],
    *,
    words: Sequence[str] = INVENTION_WORDS,
) -> AnswerCheck:
    """Check each answer against the text it explains: inventions, and the subject named.

    Parameters
    ----------
    answers
        The explanations (or any texts said about the references).
    references
        The texts whose vectors were explained, one per answer.
    words
        The invention words (default :data:`INVENTION_WORDS`), compared by their light stems.

    Examples
    --------
    >>> check_answers(["rates and inflation"], ["The bank raised rates."]).subject_rate
    1.0
    """
    for name, items in (("answers", answers), ("references", references)):
        if isinstance(items, str) or not all(isinstance(t, str) for t in items):
            raise TypeError(f"{name} must be a list of strings, got {type(items).__name__}")
    if len(answers) != len(references):
        raise ValueError(
            f"check_answers needs one reference text per answer, got {len(answers)} answers "
            f"and {len(references)} references"
        )
    stems = {_stem(w.lower()): w.lower() for w in words}
    found: list[list[str]] = []
    on_subject: list[bool] = []
    for answer, ref in zip(answers, references, strict=True):
        said, known = _stems(answer), _stems(ref)
        found.append(sorted(stems[s] for s in said if s in stems and s not in known))
        on_subject.append(bool(content_words(answer) & content_words(ref)))
    return AnswerCheck(
        invented=np.array([bool(f) for f in found], dtype=bool),
        on_subject=np.array(on_subject, dtype=bool),
        words=found,
    )


def invention_bans(
    tokenizer: Any, readings: Sequence[str] | None, words: Sequence[str] = INVENTION_WORDS
) -> list[list[int]]:
    """Token sequences of the invention words no reading contains, for ``bad_words_ids``.

    Each word is banned as it starts a sentence and inside one (``"story"``, ``" story"``,
    ``" Story"``, plurals too); a word that a reading holds (the vector reads as a story) stays
    allowed for the whole call.
    """
    allowed = set().union(*(_stems(r) for r in readings)) if readings else set()
    bans: list[list[int]] = []
    for word in words:
        if _stem(word.lower()) in allowed:
            continue
        plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
        for form in (word, plural):
            for variant in (form, " " + form, form.capitalize(), " " + form.capitalize()):
                ids = list(tokenizer(variant, add_special_tokens=False)["input_ids"])
                if ids and ids not in bans:
                    bans.append(ids)
    return bans
