"""The privacy audit itself: :func:`audit`, from its inputs to an :class:`AuditResult`.

It loads the inputs, decides who attacks whom and runs the stages of
:mod:`embedlens.audit.stages` in order. This module is light (numpy, the models and the other
packages load when :func:`audit` runs), so ``import embedlens`` binds ``embedlens.audit`` to
:func:`audit` at once.

Who is who: the *victims* are the audited records, whose vectors leak. The *attacker* holds
only those vectors and data of its own: for the built-in ``pii`` corpus, synthetic records of
other people (another seed); for any other corpus, one half of it (the victims are the other
half) unless ``attacker_corpus`` is given.
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from embedlens._version import __version__
from embedlens.data import Corpus, load_corpus, split_indices

if TYPE_CHECKING:
    import numpy as np

    from embedlens.audit.result import AuditResult

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_ATTACKS", "DEFAULT_DEFENSES", "DEFENSE_ATTACKS", "AuditError", "audit"]

DEFAULT_ATTACKS: tuple[str, ...] = ("nearest-neighbour", "bag-of-words", "search")
#: retrieval utility is measured with at most this many queries (against every record)
MAX_UTILITY_QUERIES = 2000
#: the default defenses; LEACE of the corpus' first label column is added when it has labels
DEFAULT_DEFENSES: tuple[str, ...] = ("noise", "int8", "binary", "truncate")
#: attacks retrained against each defense (the cheap, trainable ones)
DEFENSE_ATTACKS: tuple[str, ...] = ("nearest-neighbour", "bag-of-words")


class AuditError(RuntimeError):
    """The audit had to stop; the message says why and what was kept."""


def audit(
    embedder: Any = "minilm",
    corpus: Any = "pii",
    *,
    attacks: Sequence[str] | str = DEFAULT_ATTACKS,
    defenses: Sequence[str] | str | None = None,
    budget: Any = "5m",
    engine: Any = "local",
    seed: int = 0,
    progress: bool | None = None,
    records: int | None = 300,
    column: str | None = None,
    attacker_corpus: Any = None,
    cache: Any = None,
    device: str | None = None,
    attack_options: Mapping[str, Mapping[str, Any]] | None = None,
    defense_attacks: Sequence[str] = DEFENSE_ATTACKS,
    bootstrap: int = 200,
    map_method: str = "pca",
    batch_size: int = 64,
    log: Callable[[str], None] | None = None,
) -> AuditResult:
    """Attack ``embedder`` on ``corpus``: what leaks, at what cost, and what defenses buy.

    Parameters
    ----------
    embedder
        Any spec of :func:`~embedlens.embedders.load_embedder` (default the built-in MiniLM;
        a function embedder for a remote API works too).
    corpus
        A built-in corpus name (default ``"pii"``, synthetic records with ground truth), a file
        :func:`~embedlens.data.load_texts` reads, a list of texts or a
        :class:`~embedlens.data.Corpus`.
    attacks
        Names (a list or comma-separated): ``nearest-neighbour``, ``bag-of-words``,
        ``guided``, ``inverter:PATH``, ``train-inverter[:STEPS]``. An attack that cannot be
        imported or fails is skipped with the reason; the audit goes on.
    defenses
        Names of :mod:`embedlens.audit.defenses` (``noise``, ``noise:S``, ``int8``,
        ``binary``, ``truncate``, ``truncate:K``, ``leace:ATTR``). None: the default sweep,
        plus LEACE of the first label column when the corpus has labels. ``[]``: none.
    budget
        For the attacks: seconds, or text such as ``"10m"``, ``"5000q"`` or ``"10m,5000q"``
        (None: unlimited). Each attack gets an equal share of what is left; expensive attacks
        decode fewer records when their share runs out, and the result says so.
    engine
        ``"local"`` or ``"ray"`` (see :func:`embedlens.engine.get_engine`), or an engine: it
        embeds the corpus and scores the records.
    seed
        Seeds the attacker's data, the defenses' noise, the probes' folds and the bootstrap.
    records
        For generated corpora (``pii``): how many records; for others: keep the first N
        (None: all).
    attacker_corpus
        The attacker's own texts (a corpus spec); default as described in the module notes.
    cache
        An embedding cache (a path) attached to the embedder: a run that stops midway keeps
        what it embedded, and a re-run resumes from there.
    attack_options
        Per attack kind, keyword arguments of its class, e.g.
        ``{"guided": {"beam_width": 2}, "train-inverter": {"decoder": "smollm2"}}``. Options
        for an attack this audit does not run (in ``attacks`` or ``defense_attacks``) are
        refused, so a mistyped name never goes unnoticed.
    defense_attacks
        The attacks retrained against each defense (trainable ones only).
    bootstrap
        Bootstrap rounds of the confidence intervals (0: none).
    map_method
        Layout of the corpus map (``"pca"``, ``"umap"`` or ``"tsne"``).
    log
        Called with one line per stage (the CLI prints them).

    Returns
    -------
    AuditResult

    Raises
    ------
    ValueError
        For an empty corpus, unknown attack or defense names, or a bad budget.
    AuditError
        When the embedder fails: what was embedded stays in the cache for the next run.

    Examples
    --------
    >>> from embedlens import FunctionEmbedder
    >>> toy = FunctionEmbedder(lambda texts: [[len(t), t.count(" ")] for t in texts], name="toy")
    >>> r = audit(toy, "pii", records=40, attacks=["nn"], defenses=["noise:0.5"], bootstrap=0,
    ...           progress=False)
    >>> r.attacks["nearest-neighbour"]["status"], [d["name"] for d in r.defenses]
    ('ran', ['none', 'noise:0.5'])
    """
    from embedlens.audit.attacks import (
        TRAINABLE,
        AttackContext,
        check_attacks,
        parse_attacks,
        parse_budget,
    )
    from embedlens.audit.defended import DEFENSE_SHARE, run_defenses, utility_of
    from embedlens.audit.defenses import parse_defenses
    from embedlens.audit.result import AuditResult
    from embedlens.audit.scoring import prior_rates
    from embedlens.audit.stages import (
        attribute_inference,
        map_records,
        probe_outcomes,
        run_attacks,
    )
    from embedlens.audit.summary import summarize
    from embedlens.embedders import load_embedder
    from embedlens.engine import get_engine

    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    def say(message: str) -> None:
        logger.info(message)
        if log is not None:
            log(message)

    specs = parse_attacks(attacks)
    adaptive_specs = [
        s for s in parse_attacks(list(defense_attacks) or ["nn"]) if s.kind in TRAINABLE
    ]
    options = check_attack_options(attack_options, [*specs, *adaptive_specs])
    check_attacks([*specs, *adaptive_specs], options)  # paths and option keys, before any model
    plan = parse_budget(budget)
    victims, own, split_note = _corpora(corpus, attacker_corpus, records, column, seed)
    names = defenses
    if names is None:  # the default sweep, plus LEACE of the first label column
        names = [*DEFAULT_DEFENSES, *[f"leace:{a}" for a in list(victims.labels)[:1]]]
    parse_defenses(names, dim=2**31, labels=victims.labels)  # bad names fail before any model loads
    emb = load_embedder(embedder, device=device) if not hasattr(embedder, "embed") else embedder
    if cache is not None:
        if not hasattr(emb, "with_cache"):
            raise TypeError(f"cache= needs an embedlens embedder, got {type(emb).__name__}")
        emb.with_cache(cache)
    try:
        dim = int(emb.dim)
    except Exception as err:
        raise AuditError(
            f"the embedder {getattr(emb, 'name', emb)!r} failed on its first call "
            f"({type(err).__name__}: {err}); nothing was computed yet"
        ) from err
    dspecs = parse_defenses(names, dim=dim, labels=victims.labels)
    if dspecs and any(s.kind not in TRAINABLE or s.kind == "train-inverter" for s in specs):
        plan.reserve = DEFENSE_SHARE  # the expensive attacks also attack every defense
    eng = get_engine(engine) if isinstance(engine, str) else engine
    try:
        say(f"corpus: {len(victims)} victim records, {len(own)} attacker records ({split_note})")
        t = time.perf_counter()
        embed = partial(_embed, eng, emb, batch_size=batch_size, progress=progress, say=say)
        X = embed(victims.texts, "victim records")
        own_X = embed(own.texts, "attacker's records")
        queries, recipe = _utility_queries(victims)
        targets = _sample(len(queries), MAX_UTILITY_QUERIES)
        Q = embed([queries[i] for i in targets], "retrieval queries")
        timings["embed"] = time.perf_counter() - t
        say(f"embedded with {emb.name} (dim {dim}) in {timings['embed']:.1f}s")

        utility = {**utility_of(Q, X, targets, bootstrap, seed), "queries": recipe}
        t = time.perf_counter()
        clean_probes = probe_outcomes(X, victims.labels, seed=seed)
        attributes = attribute_inference(
            X, victims.labels, seed=seed, n_bootstrap=bootstrap, outcomes=clean_probes
        )
        timings["attributes"] = time.perf_counter() - t

        ctx = AttackContext(
            embedder=emb,
            own_texts=own.texts,
            own_X=own_X,
            seed=seed,
            device=device,
            progress=progress,
            options=options,
        )
        t = time.perf_counter()
        attack_results, fitted = run_attacks(
            specs, ctx, X, victims, eng, plan, bootstrap, seed, say
        )
        timings["attacks"] = time.perf_counter() - t

        t = time.perf_counter()
        defense_results, defense_sample = run_defenses(
            dspecs,
            adaptive_specs,
            ctx,
            X,
            (Q, targets),
            victims,
            fitted,
            eng,
            seed,
            say,
            attacks=attack_results,
            plan=plan,
            bootstrap=bootstrap,
            clean_probes=clean_probes,
        )
        timings["defenses"] = time.perf_counter() - t

        t = time.perf_counter()
        records_out = map_records(X, victims, attack_results, map_method, seed)
        if victims.fields:  # what --redact masks (the texts hold them anyway)
            from embedlens.audit.redact import IDENTIFYING_FIELDS

            records_out["identifying"] = [
                {k: str(f[k]) for k in IDENTIFYING_FIELDS if f.get(k)} for f in victims.fields
            ]
        timings["map"] = time.perf_counter() - t
    finally:
        if isinstance(engine, str):
            eng.close()
    timings["total"] = time.perf_counter() - t_start
    config = {
        "embedder": {"name": emb.name, "dim": dim, "fingerprint": emb.fingerprint},
        "corpus": {
            "name": victims.name,
            "records": len(victims),
            "fields": victims.fields is not None,
        },
        "attacker": {"records": len(own), "source": split_note},
        "attacks": [s.name for s in specs],
        "defenses": [d.name for d in dspecs],
        "defense_attacks": [s.name for s in adaptive_specs],
        "defense_sample": defense_sample,
        "budget": plan.to_dict() | {"text": plan.text},
        "engine": getattr(eng, "name", type(eng).__name__),
        "seed": seed,
        "bootstrap": bootstrap,
        "embedlens_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(device),
    }
    summary = summarize(
        attack_results,
        attributes,
        utility,
        defense_results,
        plan,
        prior_rates(victims, own),
        attacker_records=len(own),
    )
    say(f"done in {timings['total']:.0f}s: status {summary['status']}, risk {summary['risk']}")
    return AuditResult(
        config=config,
        summary=summary,
        utility=utility,
        attacks=attack_results,
        attributes=attributes,
        defenses=defense_results,
        records=records_out,
        timings=timings,
    )


# --------------------------------------------------------------------------- inputs


def check_attack_options(options: Any, running: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """``attack_options`` keyed by attack kind (aliases such as ``"nn"`` resolved), checked.

    Raises ``TypeError`` for options that are not a mapping of mappings with string keys, and
    ``ValueError`` for an unknown attack, an attack not in ``running`` (the
    :class:`~embedlens.audit.attacks.AttackSpec` s the audit runs) or a key that is not a
    keyword name.
    """
    from embedlens.audit.attacks import attack_kind

    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(
            f"attack_options must map attack names to keyword dicts, got {type(options).__name__}"
        )
    kinds = sorted({s.kind for s in running})
    out: dict[str, dict[str, Any]] = {}
    for name, opts in options.items():
        if not isinstance(name, str):
            raise TypeError(f"attack_options keys must be attack names, got {name!r}")
        kind = attack_kind(name)
        if kind not in kinds:
            raise ValueError(
                f"options were given for the attack {name!r} (--option {name}.KEY=VALUE), but "
                f"this audit does not run it (it runs {', '.join(kinds)}): add it to the "
                "attacks, or drop the option"
            )
        if not isinstance(opts, Mapping):
            raise TypeError(
                f"attack_options[{name!r}] must be a dict of keyword arguments, got "
                f"{type(opts).__name__}"
            )
        for key in opts:
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(
                    f"attack_options[{name!r}] has the key {key!r}, which is not a keyword "
                    "argument name: write e.g. beam_width"
                )
        out.setdefault(kind, {}).update(opts)
    return out


def _load(source: Any, records: int | None, column: str | None, seed: int) -> Corpus:
    if isinstance(source, Corpus):
        return (
            source if records is None or len(source) <= records else source.subset(range(records))
        )
    if source == "pii":
        return load_corpus("pii", n=records, seed=seed)
    return load_corpus(source, column=column, limit=records)


def _nonempty(c: Corpus, what: str) -> Corpus:
    keep = [i for i, t in enumerate(c.texts) if t.strip()]
    if not keep:
        raise ValueError(
            f"the {what} {c.name!r} has no records with text ({len(c)} empty or blank): pass "
            "a corpus with at least a few non-empty texts"
        )
    if len(keep) < len(c):
        logger.warning("dropped %d empty records of %r", len(c) - len(keep), c.name)
        c = c.subset(keep)
    return c


def _corpora(
    corpus: Any, attacker: Any, records: int | None, column: str | None, seed: int
) -> tuple[Corpus, Corpus, str]:
    """(victims, the attacker's own corpus, how the attacker's data was made)."""
    full = _nonempty(_load(corpus, records, column, seed), "corpus")
    if attacker is not None:
        own = _nonempty(_load(attacker, None, column, seed), "attacker corpus")
        return full, own, "the attacker corpus given"
    if corpus == "pii":
        own = _load("pii", max(len(full), 200), None, seed + 1)
        return full, own, f"synthetic records of other people (pii, seed {seed + 1})"
    if len(full) < 4:
        raise ValueError(
            f"the corpus has {len(full)} records: with no attacker corpus, half of it trains "
            "the attacker, so pass at least 4 records (or attacker_corpus=...)"
        )
    train_idx, test_idx = split_indices(full.texts, test_size=0.5, seed=seed)
    train, test = [int(i) for i in train_idx], [int(i) for i in test_idx]
    if not train or not test:
        half = len(full) // 2
        train, test = list(range(half)), list(range(half, len(full)))
    return (
        full.subset(test),
        full.subset(train),
        "half of the corpus; the victims are the other half",
    )


def _embed(
    eng: Any,
    emb: Any,
    texts: list[str],
    what: str,
    *,
    batch_size: int,
    progress: bool | None,
    say: Callable[[str], None],
) -> np.ndarray:
    """Embed ``texts`` (the ``what`` of the audit) with ``emb`` on ``eng``, after a stage line
    with the counts: without a terminal (no progress bar) it is what a log shows meanwhile."""
    import numpy as np

    store = getattr(emb, "cache", None)
    known = ""
    if store is not None:
        found = sum(v is not None for v in store.get_many(emb.fingerprint, texts))
        known = f" ({found} already in the cache)"
    say(f"embedding {len(texts)} {what} with {emb.name}{known}")
    try:
        return np.asarray(
            eng.embed(emb, texts, batch_size=batch_size, progress=progress), dtype=np.float32
        )
    except Exception as err:
        store = getattr(emb, "cache", None)
        if store is not None:
            kept = (
                f"the {store.count(emb.fingerprint)} vectors of this embedder computed so far are "
                f"kept in the cache {str(store.path)!r}: run the audit again to resume from there"
            )
        else:
            kept = "no cache was attached, so nothing is kept: pass cache=... to resume a re-run"
        raise AuditError(
            f"the embedder {emb.name!r} failed while embedding the {what} "
            f"({type(err).__name__}: {err}); {kept}"
        ) from err


def _machine(device: str | None) -> str:
    """The machine in words: OS, CPU, cores, Python, torch and the device asked for."""
    import sys

    torch = sys.modules.get("torch")
    parts = [
        platform.platform(terse=True),
        platform.machine() or "unknown CPU",
        f"{os.cpu_count() or '?'} CPUs",
        f"Python {platform.python_version()}",
    ]
    if torch is not None:
        parts.append(f"torch {getattr(torch, '__version__', '?')}")
    parts.append(f"device {device or 'auto'}")
    return ", ".join(parts)


def _sample(n: int, at_most: int) -> np.ndarray:
    """``range(n)``, or ``at_most`` evenly spaced positions of it."""
    import numpy as np

    if n <= at_most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, at_most).round().astype(np.int64))


def _utility_queries(c: Corpus) -> tuple[list[str], str]:
    """Queries built from parts of each record: name + city for pii, else its first half."""
    if c.fields and all(f.get("name") and f.get("city") for f in c.fields):
        return [f"{f['name']}, {f['city']}" for f in c.fields], "name + city"
    out = []
    for t in c.texts:
        words = t.split()
        out.append(" ".join(words[: max(1, len(words) // 2)]))
    return out, "the first half of each record's words"
