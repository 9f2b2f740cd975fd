"""What a map knows about its points besides their vectors: texts, labels, values and ids.

Every column is checked against the number of rows of ``X`` with an error that says which
argument is off and by how much. Only numpy is imported at module level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedlens._utils import check_matrix, check_texts

#: the category shown for a missing label (None or NaN)
MISSING = "(none)"


@dataclass
class PointData:
    """Columns aligned with the rows of a map: texts, categorical labels, numeric values, ids."""

    n: int
    texts: list[str] | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    ids: np.ndarray | None = None

    def subset(self, idx: np.ndarray) -> PointData:
        """The rows at ``idx``, every column kept aligned."""
        return PointData(
            n=len(idx),
            texts=None if self.texts is None else [self.texts[i] for i in idx.tolist()],
            labels={k: v[idx] for k, v in self.labels.items()},
            values={k: v[idx] for k, v in self.values.items()},
            ids=None if self.ids is None else self.ids[idx],
        )


def check_length(what: str, got: int, n: int, unit: str) -> None:
    """Raise a ``ValueError`` naming ``what`` when it does not have one entry per row."""
    if got != n:
        raise ValueError(
            f"{what} has {got} {unit} but X has {n} rows: pass one {unit.rstrip('s')} per row "
            f"of X, in the same order"
        )


def _columns(obj: Any, default_name: str, what: str) -> dict[str, Any]:
    """A single column or a mapping/DataFrame of named columns, as ``{name: column}``."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return {str(k): v for k, v in obj.items()}
    columns = getattr(obj, "columns", None)
    if columns is not None and hasattr(obj, "__getitem__"):  # a pandas DataFrame
        return {str(c): obj[c] for c in columns}
    if isinstance(obj, (str, bytes)):
        raise TypeError(
            f"{what} must be a sequence with one entry per row (or a dict of such columns), "
            f"got a single {type(obj).__name__}"
        )
    name = getattr(obj, "name", None)  # a pandas Series keeps its name
    return {str(name) if isinstance(name, str) and name else default_name: obj}


def _as_1d(column: Any, what: str) -> np.ndarray:
    to_numpy = getattr(column, "to_numpy", None)
    arr = np.asarray(to_numpy() if callable(to_numpy) else column, dtype=object)
    if arr.ndim != 1:
        raise ValueError(
            f"{what} must be one-dimensional (one entry per row), got shape {arr.shape}"
        )
    return arr


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def check_labels(labels: Any, n: int) -> dict[str, np.ndarray]:
    """Categorical columns as arrays of ``str`` (missing entries become ``"(none)"``)."""
    out: dict[str, np.ndarray] = {}
    for name, column in _columns(labels, "label", "labels").items():
        what = "labels" if name == "label" else f"labels[{name!r}]"
        arr = _as_1d(column, what)
        check_length(what, arr.shape[0], n, "labels")
        out[name] = np.array([MISSING if _is_missing(v) else str(v) for v in arr], dtype=object)
    return out


def check_values(values: Any, n: int) -> dict[str, np.ndarray]:
    """Numeric columns as float64 arrays; NaN marks a missing value, inf is refused."""
    out: dict[str, np.ndarray] = {}
    for name, column in _columns(values, "value", "values").items():
        what = "values" if name == "value" else f"values[{name!r}]"
        raw = _as_1d(column, what)
        check_length(what, raw.shape[0], n, "values")
        try:
            arr = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{what} must be numbers (a continuous colour), got {raw.dtype} data such as "
                f"{raw[0]!r}: pass categories as labels= instead"
            ) from err
        if np.isinf(arr).any():
            raise ValueError(
                f"{what} has {int(np.isinf(arr).sum())} infinite value(s): replace them with "
                "finite numbers or NaN (drawn as missing)"
            )
        out[name] = arr
    return out


def check_point_data(
    n: int,
    *,
    texts: Sequence[str] | None,
    labels: Any,
    values: Any,
    ids: Sequence[Any] | None,
) -> PointData:
    """Check every column against ``n`` rows and return them together."""
    items: list[str] | None = None
    if texts is not None:
        items = check_texts(texts)
        check_length("texts", len(items), n, "texts")
    id_arr: np.ndarray | None = None
    if ids is not None:
        id_arr = _as_1d(ids, "ids")
        check_length("ids", id_arr.shape[0], n, "ids")
    lab = check_labels(labels, n)
    val = check_values(values, n)
    clash = sorted(set(lab) & set(val))
    if clash:
        raise ValueError(
            f"labels and values both have a column named {clash[0]!r}: rename one, so that "
            "figure(color=...) can tell them apart"
        )
    return PointData(n=n, texts=items, labels=lab, values=val, ids=id_arr)


def check_X(X: Any, *, what: str = "X", dim: int | None = None) -> np.ndarray:
    """Vectors as a 2-D float32 array of finite values, with map-specific advice for 1-D input."""
    arr = X if isinstance(X, np.ndarray) else np.asarray(X)
    if arr.ndim == 1 and arr.dtype != object:
        raise ValueError(
            f"{what} must be a 2-D array (n_points, dim) with one vector per row, got a 1-D "
            f"array of shape {arr.shape}: stack the vectors (np.vstack), or use X[:, None] "
            "for a single feature"
        )
    return check_matrix(arr, what=what, dim=dim)
