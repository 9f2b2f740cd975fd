"""The result of a privacy audit: every number, JSON in and out, figures and the HTML report.

An :class:`AuditResult` is data only (plain dicts and lists that JSON keeps exactly); drawing
lives in :mod:`embedlens.audit.report`, which its ``figure`` and ``to_html`` call (the report
reads the result by its attributes and never imports this module, so the arrow points one way).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["RESULT_VERSION", "AuditResult", "compare_results"]

RESULT_VERSION = 1
FigureKind = Literal["tradeoff", "leakage", "attributes"]


@dataclass
class AuditResult:
    """What :func:`embedlens.audit` measured.

    Attributes
    ----------
    config : dict
        The embedder (name, dim, fingerprint), corpus, attacks and defenses asked for, budget,
        engine, seed and the attacker's data.
    summary : dict
        ``status`` ("complete" or "inconclusive": an attack asked for did not run), ``risk``
        ("high", "moderate", "low" or "inconclusive"), ``risk_rule``, ``headline`` (plain words), ``top_fields`` (best
        recovery rate per field over the attacks, k of n with its interval), ``set_by``
        (what set the rating), ``best_defense`` (None unless a defense is separably lower than
        none by the ranking rule; ``no_best_defense`` says why), ``ran`` and ``skipped``.
    utility : dict
        Retrieval on the clean vectors: ``recall@1``, ``recall@10``, the query recipe.
    attacks : dict
        Per attack: ``status`` ("ran", "skipped", "failed"), ``reason``, ``metrics`` (BLEU,
        token F1, exact match, cosine, with ``ci``), ``fields`` (rate, CI, counts per PII field),
        ``overall``, ``queries_per_record``, ``n_attacked``, ``seconds``, ``note`` and
        ``records`` (per attacked record: index, hypothesis, token F1, facts recovered).
    attributes : dict
        Attribute inference per label: accuracy, CI, majority baseline (or ``skipped``).
    defenses : list of dict
        Per defense and strength (the first is ``"none"``): ``utility`` (k of n queries with
        intervals), ``leakage`` (``non_adaptive`` and ``adaptive``, per attack: k of n facts,
        records, interval, ``vs_none``; or why it failed or did not run), ``leakage_score`` of
        the strongest attack with ``leakage_ci`` and ``vs_none`` (the paired verdict),
        ``attributes`` (probe accuracy on the defended vectors, counts in
        ``attribute_counts``) and ``side_effects`` (with ``side_effect_ci``).
    records : dict
        ``texts``, map coordinates ``x``/``y`` and per-record ``leakage`` (best attack).
    timings : dict
        Seconds per stage.
    """

    config: dict[str, Any]
    summary: dict[str, Any]
    utility: dict[str, Any]
    attacks: dict[str, dict[str, Any]]
    attributes: dict[str, dict[str, Any]]
    defenses: list[dict[str, Any]]
    records: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    version: int = RESULT_VERSION

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Every number, as plain Python (what ``result.json`` holds)."""
        return asdict(self)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The result as JSON text; also written atomically to ``path`` when given."""
        from embedlens._utils import atomic_path

        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        if path is not None:
            with atomic_path(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> AuditResult:
        """Read a result from a ``result.json`` file, a report directory or JSON text.

        Raises ``ValueError`` for a file that is not an audit result (or a newer version).
        """
        where = "the JSON text"
        if isinstance(source, os.PathLike) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            path = Path(source)
            if path.is_dir():
                path = path / "result.json"
            if not path.is_file():
                raise FileNotFoundError(
                    f"no audit result at {str(path)!r}: pass a result.json written by "
                    "`embedlens audit` (or its report directory)"
                )
            where = repr(str(path))
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ValueError(f"cannot read {where}: {err}") from err
        else:
            text = str(source)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{where} is not JSON ({err}): pass a result.json of an audit"
            ) from err
        needed = {"config", "summary", "utility", "attacks", "attributes", "defenses", "records"}
        if not isinstance(data, dict) or not needed <= set(data):
            raise ValueError(f"{where} is not an audit result: expected the keys {sorted(needed)}")
        version = int(data.get("version", 0))
        if version > RESULT_VERSION:
            raise ValueError(
                f"{where} has result version {version}, newer than this embedlens reads "
                f"({RESULT_VERSION}): upgrade embedlens"
            )
        return cls(**{k: data[k] for k in (*needed, "timings", "version") if k in data})

    # ------------------------------------------------------------------ reading
    @property
    def status(self) -> str:
        """``"complete"``, or ``"inconclusive"`` when an attack asked for did not run."""
        return str(self.summary.get("status", "complete"))

    @property
    def risk(self) -> str:
        """``"high"``, ``"moderate"``, ``"low"`` or ``"inconclusive"``."""
        return str(self.summary.get("risk", "unknown"))

    def leakage_table(self) -> list[dict[str, Any]]:
        """One row per (attack, field): rate and interval, for the attacks that ran."""
        rows = []
        for name, att in self.attacks.items():
            if att.get("status") != "ran":
                continue
            for fname, f in att.get("fields", {}).items():
                rows.append({"attack": name, "field": fname, **f})
        return rows

    def defense(self, name: str) -> dict[str, Any]:
        """The entry of one defense by name (e.g. ``"noise:0.5"``); KeyError lists the names."""
        for d in self.defenses:
            if d["name"] == name:
                return d
        raise KeyError(
            f"no defense {name!r} in this result: it has {[d['name'] for d in self.defenses]}"
        )

    # ------------------------------------------------------------------ drawing
    def figure(self, kind: FigureKind = "tradeoff", *, family: str | None = None) -> Any:
        """A plotly figure: ``"tradeoff"`` (recall@10 against the strongest attack's leakage,
        one labelled point per defense and "none", intervals, the ranking rule's verdict as the
        marker; ``family`` keeps one defense kind), ``"leakage"`` (recovery per field and
        attack) or ``"attributes"`` (probe accuracy vs baseline)."""
        from embedlens.audit.report import attributes_figure, leakage_figure, tradeoff_figure

        if kind == "tradeoff":
            return tradeoff_figure(self, family=family)
        if kind == "leakage":
            return leakage_figure(self)
        if kind == "attributes":
            return attributes_figure(self)
        raise ValueError(f"unknown figure {kind!r}: use 'tradeoff', 'leakage' or 'attributes'")

    def to_html(
        self,
        out_dir: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        redact: bool = False,
        pdf: bool = False,
    ) -> Path:
        """Write ``out_dir/index.html`` (self-contained, offline) and ``out_dir/result.json``.

        The directory is written beside its destination and renamed into place, so no
        half-written report is ever left; an existing directory is refused unless
        ``overwrite=True``. ``redact=True`` masks each record's identifying fields in both
        files; ``pdf=True`` also writes ``report.pdf`` (headless Chromium). Returns the path
        of ``index.html``.
        """
        from embedlens.audit.report import write_report

        return write_report(self, out_dir, overwrite=overwrite, redact=redact, pdf=pdf)


def compare_results(a: AuditResult, b: AuditResult) -> list[dict[str, Any]]:
    """Rows ``{what, a, b, change}`` of the headline numbers two audits share.

    Covers clean retrieval, each attack's overall recovery, token F1 and per-field rates, each
    attribute's accuracy, and each defense's utility and adaptive leakage; numbers that only
    one side has are listed with ``None`` on the other.
    """

    def flat(r: AuditResult) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for k, v in r.utility.items():
            if isinstance(v, (int, float)):
                out[f"utility {k}"] = float(v)
        for name, att in r.attacks.items():
            if att.get("status") != "ran":
                continue
            out[f"{name} overall recovery"] = att.get("overall")
            out[f"{name} token F1"] = att.get("metrics", {}).get("token_f1")
            for fname, f in att.get("fields", {}).items():
                out[f"{name} {fname}"] = f.get("rate")
        for attr, row in r.attributes.items():
            if "accuracy" in row:
                out[f"attribute {attr} accuracy"] = row["accuracy"]
        for d in r.defenses:
            out[f"defense {d['name']} recall@10"] = d["utility"].get("recall@10")
            out[f"defense {d['name']} adaptive leakage"] = d.get("leakage_score")
        return out

    fa, fb = flat(a), flat(b)
    rows = []
    for key in list(dict.fromkeys([*fa, *fb])):
        va, vb = fa.get(key), fb.get(key)
        change = None if va is None or vb is None else vb - va
        rows.append({"what": key, "a": va, "b": vb, "change": change})
    return rows
