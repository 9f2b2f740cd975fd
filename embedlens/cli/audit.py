"""``embedlens audit`` (and ``embedlens demo``, the default audit): the CLI of the privacy audit.

:func:`run_audit_command` runs what an ``audit`` or ``demo`` namespace describes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

from embedlens._utils import torch_threads
from embedlens.cli.common import (
    add_alias,
    add_flags,
    add_out,
    embedder_from_spec,
    from_args,
    refuse_existing,
)

__all__ = ["register", "run_audit_command"]

_DEFAULT_ATTACKS = "nearest-neighbour,bag-of-words,search"
_DECODER_ATTACKS = ("guided", "train-inverter")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "audit",
        help="attack an embedder on a corpus, weigh defenses, write an HTML report",
        description="Attack the vectors of a corpus (what text, which names, emails and "
        "attributes can be recovered, at what cost), measure what each defense costs in "
        "retrieval quality, and write OUT/index.html (self-contained, offline) and "
        "OUT/result.json. With --compare A B, print the difference of two results instead.",
    )
    _add_audit_args(p, out_default="audit-report")
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="diff two result.json files (or report directories) and exit",
    )
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser(
        "demo",
        help="the default privacy audit of the built-in MiniLM on synthetic PII records",
        description="Run the default audit (built-in MiniLM, 300 synthetic personal records, "
        "nearest-neighbour, bag-of-words and zero-shot guided attacks, the default defense "
        "sweep) and write the report to demo-out/ (replaced on every run). Takes at most 10 "
        "minutes on a 2-core CPU.",
    )
    _add_audit_args(p, out_default="demo-out")
    p.add_argument(
        "--no-decoder",
        action="store_true",
        help="skip the attacks that need the SmolLM2 decoder (guided, train-inverter)",
    )
    p.set_defaults(func=partial(run_audit_command, overwrite=True))

    p = sub.add_parser(
        "report",
        help="write the report of an audit's result.json again: HTML, redacted, or PDF",
        description="Read a result.json of `embedlens audit` (or its report folder) and write "
        "its report to OUT (a folder with index.html; with --pdf, also report.pdf in it).",
    )
    p.add_argument("result", help="result.json of an audit, or its report folder")
    p.add_argument("--pdf", action="store_true", help="also print the page to OUT/report.pdf")
    p.add_argument("--redact", action="store_true", help="mask identifying fields")
    add_out(p, "report folder to write", default="audit-report-copy", what="report directory")
    p.set_defaults(func=_cmd_report)


def _add_audit_args(p: argparse.ArgumentParser, *, out_default: str) -> None:
    add_flags(
        p,
        "embedder",
        help="built-in name, hub id or model directory, or py:MODULE:FUNCTION for a function "
        "texts -> vectors (e.g. a client of a remote embedding API)",
    )
    add_flags(p, "device")
    add_flags(
        p,
        "cache",
        help="embedding cache file (default: the embedlens cache directory); an interrupted "
        "run resumes from it",
    )
    p.add_argument("--no-cache", action="store_true", help="embed everything anew, keep nothing")
    add_flags(p, "corpus", "column")
    limit = add_flags(
        p,
        "limit",
        dest="records",
        metavar="LIMIT",
        default=300,
        help="records to audit: generated (built-in pii) or the first N of the corpus",
    )
    add_alias(p, limit, "--records")  # its old name
    p.add_argument(
        "--attacker-corpus", help="the attacker's own texts (default: see the report's notes)"
    )
    p.add_argument(
        "--attacks",
        default=_DEFAULT_ATTACKS,
        help="comma-separated: nearest-neighbour, bag-of-words, guided, inverter:PATH, "
        f"train-inverter[:STEPS] (default: {_DEFAULT_ATTACKS})",
    )
    p.add_argument(
        "--defenses",
        help="comma-separated: noise, noise:S, int8, binary, truncate, truncate:K, leace:ATTR "
        "(default: the noise and truncation sweeps, int8, binary, LEACE of the first label); "
        "'none' for no defense",
    )
    demo = out_default == "demo-out"
    # make demo (this audit, then its redacted copy and PDF) must finish within 5 minutes on 2 cores
    budget = "3.5m" if demo else "5m"
    p.add_argument(
        "--budget",
        default=budget,
        help="time and/or query budget of the attacks, e.g. 10m, 90s, 5000q, 10m,5000q "
        f"(default {budget}; 'none' for unlimited)",
    )
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="default: local")
    add_flags(p, "seed")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap rounds of the CIs")
    p.add_argument("--map-method", choices=["pca", "umap", "tsne"], default="pca")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="ATTACK.KEY=VALUE",
        help="an attack's keyword argument, e.g. guided.beam_width=2 (VALUE read as JSON "
        "when it parses); repeatable",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1 if demo else None,
        help="torch CPU threads ("
        + (
            "default 1: on a shared 2-core CPU more threads contend and run slower)"
            if demo
            else "default: torch's choice)"
        ),
    )
    p.add_argument(
        "--redact",
        action="store_true",
        help="mask the identifying fields (names, emails, phones, addresses, dates of birth) "
        "in the report's texts and its result.json",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print the report to OUT/report.pdf (needs the headless Chromium that "
        "`make demo` installs)",
    )
    add_out(p, "report directory", default=out_default, what="report directory")


def _options(pairs: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        kind, dot, name = key.partition(".")
        if not sep or not dot or not kind or not name.isidentifier():
            raise ValueError(
                f"--option {pair!r} is not ATTACK.KEY=VALUE: write e.g. guided.beam_width=2"
            )
        try:
            value: Any = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or absurdly deep): the text itself
            value = raw
        out.setdefault(kind, {})[name] = value
    return out


def run_audit_command(args: argparse.Namespace, *, overwrite: bool) -> int:
    """Run the audit an ``audit``/``demo`` namespace describes; print the stages and summary."""
    from embedlens.audit import audit
    from embedlens.models import cache_dir

    out = Path(args.out)
    # checked and claimed before any work: a wrong --out fails now, not after the whole audit
    _refuse_report_out(out, overwrite)
    if args.pdf:  # no Chromium: refused now, not after the whole audit
        from embedlens.audit.report import _chromium

        _chromium()
    attacks = [a for a in args.attacks.split(",") if a.strip()]
    if getattr(args, "no_decoder", False):
        attacks = [a for a in attacks if a.split(":")[0] not in _DECODER_ATTACKS]
    defenses = None
    if args.defenses is not None:
        defenses = [] if args.defenses.strip() == "none" else args.defenses.split(",")
    budget = None if args.budget.strip().lower() in ("none", "unlimited") else args.budget
    cache = None if args.no_cache else (args.cache or cache_dir() / "audit-embeddings.sqlite")
    steps = itertools.count(1)

    def log(message: str) -> None:
        print(f"[{next(steps):2d}] {message}", flush=True)

    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    start = time.perf_counter()
    names = "engine seed records column attacker_corpus device bootstrap map_method"
    with torch_threads(args.threads):
        result = audit(
            embedder_from_spec(args.embedder),
            args.corpus,
            attacks=attacks,
            defenses=defenses,
            budget=budget,
            cache=cache,
            attack_options=_options(args.option),
            log=log,
            **from_args(args, names),
        )
    page = result.to_html(out, overwrite=overwrite, redact=args.redact, pdf=args.pdf)
    print()
    print(result.summary["headline"])
    for name, att in result.attacks.items():
        if att["status"] != "ran":
            print(f"  {name:20s} {att['status']}: {att['reason']}")
    print(f"report: {page}  (numbers: {out / 'result.json'}; {time.perf_counter() - start:.0f}s)")
    return _exit_code(result)


#: the exit code of an audit whose attacks did not all run (status inconclusive)
INCONCLUSIVE_EXIT = 3


def _exit_code(result: Any) -> int:
    if result.status == "inconclusive":
        print(
            f"embedlens audit: inconclusive: {len(result.summary.get('skipped', {}))} attack(s) "
            "did not run; this audit is no all-clear (exit code 3)",
            file=sys.stderr,
        )
        return INCONCLUSIVE_EXIT
    return 0


def _refuse_report_out(out: Path, overwrite: bool) -> None:
    """Claim ``--out`` for a report folder, refused unless it is new, empty or a report."""
    from embedlens.audit.report import REPORT_EXTRAS, REPORT_FILES

    refuse_existing(out, overwrite, kind="folder", markers=REPORT_FILES, extras=REPORT_EXTRAS)


def _cmd_report(args: argparse.Namespace) -> int:
    from embedlens.audit.result import AuditResult

    out = Path(args.out)
    _refuse_report_out(out, args.overwrite)
    result = AuditResult.from_json(args.result)
    page = result.to_html(out, overwrite=args.overwrite, redact=args.redact, pdf=args.pdf)
    print(f"report: {page}" + (f"  (PDF: {out / 'report.pdf'})" if args.pdf else ""))
    return _exit_code(result)


def _cmd_audit(args: argparse.Namespace) -> int:
    if args.compare:
        return _compare(*args.compare)
    return run_audit_command(args, overwrite=args.overwrite)


def _compare(a: str, b: str) -> int:
    from embedlens.audit.result import AuditResult, compare_results

    ra, rb = AuditResult.from_json(a), AuditResult.from_json(b)
    rows = compare_results(ra, rb)
    ea, eb = ra.config["embedder"]["name"], rb.config["embedder"]["name"]
    print(f"A: {a} ({ea}, risk {ra.risk})")
    print(f"B: {b} ({eb}, risk {rb.risk})")
    width = max((len(r["what"]) for r in rows), default=10)
    print(f"{'':{width}s}  {'A':>8s}  {'B':>8s}  {'B - A':>8s}")

    def cell(v: float | None) -> str:
        return f"{v:8.3f}" if isinstance(v, (int, float)) else f"{'n/a':>8s}"

    for r in rows:
        print(f"{r['what']:{width}s}  {cell(r['a'])}  {cell(r['b'])}  {cell(r['change'])}")
    sys.stdout.flush()
    return 0
