"""Probes against their references, in one run: speed and accuracy of LinearProbe against
scikit-learn's LogisticRegression, LEACE against an independent float64 closed form (and the
concept-erasure package when it is installed), and MDL's time against one 5-fold evaluation.

The data are synthetic sentence-embedding-like vectors (see ``make_embeddings``): 10 classes,
384 dimensions, a shared offset and an anisotropic noise spectrum, rows L2-normalised, float32.

Each logistic-regression contender is timed in its own fresh subprocess (so thread pools and
warm-up do not leak between them), alternating sklearn / LinearProbe for ``--rounds`` rounds; data
generation is not timed. Writes JSON to benchmarks/out/probes.json and prints a summary.

    python benchmarks/probes.py [--n 100000] [--test 20000] [--rounds 2] [--device cpu]
    python benchmarks/probes.py --quick        # a small smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path and this file would shadow the
# probes package: put the repository root first.
sys.path.insert(0, str(ROOT))


def make_embeddings(
    n: int, d: int = 384, k: int = 10, *, seed: int = 0, separation: float = 0.006
) -> tuple[np.ndarray, np.ndarray]:
    """Embedding-like data: common offset + class mean + anisotropic noise, rows L2-normalised.

    The first ``n`` rows of a larger call are the same as a smaller call with the same seed only
    for the labels; generate train and test in one call and split.
    """
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.sqrt(1.0 + np.arange(d)) + 0.3
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    common = rng.normal(size=d)
    common *= 3.0 / np.linalg.norm(common)
    means = rng.normal(size=(k, d)) * separation
    y = rng.integers(0, k, size=n)
    X = common + means[y] + (rng.normal(size=(n, d)) * spectrum) @ basis.T * 0.12
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


WORKER = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
from benchmarks.probes import make_embeddings
method, n, test, C, device, repeats = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6], int(sys.argv[7])
X, y = make_embeddings(n + test)
Xtr, ytr, Xte, yte = X[:n], y[:n], X[n:], y[n:]
if method == "sklearn":
    from sklearn.linear_model import LogisticRegression
    make = lambda: LogisticRegression(C=C, solver="lbfgs")  # defaults: max_iter=100, tol=1e-4
else:
    from probes import LinearProbe
    make = lambda: LinearProbe(C=C, device=None if device == "auto" else device)
make().fit(Xtr[:500], ytr[:500])  # load libraries and thread pools; not timed
times, warned = [], []
for _ in range(repeats):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model = make().fit(Xtr, ytr)
        if device.startswith("cuda"):
            import torch; torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    warned += [str(w.message)[:160] for w in caught]
n_iter = model.n_iter_
print(json.dumps({"seconds": times, "accuracy": float(model.score(Xte, yte)),
                  "n_iter": int(n_iter[0] if hasattr(n_iter, "__len__") else n_iter),
                  "warnings": warned}))
"""


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import sklearn
    import torch

    model = platform.processor()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def run_worker(method: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-c",
        WORKER,
        str(ROOT),
        method,
        str(args.n),
        str(args.test),
        str(args.C),
        args.device,
        str(args.repeats),
    ]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    return dict(result)


def bench_logistic(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"sklearn": [], "probe": []}
    for r in range(args.rounds):
        for method in ("sklearn", "probe"):
            res = run_worker(method, args)
            runs[method].append(res)
            print(
                f"  round {r + 1} {method:8s} {', '.join(f'{s:.2f}' for s in res['seconds'])} s "
                f"acc {res['accuracy']:.4f} iters {res['n_iter']} (load {res['load_before']:.2f})",
                flush=True,
            )
    times = {m: [s for run in v for s in run["seconds"]] for m, v in runs.items()}
    med = {m: statistics.median(t) for m, t in times.items()}
    acc = {m: v[0]["accuracy"] for m, v in runs.items()}
    speedup = med["sklearn"] / med["probe"]
    gap = abs(acc["probe"] - acc["sklearn"]) * 100
    return {
        "n_train": args.n,
        "n_test": args.test,
        "C": args.C,
        "seconds": times,
        "median_seconds": med,
        "accuracy": acc,
        "n_iter": {m: v[0]["n_iter"] for m, v in runs.items()},
        "warnings": {m: sorted({w for run in v for w in run["warnings"]}) for m, v in runs.items()},
        "speedup": speedup,
        "accuracy_gap_points": gap,
        "pass_speed": speedup >= 5.0,
        "pass_accuracy": gap <= 0.5,
    }


def reference_leace(X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Independent LEACE closed form in float64: the oblique projection
    ``x - S_xz (S_xz' S^-1 S_xz)^+ S_xz' S^-1 (x - mu)`` (full-rank covariance assumed)."""
    X = X.astype(np.float64)
    mu = X.mean(axis=0)
    Xc = X - mu
    Zc = Z - Z.mean(axis=0)
    S = Xc.T @ Xc / len(X)
    Sxz = Xc.T @ Zc / len(X)
    Sinv_Sxz = np.linalg.solve(S, Sxz)
    oblique = Sxz @ np.linalg.pinv(Sxz.T @ Sinv_Sxz) @ Sinv_Sxz.T
    return X - Xc @ oblique.T


def bench_leace(X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from probes import LeaceEraser, LinearProbe

    start = time.perf_counter()
    eraser = LeaceEraser.fit(X, y)
    erased = eraser(X.astype(np.float64))
    fit_seconds = time.perf_counter() - start
    Z = np.eye(int(y.max()) + 1)[y]
    expected = reference_leace(X, Z)
    diff = float(np.abs(erased - expected).max())
    diff32 = float(np.abs(eraser(X).astype(np.float64) - expected).max())  # float32 in and out
    out: dict[str, Any] = {
        "n": len(X),
        "rank": eraser.rank,
        "seconds": fit_seconds,
        "max_abs_diff_vs_closed_form": diff,
        "max_abs_diff_vs_closed_form_float32_output": diff32,
        "max_abs_value": float(np.abs(expected).max()),
        "pass": max(diff, diff32) <= 1e-4,
    }
    try:
        import torch
        from concept_erasure import LeaceEraser as PeerEraser

        start = time.perf_counter()
        peer = PeerEraser.fit(
            torch.from_numpy(X.astype(np.float64)),
            torch.from_numpy(Z),
            shrinkage=False,
            constrain_cov_trace=False,
            svd_tol=1e-8,
        )
        peer_out = peer(torch.from_numpy(X.astype(np.float64))).numpy()
        out["concept_erasure_seconds"] = time.perf_counter() - start
        out["max_abs_diff_vs_concept_erasure"] = float(np.abs(erased - peer_out).max())
    except ImportError:
        out["concept_erasure"] = "not installed"
    # The guarantee, on held-out data: a fresh probe on erased vectors is at the majority baseline.
    half = len(X) // 2
    held = LeaceEraser.fit(X[:half], y[:half])
    probe = LinearProbe().fit(held(X[:half]), y[:half])
    out["probe_accuracy_after_erasure_heldout"] = float(probe.score(held(X[half:]), y[half:]))
    out["majority_baseline_heldout"] = float(np.bincount(y[half:]).max() / (len(y) - half))
    return out


def bench_mdl(X: np.ndarray, y: np.ndarray, rounds: int) -> dict[str, Any]:
    """Alternate one 5-fold evaluation and one MDL run; the ratio is taken per round (adjacent in
    time, so a change in machine load hits both) and the median reported."""
    from probes import evaluate_probe, mdl_probe

    eval_times, mdl_times, loads = [], [], []
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        start = time.perf_counter()
        ev = evaluate_probe(X, y, cv=5, n_bootstrap=0, progress=False)
        eval_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        mdl = mdl_probe(X, y, progress=False)
        mdl_times.append(time.perf_counter() - start)
        print(
            f"  5-fold {eval_times[-1]:.2f} s, MDL {mdl_times[-1]:.2f} s (load {loads[-1]:.2f})",
            flush=True,
        )
    ratios = [m / e for m, e in zip(mdl_times, eval_times, strict=True)]
    ratio = statistics.median(ratios)
    return {
        "n": len(X),
        "five_fold_seconds": eval_times,
        "mdl_seconds": mdl_times,
        "ratios": ratios,
        "ratio": ratio,
        "load_before_round": loads,
        "five_fold_accuracy": ev.score,
        "codelength_bits": mdl.codelength,
        "uniform_bits": mdl.uniform_codelength,
        "compression": mdl.compression,
        "candidates": list(mdl.candidates),
        "candidate_codelengths": list(mdl.candidate_codelengths),
        "pass": ratio < 2.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="training vectors")
    parser.add_argument("--test", type=int, default=20_000, help="held-out vectors")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per method")
    parser.add_argument("--repeats", type=int, default=2, help="timed fits per worker")
    parser.add_argument("--device", default="cpu", help="LinearProbe device: cpu, cuda, auto")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "probes.json"))
    args = parser.parse_args()
    if args.quick:
        args.n, args.test, args.rounds, args.repeats = 5000, 1000, 1, 1

    report: dict[str, Any] = {"machine": machine(), "load_start": os.getloadavg()}
    print(f"machine: {report['machine']}", flush=True)
    print("LinearProbe vs LogisticRegression(lbfgs):", flush=True)
    report["logistic"] = bench_logistic(args)
    X, y = make_embeddings(args.n + args.test)
    X, y = X[: args.n], y[: args.n]
    print("LEACE vs closed form:", flush=True)
    report["leace"] = bench_leace(X, y)
    print("MDL vs 5-fold:", flush=True)
    report["mdl"] = bench_mdl(X, y, args.rounds)
    report["load_end"] = os.getloadavg()

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    lg, le, md = report["logistic"], report["leace"], report["mdl"]
    print(json.dumps(report, indent=2))
    print(
        f"\nLinearProbe {lg['median_seconds']['probe']:.2f} s vs sklearn "
        f"{lg['median_seconds']['sklearn']:.2f} s: {lg['speedup']:.1f}x; accuracy "
        f"{lg['accuracy']['probe']:.4f} vs {lg['accuracy']['sklearn']:.4f} "
        f"(gap {lg['accuracy_gap_points']:.3f} points)\n"
        f"LEACE max |diff| vs float64 closed form {le['max_abs_diff_vs_closed_form']:.2e}\n"
        f"MDL {statistics.median(md['mdl_seconds']):.2f} s vs 5-fold "
        f"{statistics.median(md['five_fold_seconds']):.2f} s: ratio {md['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
