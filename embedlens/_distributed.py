"""Data-parallel training across processes, as ``torchrun`` or ``accelerate launch`` start them.

Each process holds a full copy of the (small) trainable model and takes its share of every
global batch; gradients are averaged with one all-reduce per step, so every process applies the
same update and the copies never diverge. Only the main process writes logs and checkpoints.
A single process (the usual case) pays nothing: every helper is then a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["Distributed", "distributed_context"]


@dataclass(frozen=True)
class Distributed:
    """This process's place in a data-parallel run: ``rank`` of ``world`` processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def average_gradients(self, params: list[torch.Tensor]) -> None:
        """Replace each gradient by its mean over the processes (missing ones count as 0)."""
        if self.world == 1:
            return
        import torch
        import torch.distributed as dist

        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad.div_(self.world)

    def mean(self, value: float, device: torch.device) -> float:
        """The mean of ``value`` over the processes."""
        if self.world == 1:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item()) / self.world


def distributed_context() -> Distributed:
    """The running data-parallel context, initializing it when a launcher asked for one.

    An initialized ``torch.distributed`` process group is used as is; otherwise, when the
    environment says ``WORLD_SIZE > 1`` (``torchrun``, ``accelerate launch``), accelerate's
    ``PartialState`` sets the group up. A plain run is a world of one.
    """
    local = int(os.environ.get("LOCAL_RANK", "0") or 0)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        try:
            import torch.distributed as dist
        except ImportError:  # pragma: no cover - torch without distributed support
            return Distributed()
        if dist.is_available() and dist.is_initialized():
            return Distributed(dist.get_rank(), dist.get_world_size(), local)
        return Distributed()
    import torch.distributed as dist

    if not dist.is_initialized():
        try:
            from accelerate import PartialState
        except ImportError as err:
            raise ImportError(
                f"this is a distributed launch (WORLD_SIZE={world}) but accelerate is not "
                "installed to set it up: pip install accelerate, or initialize "
                "torch.distributed before training"
            ) from err
        PartialState()  # initializes the default process group from the environment
    return Distributed(dist.get_rank(), dist.get_world_size(), local)
