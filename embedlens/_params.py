"""scikit-learn's estimator protocol (``get_params``/``set_params``) for embedlens' own models.

A class lists its constructor arguments in ``_PARAMS``; ``clone``, ``Pipeline`` and
``GridSearchCV`` then work as with any scikit-learn estimator, and an unknown name raises
instead of being set silently.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

__all__ = ["ParamsMixin"]

P = TypeVar("P", bound="ParamsMixin")


class ParamsMixin:
    """``get_params``/``set_params`` over the names in ``_PARAMS``."""

    _PARAMS: ClassVar[tuple[str, ...]] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self: P, **params: Any) -> P:
        """Set constructor arguments; they take effect at the next ``fit`` (or call)."""
        unknown = sorted(set(params) - set(self._PARAMS))
        if unknown:
            shown = ", ".join(repr(name) for name in unknown)
            raise ValueError(
                f"unknown parameters {shown} for {type(self).__name__}: valid are "
                f"{list(self._PARAMS)}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self
