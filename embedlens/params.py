"""The one parameter protocol of embedlens' estimators: scikit-learn's, read from ``__init__``.

A class's parameters are the named arguments of its ``__init__`` (as in scikit-learn's
``BaseEstimator``); ``__init__`` stores each one, unchanged, under its own name. A ``**kwargs``
argument, where a class has one, collects pass-through options: they are stored as a dict under
the same name and listed by ``get_params`` beside the named ones. ``clone``, ``Pipeline`` and
``GridSearchCV`` then work as with any scikit-learn estimator, and ``set_params`` refuses a name
that is not a parameter (unless the class takes ``**kwargs``). The probes subclass scikit-learn's
``BaseEstimator`` itself, which follows the same rule; this module keeps the rest of embedlens
free of a scikit-learn import.

Examples
--------
>>> class Attack(Params):
...     def __init__(self, k: int = 5, *, metric: str = "cosine") -> None:
...         self.k = k
...         self.metric = metric
>>> a = Attack(k=3)
>>> a.get_params()
{'k': 3, 'metric': 'cosine'}
>>> a.set_params(metric="l2").metric
'l2'
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

__all__ = ["Params", "param_names"]

P = TypeVar("P", bound="Params")

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _signature_parts(cls: type) -> tuple[tuple[str, ...], str | None]:
    """``(named parameters, the **kwargs name or None)`` of ``cls.__init__``, cached per class."""
    cached = cls.__dict__.get("_params_signature_")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    init = cls.__init__  # type: ignore[misc]
    if init is object.__init__:
        parts: tuple[tuple[str, ...], str | None] = ((), None)
    else:
        named: list[str] = []
        extra: str | None = None
        for p in inspect.signature(init).parameters.values():
            if p.name == "self":
                continue
            if p.kind in _NAMED:
                named.append(p.name)
            elif p.kind is inspect.Parameter.VAR_KEYWORD:
                extra = p.name
            elif p.kind is inspect.Parameter.VAR_POSITIONAL:
                raise TypeError(
                    f"{cls.__name__}.__init__ takes *{p.name}: an estimator's parameters must "
                    "be named (scikit-learn's convention)"
                )
        parts = (tuple(named), extra)
    type.__setattr__(cls, "_params_signature_", parts)
    return parts


def param_names(cls: type) -> tuple[str, ...]:
    """The parameter names of ``cls``: its ``__init__``'s named arguments, in order.

    >>> param_names(Params)
    ()
    """
    return _signature_parts(cls)[0]


class Params:
    """``get_params`` / ``set_params`` derived from ``__init__``'s signature (see the module)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as stored (scikit-learn convention).

        ``deep=True`` also lists the parameters of parameters that have ``get_params``, as
        ``name__sub``, so a grid search can reach them.
        """
        named, extra = _signature_parts(type(self))
        out: dict[str, Any] = {}
        for name in named:
            value = getattr(self, name)
            out[name] = value
            if deep and not isinstance(value, type) and hasattr(value, "get_params"):
                for sub, sub_value in value.get_params(deep=True).items():
                    out[f"{name}__{sub}"] = sub_value
        if extra is not None:
            out.update(getattr(self, extra) or {})
        return out

    def set_params(self: P, **params: Any) -> P:
        """Set constructor arguments; they take effect at the next ``fit`` (or call).

        ``name__sub=value`` sets ``sub`` on the parameter ``name``. A name that is not a
        parameter raises ``ValueError`` listing the valid ones, unless the class takes
        ``**kwargs`` (then it becomes one of those pass-through options).
        """
        named, extra = _signature_parts(type(self))
        nested: dict[str, dict[str, Any]] = {}
        unknown: list[str] = []
        for key in params:
            head, sep, _ = key.partition("__")
            if sep and head in named:
                continue
            if key not in named and extra is None:
                unknown.append(key)
        if unknown:
            shown = ", ".join(repr(name) for name in sorted(unknown))
            raise ValueError(
                f"unknown parameters {shown} for {type(self).__name__}: valid are {list(named)}"
            )
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if sep and head in named:
                nested.setdefault(head, {})[sub] = value
            elif key in named:
                setattr(self, key, value)
            elif extra is not None:  # unknown names were refused above when there is none
                options = getattr(self, extra, None)
                if options is None:
                    options = {}
                    setattr(self, extra, options)
                options[key] = value
        for head, sub_params in nested.items():
            target = getattr(self, head)
            if not hasattr(target, "set_params"):
                raise ValueError(
                    f"{type(self).__name__}.{head} is {type(target).__name__}, which has no "
                    f"set_params: cannot set {sorted(sub_params)} on it"
                )
            target.set_params(**sub_params)
        return self
