"""Colours of maps: a categorical palette that stays distinguishable, CIEDE2000, and themes.

:data:`CATEGORICAL` holds 24 colours: Okabe and Ito's eight colour-blind-safe colours (black
replaced by a dark blue-grey that shows on both themes), then 16 chosen greedily (once, offline,
by :func:`greedy_palette`, colours 9-20 re-chosen one at a time given the others until nothing
improved) so that the smallest CIEDE2000 difference between any two of the first ``k`` is as
large as it can be, in normal colour vision *and* under simulated deuteranopia and protanopia
(the two common colour-vision deficiencies, Machado et al. 2009 at full severity), and each
colour stands off both themes' backgrounds.

The order then keeps similar colours apart in a legend: within three blocks (colours 1-8, 9-20
and 21-24, so the first 8 and the first 20 stay the same sets) a local search (random-restart
swaps) maximised the smallest difference between colours at most two legend rows apart.

The floors, which the tests hold (:func:`min_delta_e`, :func:`neighbour_delta_e`):

- any two of the first 20: CIEDE2000 >= 11 in normal vision, >= 9 with deuteranopia or
  protanopia (11.1, 9.2 and 9.1 measured; plotly's default 20 give 4.9 and 0.6);
- neighbours (at most two legend rows apart) among the first 20: >= 26 in normal vision, >= 15
  with deuteranopia and >= 14 with protanopia (26.2, 15.7 and 14.0 measured; before this
  order: 16.1, 11.6 and 10.8 for next-door neighbours alone).

Tritanopia (rare) is not optimised: 4.2. Points are drawn nearly opaque in paper figures, since
translucent points over a white page lose much of these differences.

:func:`ciede2000` is the CIE 2000 colour difference (Sharma, Wu and Dalal 2005), vectorised
with numpy; :func:`srgb_to_lab` converts hex sRGB colours to CIELAB (D65). Only numpy is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Theme = Literal["light", "dark"]
THEMES: tuple[str, ...] = ("light", "dark")

#: 24 categorical colours: Okabe & Ito's eight first (black replaced by a dark blue-grey), in
#: an order that keeps similar colours two or more legend rows apart
CATEGORICAL: tuple[str, ...] = (
    "#56B4E9", "#CC79A7", "#E69F00", "#009E73", "#0072B2", "#D55E00", "#F0E442", "#5A6E87",
    "#227744", "#EE7788", "#3388FF", "#992255", "#CC1100", "#BB9955", "#22CCAA", "#AA0022",
    "#667777", "#00EE88", "#5511EE", "#DD3355", "#44AABB", "#006666", "#CC11BB", "#6655FF",
)  # fmt: skip

#: Okabe and Ito's eight colours as :data:`CATEGORICAL` uses them (black replaced)
OKABE_ITO: tuple[str, ...] = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#5A6E87",
)  # fmt: skip

#: colour of folded ("(other)"), missing and noise points
GREY = "#b4b4b4"


@dataclass(frozen=True)
class ThemeColors:
    """The colours of one theme: backgrounds, text, grid, halo behind labels, highlight."""

    name: str
    background: str
    panel: str
    text: str
    muted_text: str
    grid: str
    halo: str
    highlight: str
    plotly_template: str


LIGHT = ThemeColors(
    "light", "#ffffff", "#f4f5f7", "#1a1a1a", "#5c6470", "#e3e6ea", "rgba(255,255,255,0.8)",
    "#000000", "plotly_white",
)  # fmt: skip
DARK = ThemeColors(
    "dark", "#111418", "#1b2027", "#e8e8e8", "#a3acb8", "#2a3039", "rgba(17,20,24,0.8)",
    "#ffffff", "plotly_dark",
)  # fmt: skip


def theme_colors(theme: str) -> ThemeColors:
    """The :class:`ThemeColors` of ``"light"`` or ``"dark"``; anything else raises."""
    if theme == "light":
        return LIGHT
    if theme == "dark":
        return DARK
    raise ValueError(f"unknown theme {theme!r}: use 'light' or 'dark'")


def palette(k: int) -> list[str]:
    """``k`` categorical colours from :data:`CATEGORICAL` (repeating past 24).

    Examples
    --------
    >>> palette(3)
    ['#56B4E9', '#CC79A7', '#E69F00']
    """
    return [CATEGORICAL[i % len(CATEGORICAL)] for i in range(k)]


# --------------------------------------------------------------------------- colour science


def hex_to_rgb(colors: Sequence[str]) -> np.ndarray:
    """``#RRGGBB`` strings as an ``(n, 3)`` float array in [0, 1]."""
    out = []
    for c in colors:
        s = c.lstrip("#")
        if len(s) != 6:
            raise ValueError(f"expected a colour as #RRGGBB, got {c!r}")
        out.append([int(s[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])
    return np.asarray(out, dtype=np.float64).reshape(-1, 3)


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _gamma(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_WHITE = np.array([0.95047, 1.0, 1.08883])

#: Machado, Oliveira and Fernandes (2009), severity 1.0, on linear RGB
CVD_MATRICES = {
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}  # fmt: skip


def simulate_cvd(rgb: np.ndarray, kind: str) -> np.ndarray:
    """sRGB colours (``(n, 3)`` in [0, 1]) as seen with a colour-vision deficiency."""
    if kind == "normal":
        return rgb
    if kind not in CVD_MATRICES:
        raise ValueError(f"unknown vision {kind!r}: use 'normal' or one of {sorted(CVD_MATRICES)}")
    return _gamma(_linear(rgb) @ CVD_MATRICES[kind].T)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to CIELAB (D65 white), ``(n, 3)``."""
    xyz = (_linear(np.asarray(rgb, dtype=np.float64)) @ _RGB_TO_XYZ.T) / _WHITE
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


def srgb_to_lab(colors: Sequence[str]) -> np.ndarray:
    """``#RRGGBB`` strings to CIELAB."""
    return rgb_to_lab(hex_to_rgb(colors))


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours (broadcasting over leading axes).

    Implements Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula:
    implementation notes", with kL = kC = kH = 1.

    Examples
    --------
    >>> round(float(ciede2000(np.array([50.0, 2.6772, -79.7751]),
    ...                       np.array([50.0, 0.0, -82.7485]))), 4)
    2.0425
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    C1 = np.hypot(a1, b1)
    C2 = np.hypot(a2, b2)
    Cbar7 = ((C1 + C2) / 2) ** 7
    G = 0.5 * (1 - np.sqrt(Cbar7 / (Cbar7 + 25.0**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, h1p)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, h2p)
    dLp = L2 - L1
    dCp = C2p - C1p
    zero = C1p * C2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(zero, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lbp = (L1 + L2) / 2
    Cbp = (C1p + C2p) / 2
    hsum = h1p + h2p
    hbp = np.where(
        np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
    )
    hbp = np.where(zero, hsum, hbp)
    T = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    dtheta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    Cbp7 = Cbp**7
    Rc = 2 * np.sqrt(Cbp7 / (Cbp7 + 25.0**7))
    Sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    Sc = 1 + 0.045 * Cbp
    Sh = 1 + 0.015 * Cbp * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt(
        (dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh)
    )


def pairwise_delta_e(colors: Sequence[str], vision: str = "normal") -> np.ndarray:
    """``(k, k)`` CIEDE2000 differences of ``colors`` as seen with ``vision``."""
    lab = rgb_to_lab(simulate_cvd(hex_to_rgb(colors), vision))
    return ciede2000(lab[:, None, :], lab[None, :, :])


def min_delta_e(colors: Sequence[str], vision: str = "normal") -> float:
    """The smallest CIEDE2000 difference between two of ``colors`` (seen with ``vision``).

    Examples
    --------
    >>> min_delta_e(["#000000", "#ffffff"]) > 99
    True
    """
    d = pairwise_delta_e(colors, vision)
    return float(d[~np.eye(len(colors), dtype=bool)].min()) if len(colors) > 1 else float("inf")


def neighbour_delta_e(colors: Sequence[str], vision: str = "normal", window: int = 2) -> float:
    """The smallest CIEDE2000 difference between two of ``colors`` at most ``window`` places
    apart (neighbours in a legend), seen with ``vision``.

    Examples
    --------
    >>> neighbour_delta_e(["#000000", "#ffffff", "#000000"], window=1) > 99
    True
    """
    d = pairwise_delta_e(colors, vision)
    n = len(colors)
    pairs = [d[i, j] for i in range(n) for j in range(i + 1, min(n, i + window + 1))]
    return float(min(pairs)) if pairs else float("inf")


def greedy_palette(
    k: int,
    *,
    start: Sequence[str] = OKABE_ITO,
    visions: Sequence[str] = ("normal", "deuteranopia", "protanopia"),
    backgrounds: Sequence[str] = (LIGHT.background, DARK.background),
    min_background: float = 30.0,
    lightness: tuple[float, float] = (35.0, 88.0),
    step: int = 17,
) -> list[str]:
    """Extend ``start`` to ``k`` colours, each time adding the sRGB grid colour whose smallest
    CIEDE2000 difference to those chosen (the minimum over ``visions``) is largest, among
    colours at least ``min_background`` from every background and with CIELAB lightness in
    ``lightness`` (neither near-black nor near-white, so points show on both themes). How :data:`CATEGORICAL` was made.
    """
    levels = np.arange(0, 256, step)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    names = [f"#{r:02X}{g:02X}{b:02X}" for r, g, b in grid.tolist()]
    rgb = grid / 255.0
    labs = {v: rgb_to_lab(simulate_cvd(rgb, v)) for v in visions}
    bg = srgb_to_lab(list(backgrounds))
    plain = rgb_to_lab(rgb)
    ok = (plain[:, 0] >= lightness[0]) & (plain[:, 0] <= lightness[1])
    for b in bg:
        ok &= ciede2000(plain, b) >= min_background
    chosen = list(start)
    best = np.full(len(names), np.inf)
    for c in chosen:
        one = hex_to_rgb([c])
        for v in visions:
            ref = rgb_to_lab(simulate_cvd(one, v))[0]
            best = np.minimum(best, ciede2000(labs[v], ref))
    while len(chosen) < k:
        j = int(np.argmax(np.where(ok, best, -1.0)))
        chosen.append(names[j])
        for v in visions:
            best = np.minimum(best, ciede2000(labs[v], labs[v][j]))
    return chosen[:k]
