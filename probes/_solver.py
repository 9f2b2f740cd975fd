"""Full-batch L-BFGS for L2-regularised logistic regression, in torch.

The objective is scikit-learn's, divided by the total sample weight ``S``::

    (1/S) * sum_i s_i * logloss_i(W, b)  +  ||W||^2 / (2 * C * S)

so the minimiser is the one ``sklearn.linear_model.LogisticRegression(C=C)`` finds: binary
problems use one logit (sigmoid), three or more classes a softmax over K logits.

Speed on a CPU comes from three things, none of which changes the minimiser:

* a change of variables ``W = V P`` with ``P = (Cov(X) + lam I)^(-1/2)`` (estimated on a strided
  subsample) and ``b = c - W mu``: L-BFGS then works on a well-conditioned problem and needs a few
  times fewer iterations;
* loss and gradient in one pass over ``X`` in row chunks that stay in cache, with the gradient
  written by hand (no autograd graph);
* float32 by default.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from probes._utils import cpu_threads_for, progress_bar, resolve_device, resolve_dtype

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

#: The preconditioner is full (a d x d inverse square root) only with at most this many features
#: and at least ``FULL_PRECONDITIONER_MIN_ROWS_PER_DIM * d`` samples; otherwise it is diagonal (a
#: per-feature scale). On small problems the eigendecomposition costs more than it saves.
FULL_PRECONDITIONER_MAX_DIM = 1024
FULL_PRECONDITIONER_MIN_ROWS_PER_DIM = 32
#: Rows used to estimate the preconditioner.
PRECONDITIONER_ROWS = 4096
#: Rows per chunk on the CPU (the chunk stays in cache between the two matrix products).
CPU_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class LogisticSolution:
    """What the solver returns: parameters in the input space and how the run went."""

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    loss: float
    grad_max: float
    validation_losses: tuple[float, ...]


def _preconditioner(
    Xt: torch.Tensor, sw: torch.Tensor, fit_intercept: bool, ridge: float
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Return ``(mu, P, full)``: a centring vector and a symmetric preconditioner."""
    import torch

    n, d = Xt.shape
    step = max(1, n // PRECONDITIONER_ROWS)
    sub = Xt[::step]
    w = sw[::step] / sw[::step].sum()
    mu = (w[:, None] * sub).sum(0) if fit_intercept else torch.zeros_like(sub[0])
    centred = sub - mu
    if d <= FULL_PRECONDITIONER_MAX_DIM and n >= FULL_PRECONDITIONER_MIN_ROWS_PER_DIM * d:
        # The product in the input dtype (it only has to be roughly right), the eigensolve in
        # float64.
        cov = (centred.T @ (w[:, None] * centred)).double()
        evals, evecs = torch.linalg.eigh(cov)
        floor = max(ridge, 1e-8 * float(evals.max().clamp_min(1e-30)))
        scale = (evals.clamp_min(0.0) + floor).rsqrt()
        P = (evecs * scale) @ evecs.T
        return mu.to(Xt.dtype), P.to(Xt.dtype), True
    var = (w[:, None] * centred * centred).sum(0).double()
    floor = max(ridge, 1e-8 * float(var.max().clamp_min(1e-30)))
    return mu.to(Xt.dtype), (var + floor).rsqrt().to(Xt.dtype), False


def fit_logistic(
    X: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    sample_weight: np.ndarray,
    C: float,
    fit_intercept: bool,
    max_iter: int,
    tol: float,
    device: Any,
    dtype: str,
    history_size: int = 10,
    X_val: np.ndarray | None = None,
    codes_val: np.ndarray | None = None,
    n_iter_no_change: int = 5,
    check_every: int = 5,
    progress: bool | None = None,
) -> LogisticSolution:
    """Minimise the weighted, L2-penalised log loss with L-BFGS (strong Wolfe line search).

    ``codes`` are integer class codes in ``0..n_classes-1``. With ``X_val`` given, the validation
    log loss is checked every ``check_every`` iterations; training stops after
    ``n_iter_no_change`` checks without improvement and the best parameters are returned.
    """
    dev = resolve_device(device)
    with cpu_threads_for(X.size, dev):
        return _fit(
            X,
            codes,
            n_classes,
            sample_weight=sample_weight,
            C=C,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            dev=dev,
            dtype=dtype,
            history_size=history_size,
            X_val=X_val,
            codes_val=codes_val,
            n_iter_no_change=n_iter_no_change,
            check_every=check_every,
            progress=progress,
        )


def _fit(
    X: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    sample_weight: np.ndarray,
    C: float,
    fit_intercept: bool,
    max_iter: int,
    tol: float,
    dev: torch.device,
    dtype: str,
    history_size: int,
    X_val: np.ndarray | None,
    codes_val: np.ndarray | None,
    n_iter_no_change: int,
    check_every: int,
    progress: bool | None,
) -> LogisticSolution:
    import torch
    import torch.nn.functional as F

    tdtype = resolve_dtype(dtype, dev)
    n, d = X.shape
    binary = n_classes == 2
    k_out = 1 if binary else n_classes

    with warnings.catch_warnings():  # read-only arrays are fine: X is never written to
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        Xt = torch.as_tensor(X, dtype=tdtype, device=dev)
    yt = torch.as_tensor(codes, dtype=torch.long, device=dev)
    yf = yt.to(tdtype)
    sw = torch.as_tensor(sample_weight, dtype=tdtype, device=dev)
    unweighted = bool(np.all(sample_weight == sample_weight[0]))
    S = float(sample_weight.sum())
    inv_cs = 1.0 / (C * S)
    # The Hessian of the mean log loss is about 0.25 * Cov(X) + I / (C S): regularise P with that.
    mu, P, full = _preconditioner(Xt, sw, fit_intercept, ridge=4.0 * inv_cs)
    chunk = CPU_CHUNK_ROWS if dev.type == "cpu" else n

    V = torch.zeros(k_out, d, dtype=tdtype, device=dev, requires_grad=True)
    c = torch.zeros(k_out, dtype=tdtype, device=dev, requires_grad=True)
    params = [V, c] if fit_intercept else [V]

    def weights_of(Vv: torch.Tensor, cv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        W = Vv @ P if full else Vv * P
        b = cv - W @ mu if fit_intercept else torch.zeros_like(cv)
        return W, b

    last = {"grad_max": math.inf, "loss": math.inf}

    def closure() -> torch.Tensor:
        with torch.no_grad():
            W, b = weights_of(V, c)
            total = torch.zeros((), dtype=tdtype, device=dev)
            gW = torch.zeros_like(W)
            gb = torch.zeros_like(b)
            for start in range(0, n, chunk):
                xs = Xt[start : start + chunk]
                Z = torch.addmm(b, xs, W.T)
                if binary:
                    z = Z[:, 0]
                    t = yf[start : start + chunk]
                    per = F.softplus(z) - t * z
                    G = (torch.sigmoid(z) - t)[:, None]
                else:
                    ys = yt[start : start + chunk]
                    logp = torch.log_softmax(Z, dim=1)
                    per = -logp.gather(1, ys[:, None])[:, 0]
                    G = logp.exp_()
                    G[torch.arange(len(ys), device=dev), ys] -= 1.0
                if not unweighted:
                    ws = sw[start : start + chunk]
                    per = per * ws
                    G = G * ws[:, None]
                elif float(sample_weight[0]) != 1.0:
                    per = per * float(sample_weight[0])
                    G = G * float(sample_weight[0])
                total += per.sum()
                gW.addmm_(G.T, xs)
                gb += G.sum(0)
            loss = total / S + (W * W).sum() * (0.5 * inv_cs)
            gW = gW / S + W * inv_cs
            gb = gb / S
            if fit_intercept:
                gW -= torch.outer(gb, mu)
            V.grad = gW @ P if full else gW * P
            if fit_intercept:
                c.grad = gb
            grads = [V.grad, c.grad] if fit_intercept else [V.grad]
            last["grad_max"] = max(float(g.abs().max()) for g in grads)
            last["loss"] = float(loss)
            return loss

    eps = float(torch.finfo(tdtype).eps)
    optimizer = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=max_iter,
        max_eval=max_iter * 25,
        tolerance_grad=tol,
        tolerance_change=10.0 * eps,
        history_size=history_size,
        line_search_fn="strong_wolfe",
    )

    Xv: torch.Tensor | None = None
    yv: torch.Tensor | None = None
    if X_val is not None and codes_val is not None:
        Xv = torch.as_tensor(np.ascontiguousarray(X_val), dtype=tdtype, device=dev)
        yv = torch.as_tensor(codes_val, dtype=torch.long, device=dev)
    early = Xv is not None

    def validation_loss() -> float:
        if Xv is None or yv is None:
            return math.nan
        with torch.no_grad():
            W, b = weights_of(V, c)
            Z = torch.addmm(b, Xv, W.T)
            if binary:
                return float(F.binary_cross_entropy_with_logits(Z[:, 0], yv.to(tdtype)))
            return float(F.cross_entropy(Z, yv))

    bar = progress_bar(progress, total=max_iter, desc="LinearProbe (L-BFGS)", unit="iter")
    chunked = early or not bar.disable
    per_call = check_every if chunked else max_iter
    done = 0
    best = (math.inf, V.detach().clone(), c.detach().clone(), 0)
    val_losses: list[float] = []
    stale = 0
    stopped_early = False
    try:
        while done < max_iter:
            calls = min(per_call, max_iter - done)
            optimizer.param_groups[0]["max_iter"] = calls
            optimizer.param_groups[0]["max_eval"] = calls * 25
            before = int(optimizer.state[V].get("n_iter", 0))
            optimizer.step(closure)
            used = int(optimizer.state[V].get("n_iter", 0)) - before
            done += used
            bar.update(used)
            if early:
                v = validation_loss()
                val_losses.append(v)
                if v < best[0] - 1e-6 * max(1.0, abs(best[0])):
                    best = (v, V.detach().clone(), c.detach().clone(), done)
                    stale = 0
                else:
                    stale += 1
                    if stale >= n_iter_no_change:
                        stopped_early = True
                        break
            if used < calls or last["grad_max"] <= tol:
                break
    finally:
        bar.close()

    if early and best[0] < math.inf:
        with torch.no_grad():
            V.copy_(best[1])
            c.copy_(best[2])
    elif done >= max_iter:
        closure()  # the gradient at the final iterate (the line search may end on an earlier one)
    with torch.no_grad():
        W, b = weights_of(V, c)
    converged = last["grad_max"] <= tol or done < max_iter or stopped_early
    return LogisticSolution(
        coef=W.detach().cpu().numpy(),
        intercept=b.detach().cpu().numpy(),
        n_iter=done,
        converged=converged,
        loss=last["loss"],
        grad_max=last["grad_max"],
        validation_losses=tuple(val_losses),
    )
