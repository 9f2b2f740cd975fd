"""Small runtime helpers: device and dtype resolution, progress bars, random generators.

torch is imported inside the functions that need it, never at module import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

DType = Literal["float32", "float64"]


def resolve_device(device: str | Any | None) -> torch.device:
    """The shared device rule of embedlens: ``None`` picks cuda, then mps, then cpu."""
    from embedlens.models import resolve_device as resolve

    return resolve(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """Map ``"float32"``/``"float64"`` to a torch dtype that ``device`` supports."""
    import torch

    table = {"float32": torch.float32, "float64": torch.float64}
    if dtype not in table:
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}.")
    if dtype == "float64" and device.type == "mps":
        raise ValueError(
            "dtype='float64' is not supported on Apple's mps device; use dtype='float32' or "
            "device='cpu'."
        )
    return table[dtype]


def numpy_dtype(dtype: str) -> type[np.floating[Any]]:
    """Map ``"float32"``/``"float64"`` to the numpy scalar type."""
    if dtype == "float32":
        return np.float32
    if dtype == "float64":
        return np.float64
    raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}.")


def progress_bar(
    progress: bool | None, *, total: int | None = None, desc: str = "", unit: str = "it"
) -> Any:
    """A ``tqdm.auto`` bar; ``progress=None`` shows it only in interactive sessions."""
    from tqdm.auto import tqdm

    from embedlens._utils import in_interactive_session

    enabled = in_interactive_session() if progress is None else bool(progress)
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False)


def rng_from(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


def seed_from(random_state: int | np.random.Generator | None) -> int | None:
    """An int seed for sklearn splitters (None stays None)."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return int(rng_from(random_state).integers(0, 2**31 - 1))


#: Below this many input elements (n_samples * n_features) torch runs single-threaded on the CPU.
#: Small problems gain nothing from a second thread, and on a busy machine every parallel region
#: can wait a whole scheduler time slice (about 16 ms) for a descheduled worker.
SMALL_PROBLEM_ELEMENTS = 1 << 21


@contextmanager
def cpu_threads_for(n_elements: int, device: torch.device) -> Iterator[None]:
    """Run small CPU problems on one torch thread; restore the previous setting afterwards."""
    import torch

    previous = torch.get_num_threads()
    if device.type != "cpu" or n_elements >= SMALL_PROBLEM_ELEMENTS or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
