"""The privacy audit: attack an embedding model on a corpus, measure what leaks, weigh defenses.

:func:`audit` runs it (``embedlens.audit(...)`` is the same function) and returns an
:class:`AuditResult`, which writes the offline HTML report. The parts, one idea each:

- :mod:`embedlens.audit.run`: :func:`audit` itself: the inputs, who attacks whom, the stages
  in order;
- :mod:`embedlens.audit.attacks`: naming, building and running the attacks under a budget;
- :mod:`embedlens.audit.scoring`: token F1 and facts recovered per record, rates with CIs;
- :mod:`embedlens.audit.defenses`: what a vector store can apply, and what it costs;
- :mod:`embedlens.audit.stages`: attribute probes, attacks, defenses, map and summary;
- :mod:`embedlens.audit.result`: :class:`AuditResult`, JSON in and out;
- :mod:`embedlens.audit.report` and :mod:`embedlens.audit.figures`: the HTML page and its plots.

Importing this package is light: it loads :func:`audit` (whose module imports only the base)
and its constants; everything else loads on first use. ``import embedlens`` imports it to bind
``embedlens.audit`` to the function (see ``embedlens/__init__.py``), so import the parts as
``from embedlens.audit.result import AuditResult``, never as ``import embedlens.audit.result``
(and, inside this package, never through the package itself: ``run`` is imported by it).

Examples
--------
>>> from embedlens.audit import audit
>>> result = audit(embedder="minilm", corpus="pii", budget="2m")  # doctest: +SKIP
>>> result.to_html("audit-report")  # doctest: +SKIP
"""

from __future__ import annotations

from embedlens._lazy import lazy_exports
from embedlens.audit.run import (
    DEFAULT_ATTACKS,
    DEFAULT_DEFENSES,
    DEFENSE_ATTACKS,
    AuditError,
    audit,
)

_LAZY: dict[str, str] = {
    "AuditResult": "embedlens.audit.result",
    "attribute_inference": "embedlens.audit.stages",
}

__all__ = [
    "DEFAULT_ATTACKS",
    "DEFAULT_DEFENSES",
    "DEFENSE_ATTACKS",
    "AuditError",
    "AuditResult",
    "attribute_inference",
    "audit",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
