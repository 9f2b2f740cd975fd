"""The attacks of the privacy audit: naming them, building them, running them under a budget.

Attack names (``parse_attacks``):

- ``nearest-neighbour``: answer each vector with the attacker's most similar own text
  (``inversion.NearestNeighbourAttack``);
- ``bag-of-words``: a classifier from vectors to the words of their text
  (``inversion.BagOfWordsAttack``);
- ``search``: the CPU attack of ``inversion.invert`` (``inversion.SentenceInverter``): the
  shipped keyword model and the attacker's own records start a word search, SmolLM2 writes its
  words into sentences, the embedder's cosine (with the LM's fluency) decides;
- ``guided``: zero-shot guided decoding with its word search, which queries the embedder while it writes
  (``inversion.GuidedInverter``; skipped with the reason when it cannot be imported);
- ``inverter:PATH``: a trained inverter saved with ``Inverter.save_pretrained``;
- ``train-inverter`` or ``train-inverter:STEPS``: train an ``inversion.Inverter`` on the
  attacker's own (vector, text) pairs for ``STEPS`` steps (default 100) within the budget.

Every attack ends up as an object with ``invert(X) -> list[str]``; the number of embedder
queries it made per text is read from its ``queries_`` (0 when it has none and never queries).
Scoring what an attack wrote is :mod:`embedlens.audit.scoring`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ATTACK_KINDS",
    "AttackContext",
    "AttackRun",
    "AttackSpec",
    "Budget",
    "attack_kind",
    "check_attacks",
    "parse_attacks",
    "parse_budget",
    "run_attack",
]

ATTACK_KINDS: tuple[str, ...] = (
    "nearest-neighbour",
    "bag-of-words",
    "search",
    "guided",
    "inverter",
    "train-inverter",
)
#: attacks that learn from (vector, text) pairs, so an adaptive attacker can retrain them
TRAINABLE: tuple[str, ...] = ("nearest-neighbour", "bag-of-words", "train-inverter")
#: cheap attacks first: what is left of the budget goes to the expensive ones
_COST = {
    "nearest-neighbour": 0,
    "bag-of-words": 1,
    "inverter": 2,
    "search": 3,
    "guided": 3,
    "train-inverter": 4,
}
_VALID = "nearest-neighbour, bag-of-words, search, guided, inverter:PATH, train-inverter[:STEPS]"
_ALIASES = {
    "nn": "nearest-neighbour",
    "bow": "bag-of-words",
    "nearest-neighbor": "nearest-neighbour",
}
DEFAULT_TRAIN_STEPS = 100
#: the audit's zero-shot search: a short LM beam search, then the word search (about 5 s a
#: record on one CPU thread with MiniLM + SmolLM2, after a one-time vocabulary of about 24,000
#: words); attack_options={"guided": {...}} overrides any of them
GUIDED_DEFAULTS: dict[str, Any] = {
    "beam_width": 2,
    "top_k": 4,
    "max_length": 32,
    "max_queries": 1300,
    "edit_queries": 1000,
}
#: the audit's CPU attack (``inversion.SentenceInverter``): at most 1.5 s and 600 queries a
#: record on one CPU thread for the word search and the sentences (a narrower LM beam than the
#: one-liner's), so that the default 5-minute budget attacks many records (more records and
#: tighter intervals, at a weaker attack per record than the 10 s of benchmarks/RESULTS.md);
#: attack_options={"search": {"max_seconds": 10, "max_queries": 2000}} buys the stronger one
SEARCH_DEFAULTS: dict[str, Any] = {"max_queries": 600, "max_seconds": 1.5, "compose_beam": 4}
#: records decoded per step of an expensive attack (the budget is checked between chunks)
CHUNK = 2


@dataclass(frozen=True)
class AttackSpec:
    """One attack as parsed from its name."""

    kind: str
    arg: str | None = None

    @property
    def name(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"

    @property
    def cost(self) -> int:
        return _COST[self.kind]


def attack_kind(name: str) -> str:
    """The kind an attack name stands for (aliases resolved, any ``:ARG`` dropped).

    Raises ``ValueError`` for a name that is no attack.

    Examples
    --------
    >>> attack_kind("nn")
    'nearest-neighbour'
    """
    kind = _ALIASES.get(name.strip().partition(":")[0], name.strip().partition(":")[0])
    if kind not in ATTACK_KINDS:
        raise ValueError(f"unknown attack {name.strip()!r}: valid attacks are {_VALID}")
    return kind


def parse_attacks(names: Sequence[str] | str) -> list[AttackSpec]:
    """Parse attack names (comma-separated or a list), cheapest first; unknown ones raise.

    Examples
    --------
    >>> [a.name for a in parse_attacks("guided,bow")]
    ['bag-of-words', 'guided']
    """
    items = names.split(",") if isinstance(names, str) else list(names)
    out: list[AttackSpec] = []
    for raw in items:
        if not isinstance(raw, str):
            raise TypeError(f"attack names must be strings, got {type(raw).__name__}")
        kind, _, arg = raw.strip().partition(":")
        kind = _ALIASES.get(kind, kind)
        if kind not in ATTACK_KINDS:
            raise ValueError(f"unknown attack {raw.strip()!r}: valid attacks are {_VALID}")
        if kind == "inverter" and not arg:
            raise ValueError(
                "attack 'inverter' needs the directory of a trained inverter: inverter:PATH"
            )
        if (
            kind == "train-inverter"
            and arg
            and not (re.fullmatch(r"[0-9]{1,9}", arg) and int(arg) > 0)
        ):
            raise ValueError(f"attack {raw!r}: the number of steps must be a positive integer")
        if kind in ("nearest-neighbour", "bag-of-words", "search", "guided") and arg:
            raise ValueError(f"attack {raw!r} takes no argument: write {kind!r}")
        spec = AttackSpec(kind, arg or None)
        if spec not in out:
            out.append(spec)
    if not out:
        raise ValueError(f"no attack given: choose from {_VALID}")
    return sorted(out, key=lambda s: s.cost)


#: the class each attack kind builds (its ``__init__`` keywords are the options it takes)
_CLASSES = {
    "nearest-neighbour": "NearestNeighbourAttack",
    "bag-of-words": "BagOfWordsAttack",
    "search": "SentenceInverter",
    "guided": "GuidedInverter",
    "inverter": "Inverter",
    "train-inverter": "Inverter",
}
#: options of ``train-inverter`` that go to ``Inverter.fit`` rather than its ``__init__``
_FIT_OPTIONS = ("batch_size", "lr", "noise_std", "steps")


def attack_option_names(kind: str) -> set[str] | None:
    """The option keys an attack kind takes (None: any, its class takes ``**kwargs``)."""
    import inspect

    import inversion

    cls = getattr(inversion, _CLASSES[kind])
    fn = cls.from_pretrained if kind == "inverter" else cls.__init__
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    names = set(params) - {"self", "cls", "path", "embedder"}
    if kind == "train-inverter":
        names |= set(_FIT_OPTIONS)
    return names


def check_attacks(specs: Sequence[AttackSpec], options: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, before any model loads, what would make an attack fail later.

    An ``inverter:PATH`` whose folder holds no saved inverter (``config.json``), and an option
    key that the attack's class does not take, raise ``ValueError`` naming the fix.
    """
    from pathlib import Path

    for spec in specs:
        if spec.kind == "inverter":
            path = Path(str(spec.arg)).expanduser()
            if not (path / "config.json").is_file():
                what = "does not exist" if not path.exists() else "holds no config.json"
                raise ValueError(
                    f"attack {spec.name!r}: {str(path)!r} {what}; pass the folder of an "
                    "inverter saved with Inverter.save_pretrained (or train one with "
                    "`embedlens train-inverter`)"
                )
    for kind, opts in options.items():
        known = attack_option_names(kind)
        if known is None:
            continue
        unknown = sorted(set(opts) - known)
        if unknown:
            import difflib

            hints = [difflib.get_close_matches(k, sorted(known), n=1) for k in unknown]
            hint = "; ".join(
                f"{k!r}: did you mean {h[0]!r}?" for k, h in zip(unknown, hints, strict=True) if h
            )
            raise ValueError(
                f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                f"for the attack {kind!r}"
                + (f" ({hint})" if hint else "")
                + f": it takes {', '.join(sorted(known))}"
            )


# --------------------------------------------------------------------------- budget


@dataclass
class Budget:
    """Time (seconds) and embedder-query limits for the attacks; None means unlimited."""

    seconds: float | None = None
    queries: int | None = None
    spent_seconds: float = 0.0
    spent_queries: int = 0
    #: the fraction kept back from the attacks' shares (for attacking the defenses)
    reserve: float = 0.0

    @property
    def text(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s")
        if self.queries is not None:
            parts.append(f"{self.queries} embedder queries")
        return " and ".join(parts) if parts else "unlimited"

    def share(self, attacks_left: int) -> tuple[float | None, int | None]:
        """What the next attack may spend: an equal share of what is left."""
        k = max(attacks_left, 1)
        keep = 1.0 - self.reserve
        secs = (
            None if self.seconds is None else max(self.seconds * keep - self.spent_seconds, 0.0) / k
        )
        qs = (
            None
            if self.queries is None
            else max(int(self.queries * keep) - self.spent_queries, 0) // k
        )
        return secs, qs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_budget(budget: Any) -> Budget:
    """``None``, seconds (a number), or text such as ``"10m"``, ``"90s"``, ``"5000q"``, ``"5m,2000q"``.

    Examples
    --------
    >>> b = parse_budget("2m,500q")
    >>> b.seconds, b.queries
    (120.0, 500)
    """
    if budget is None or isinstance(budget, Budget):
        return budget if isinstance(budget, Budget) else Budget()
    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        try:
            seconds = float(budget)
        except OverflowError:  # an int beyond any float
            seconds = float("inf")
        if not 0 < seconds < float("inf"):
            raise ValueError(f"budget must be a finite number of seconds > 0, got {budget!r}")
        return Budget(seconds=seconds)
    if not isinstance(budget, str):
        raise TypeError(f"budget must be seconds or text like '10m' or '5000q', got {budget!r}")
    out = Budget()
    bad = ValueError(
        f"cannot read the budget {budget[:80]!r}: write a time such as '10m', '90s' or "
        "'1h', a query count such as '5000q', or both: '10m,5000q'"
    )
    for part in budget.replace(" ", "").lower().split(","):
        m = re.fullmatch(r"([0-9]{1,12}(?:\.[0-9]{1,12})?)(s|sec|m|min|h|q|queries)?", part)
        if m is None or not float(m.group(1)) > 0:
            raise bad
        unit = m.group(2) or "s"
        if unit in ("q", "queries"):
            if out.queries is not None or not float(m.group(1)).is_integer():
                raise bad  # two query counts, or a fraction of a query
            out.queries = int(float(m.group(1)))
        else:
            if out.seconds is not None:
                raise bad  # two times
            out.seconds = float(m.group(1)) * _UNITS[unit]
    return out


# --------------------------------------------------------------------------- running


@dataclass
class AttackContext:
    """What every attack may use: the embedder, the attacker's own data and the options."""

    embedder: Any
    own_texts: list[str]
    own_X: np.ndarray
    seed: int = 0
    device: str | None = None
    progress: bool | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def opts(self, kind: str) -> dict[str, Any]:
        return dict(self.options.get(kind, {}))


@dataclass
class AttackRun:
    """The outcome of one attack before scoring."""

    hypotheses: list[str]
    queries: np.ndarray  # embedder queries per attacked record
    seconds: float
    train_seconds: float
    training_queries: int
    note: str | None = None
    attack: Any = None


def build_attack(
    spec: AttackSpec, ctx: AttackContext, X_train: np.ndarray, *, time_limit: float | None = None
) -> Any:
    """A fitted attack; trainable ones learn from ``(X_train, ctx.own_texts)``."""
    kind, emb = spec.kind, ctx.embedder
    if kind == "nearest-neighbour":
        from inversion import NearestNeighbourAttack

        nn_opts = {"progress": ctx.progress, **ctx.opts(kind)}
        return NearestNeighbourAttack(emb, **nn_opts).fit(ctx.own_texts, aux_embeddings=X_train)
    if kind == "bag-of-words":
        from inversion import BagOfWordsAttack

        opts = {"random_state": ctx.seed, "progress": ctx.progress, **ctx.opts(kind)}
        return BagOfWordsAttack(**opts).fit(X_train, ctx.own_texts)
    if kind == "inverter":
        from inversion import Inverter

        # from_pretrained refuses an inverter saved for another embedder (its fingerprint)
        opts = {"device": ctx.device, **ctx.opts(kind)}
        return Inverter.from_pretrained(str(spec.arg), embedder=emb, **opts)
    if kind == "search":
        from inversion import SentenceInverter

        opts = {**SEARCH_DEFAULTS, "seed": ctx.seed, "progress": ctx.progress, **ctx.opts(kind)}
        # the attacker's own records start the search; their vectors are known already
        return SentenceInverter(emb, **opts).fit(ctx.own_texts, aux_vectors=X_train)
    if kind == "guided":
        from inversion import GuidedInverter

        opts = {
            "decoder": "smollm2",
            **GUIDED_DEFAULTS,
            "device": ctx.device,
            "progress": ctx.progress,
            **ctx.opts(kind),
        }
        # the vocabulary is embedded now, so its cost counts as setup, not per record
        return GuidedInverter(embedder=emb, **opts).prepare()
    if kind == "train-inverter":
        from inversion import Inverter

        opts = ctx.opts(kind)
        fit_opts = {k: opts.pop(k) for k in _FIT_OPTIONS if k in opts and k != "steps"}
        fit_opts.setdefault("batch_size", 8)
        steps = int(spec.arg) if spec.arg else int(opts.pop("steps", DEFAULT_TRAIN_STEPS))
        opts.pop("steps", None)
        init = {"decoder": "smollm2", "prefix_tokens": 8, "max_length": 64, **opts}
        inv = Inverter(embedder=emb, device=ctx.device, **init)
        return inv.fit(
            ctx.own_texts,
            vectors=X_train,
            steps=steps,
            seed=ctx.seed,
            progress=ctx.progress,
            time_limit=time_limit,
            **fit_opts,
        )
    raise ValueError(f"unknown attack {kind!r}: valid attacks are {_VALID}")


def run_attack(
    spec: AttackSpec,
    ctx: AttackContext,
    X_victims: np.ndarray,
    *,
    seconds: float | None = None,
    queries: int | None = None,
    X_train: np.ndarray | None = None,
    attack: Any = None,
) -> AttackRun:
    """Build (or reuse) the attack and invert as many victims as the budget share allows.

    Cheap attacks (nearest neighbour, bag of words) invert every vector at once. Expensive ones
    decode :data:`CHUNK` records at a time and stop before a chunk that would overrun the
    time share (predicted from the chunks so far) or the query share; the first chunk always
    runs. The note says how the attack was scaled down.
    """
    start = time.perf_counter()
    counter = getattr(ctx.embedder, "queries", None)
    before = counter if isinstance(counter, int) else None
    own_queries = 0
    if attack is None:
        # training may take half of a time share; decoding the victims gets the rest
        limit = seconds / 2 if seconds is not None and spec.kind == "train-inverter" else None
        X_own = ctx.own_X if X_train is None else X_train
        attack = build_attack(spec, ctx, X_own, time_limit=limit)
        # a trainable attack needed the vectors of its own records: one query per record
        own_queries = len(ctx.own_texts) if spec.kind in TRAINABLE else 0
    train_seconds = time.perf_counter() - start
    training_queries = own_queries + _count(ctx.embedder, before)
    n = X_victims.shape[0]
    step = max(n, 1) if spec.kind in ("nearest-neighbour", "bag-of-words") else CHUNK
    hyps: list[str] = []
    per_text: list[float] = []  # embedder queries of each attacked text
    chunk_times: list[float] = []
    used = 0
    note = None
    for s in range(0, n, step):
        elapsed = time.perf_counter() - start
        pace = float(np.mean(chunk_times)) if chunk_times else 0.0
        if chunk_times and seconds is not None and elapsed + pace > seconds:
            note = _scaled_note(len(hyps), n, f"its {seconds:.0f} s share of the time budget")
            break
        per_chunk = float(np.mean(per_text)) * CHUNK if per_text else 0.0
        if per_text and queries is not None and used + per_chunk > queries:
            note = _scaled_note(len(hyps), n, f"its {queries} embedder-query share")
            break
        t = time.perf_counter()
        mark = getattr(ctx.embedder, "queries", None)
        out = [str(h) for h in attack.invert(X_victims[s : s + step])]
        chunk_times.append(time.perf_counter() - t)
        q = _per_text_queries(attack, len(out))
        if not q.any() and isinstance(mark, int):
            q = np.full(len(out), _count(ctx.embedder, mark) / max(len(out), 1))
        hyps.extend(out)
        per_text.extend(q.tolist())
        used += int(q.sum())
    if spec.kind == "train-inverter":
        history = attack.history_
        final, steps = getattr(history, "final_loss", None), getattr(history, "steps", None)
        loss = "" if final is None else f" (final loss {final:.2f})"
        steps = steps if isinstance(steps, int) else 0
        trained = f"trained {steps} steps in {train_seconds:.0f} s{loss}"
        stop = [r for r in history.history if r.get("event") == "time_limit"]
        if stop:
            trained += (
                f", stopped at step {stop[-1]['step']} of {stop[-1]['of']} by the time budget"
            )
        note = trained if note is None else f"{trained}; {note}"
    return AttackRun(
        hyps,
        np.asarray(per_text, dtype=np.float64),
        time.perf_counter() - start,
        train_seconds,
        training_queries,
        note=note,
        attack=attack,
    )


def _scaled_note(done: int, n: int, why: str) -> str:
    return f"attacked {done} of {n} records within {why}; its rates are over those {done}"


def _count(embedder: Any, before: int | None) -> int:
    now = getattr(embedder, "queries", None)
    return int(now - before) if isinstance(now, int) and before is not None else 0


def _per_text_queries(attack: Any, n: int) -> np.ndarray:
    q = getattr(attack, "queries_", None)
    if q is None:
        return np.zeros(n)
    arr = np.asarray(q, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        return np.full(n, float(arr[0]))
    return arr[-n:] if arr.size >= n else np.pad(arr, (0, n - arr.size))
