"""Benchmark of interpret.maps: UMAP layout overhead, and a million-point figure in a browser.

Two measurements, each optional:

1. **Layout.** ``--n-umap`` vectors of ``--dim`` dimensions (a mixture of Gaussian clusters on
   the unit sphere) laid out by calling umap-learn directly and by ``EmbeddingMap.fit`` with the
   same parameters (n_neighbors=15, min_dist=0.1, cosine, no seed so umap-learn uses every
   core). numba's compilation is paid by a warm-up on a small set first; the two runs then
   alternate ``--repeats`` times and the best time of each is compared.
2. **Figure.** ``--n-figure`` points (PCA layout of small vectors, one synthetic text and one of
   20 labels each): time to build the figure and to write the self-contained HTML, its size,
   and whether headless Chromium renders it (no JavaScript error, points drawn: screenshot
   pixel statistics). Needs Debian's ``chromium``; without it the browser step is skipped.

3. **Page to share.** For each of ``--n-share`` (default 100,000 and 1,000,000) points, the
   same data as the figure plus 20 k-means clusters named on the map: ``export_html`` (its
   time split into neighbours, payload and writing), the file's size and what each part of it
   weighs, then headless Chromium: the page's own time from navigation to the first full draw,
   the wall time of the Chromium run, JavaScript errors, points drawn, screenshot ink; and a
   search over every text typed into the page (time to inflate and scan all blocks).

Run ``python benchmarks/maps.py --n-umap 2000 --n-figure 20000 --n-share 20000`` for a quick
check; the defaults are the sizes of the issues (100,000 and 1,000,000). Results go to
``benchmarks/out/maps.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interpret.maps import EmbeddingMap  # noqa: E402
from interpret.maps.browser import probe_page, render_check  # noqa: E402
from interpret.maps.export import find_chromium, write_html  # noqa: E402
from interpret.maps.page import flatten, unpack_indices  # noqa: E402

logger = logging.getLogger("benchmarks.maps")

WORDS = [
    "river",
    "stone",
    "market",
    "cloud",
    "ticket",
    "garden",
    "engine",
    "letter",
    "winter",
    "signal",
    "bridge",
    "candle",
    "forest",
    "harbor",
    "needle",
    "orbit",
    "pepper",
    "quartz",
    "rocket",
    "saddle",
    "tunnel",
    "velvet",
    "walnut",
    "yellow",
    "zephyr",
]


def clustered_vectors(n: int, dim: int, *, clusters: int = 64, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` random centres: a stand-in for text embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    X = centres[rng.integers(0, clusters, size=n)]
    X += 0.6 * rng.normal(size=(n, dim)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def machine() -> dict[str, Any]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Model name" in ln), ""
        )
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def bench_layout(n: int, dim: int, repeats: int) -> dict[str, Any]:
    import umap

    params = {"n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "n_components": 2}
    warm = clustered_vectors(2_000, dim, seed=1)
    start = time.perf_counter()
    umap.UMAP(**params).fit_transform(warm)
    EmbeddingMap("umap", progress=False, n_neighbors=15, min_dist=0.1).fit(warm)
    logger.info("warm-up (numba compilation) took %.1f s", time.perf_counter() - start)

    X = clustered_vectors(n, dim)
    direct, ours = [], []
    for r in range(repeats):
        start = time.perf_counter()
        umap.UMAP(**params).fit_transform(X)
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        EmbeddingMap("umap", progress=False, max_fit_points=None, n_neighbors=15, min_dist=0.1).fit(
            X
        )
        ours.append(time.perf_counter() - start)
        logger.info("repeat %d: umap-learn %.1f s, EmbeddingMap %.1f s", r, direct[-1], ours[-1])
    return {
        "n": n,
        "dim": dim,
        "params": params,
        "umap_learn_s": [round(t, 2) for t in direct],
        "embedding_map_s": [round(t, 2) for t in ours],
        "ratio_best": round(min(ours) / min(direct), 3),
    }


def bench_figure(n: int, out_dir: Path, *, browser: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = clustered_vectors(n, 16, clusters=20)
    labels = [f"group {g}" for g in rng.integers(0, 20, size=n)]
    picks = rng.integers(0, len(WORDS), size=(n, 12))
    texts = [f"record {i}: " + " ".join(WORDS[j] for j in row) for i, row in enumerate(picks)]
    result: dict[str, Any] = {"n": n}

    start = time.perf_counter()
    m = EmbeddingMap("pca", progress=False).fit(X, texts=texts, labels={"group": labels})
    result["layout_pca_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    fig = m.figure(color="group")
    result["figure_s"] = round(time.perf_counter() - start, 2)
    result["hover_chars"] = max(len(h) for h in fig.data[0].hovertext[:100])

    path = out_dir / f"map-{n}.html"
    start = time.perf_counter()
    write_html(fig, path)
    result["save_html_s"] = round(time.perf_counter() - start, 2)
    result["html_mb"] = round(path.stat().st_size / 1e6, 1)
    logger.info(
        "figure of %d points: build %.1f s, save %.1f s, %.1f MB",
        n,
        result["figure_s"],
        result["save_html_s"],
        result["html_mb"],
    )
    if browser and find_chromium() is not None:
        start = time.perf_counter()
        report = render_check(
            path,
            screenshot=out_dir / f"map-{n}.png",
            width=1200,
            height=900,
            budget_ms=60_000,
            timeout=600,
        )
        result["browser"] = {
            "seconds": round(time.perf_counter() - start, 1),
            "ok": report.ok,
            "errors": report.errors,
            "points_plotted": report.points,
            "traces": report.traces,
            "ink_fraction": round(report.ink, 4),
            "distinct_colors": report.colors,
            "webgl_missing": report.no_webgl,
        }
        logger.info("browser: %s", result["browser"])
    else:
        result["browser"] = None
        logger.warning("no Chromium found (apt-get install chromium): browser check skipped")
    return result


def synthetic_map_data(n: int) -> tuple[np.ndarray, list[str], list[str]]:
    """The figure benchmark's data: 16-dim clustered vectors, ~100-character texts, 20 labels."""
    rng = np.random.default_rng(0)
    X = clustered_vectors(n, 16, clusters=20)
    labels = [f"group {g}" for g in rng.integers(0, 20, size=n)]
    picks = rng.integers(0, len(WORDS), size=(n, 12))
    texts = [f"record {i}: " + " ".join(WORDS[j] for j in row) for i, row in enumerate(picks)]
    return X, texts, labels


def bench_share(n: int, out_dir: Path, *, browser: bool) -> dict[str, Any]:
    import base64
    import re

    X, texts, labels = synthetic_map_data(n)
    result: dict[str, Any] = {"n": n}
    start = time.perf_counter()
    m = EmbeddingMap("pca", progress=False, random_state=0).fit(
        X, texts=texts, labels={"group": labels}
    )
    m.cluster("kmeans", n_clusters=20, random_state=0)
    result["layout_and_clusters_s"] = round(time.perf_counter() - start, 1)
    path = out_dir / f"share-{n}.html"
    start = time.perf_counter()
    m.export_html(path, color="group", title=f"{n:,} synthetic records")
    result["export_s"] = round(time.perf_counter() - start, 1)
    size = path.stat().st_size
    result["html_mb"] = round(size / 1e6, 1)
    page = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    texts_b64 = sum(len(b) for b in data["texts"]["blocks"])
    result["parts_mb"] = {
        "coordinates": round((len(data["x"]) + len(data["y"])) / 1e6, 1),
        "labels_and_clusters": round(sum(len(c.get("data", "")) for c in data["columns"]) / 1e6, 1),
        "neighbors": round(len(data["neighbors"]["data"]) / 1e6, 1),
        "texts": round(texts_b64 / 1e6, 1),
    }
    result["parts_mb"]["rest"] = round(size / 1e6 - sum(result["parts_mb"].values()), 1)
    result["text_budget_chars"] = data["texts"]["budget"]
    result["texts_cut"] = data["texts"]["cut"]
    result["texts_raw_mb"] = round(data["texts"]["raw_bytes"] / 1e6, 1)
    result["texts_deflated_mb"] = round(data["texts"]["compressed_bytes"] / 1e6, 1)
    result["neighbors"] = {k: data["neighbors"][k] for k in ("k", "bits", "exact")}
    assert len(base64.b64decode(data["x"])) == 2 * n
    nb = data["neighbors"]
    probe_row = n // 2
    expected_neighbors = unpack_indices(nb["bits"], nb["data"], nb["k"], n)[probe_row].tolist()
    del page, data
    logger.info("share page of %d points: %s", n, result)
    if browser and find_chromium() is not None:
        report = render_check(
            path,
            screenshot=out_dir / f"share-{n}.png",
            width=1400,
            height=900,
            budget_ms=60_000,
            timeout=600,
        )
        result["browser"] = {
            "ok": report.ok,
            "errors": report.errors,
            "points_drawn": (report.page or {}).get("drawn"),
            # the page's own clock; headless Chromium runs it in virtual time, so only the wall
            # time of the whole Chromium run (start, load, parse, decode, draw, exit) is real
            "page_clock_render_ms": round((report.page or {}).get("render_ms") or -1),
            "chromium_wall_s": round(report.seconds, 1),
            "ink_fraction": round(report.ink, 4),
        }
        started = time.perf_counter()
        found, errors = probe_page(
            path,
            "(function () { var t = performance.now(); return embedlens.search('zephyr rocket')"
            ".then(function (list) { var t2 = performance.now(); embedlens.click("
            + str(probe_row)
            + "); return {matches: list.length, page_clock_ms: t2 - t,"
            " neighbors: embedlens.state.neighbors, first: list.slice(0, 3)}; }); })()",
            budget_ms=120_000,
            timeout=600,
        )
        result["browser"]["search_click_run_wall_s"] = round(time.perf_counter() - started, 1)
        result["browser"]["search"] = found
        result["browser"]["search_errors"] = errors
        budget = int(result["text_budget_chars"])
        expected = sum("zephyr rocket" in flatten(t, budget).lower() for t in texts)
        result["browser"]["search_expected"] = expected
        result["browser"]["neighbors_match_python"] = (
            found is not None and found.get("neighbors") == expected_neighbors
        )
        if found is not None:
            found.pop("neighbors", None)
        logger.info("browser: %s", result["browser"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n-umap", type=int, default=100_000, help="points of the layout benchmark (0: skip)"
    )
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--n-figure", type=int, default=1_000_000, help="points of the figure benchmark (0: skip)"
    )
    parser.add_argument(
        "--n-share",
        default="100000,1000000",
        help="comma-separated sizes of the share-page benchmark ('' or 0: skip)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the headless Chromium check"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "maps.json")
    parser.add_argument(
        "--keep", type=Path, default=None, help="folder to keep the HTML and screenshot in"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("numba").setLevel(logging.WARNING)

    results: dict[str, Any] = {"machine": machine()}
    if args.n_umap:
        results["layout"] = bench_layout(args.n_umap, args.dim, args.repeats)
    if args.n_figure:
        with tempfile.TemporaryDirectory(prefix="embedlens-bench-") as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            results["figure"] = bench_figure(args.n_figure, folder, browser=not args.no_browser)
    sizes = [int(v) for v in str(args.n_share).split(",") if v.strip() and int(v) > 0]
    if sizes:
        with tempfile.TemporaryDirectory(prefix="embedlens-bench-") as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            results["share"] = [bench_share(n, folder, browser=not args.no_browser) for n in sizes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
