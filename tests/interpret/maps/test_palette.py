"""Colours: CIEDE2000 against Sharma et al.'s published pairs, and a palette that stays apart."""

from __future__ import annotations

import numpy as np
import pytest

from interpret.maps.palette import (
    CATEGORICAL,
    DARK,
    LIGHT,
    OKABE_ITO,
    ciede2000,
    min_delta_e,
    neighbour_delta_e,
    palette,
    simulate_cvd,
    srgb_to_lab,
    theme_colors,
)

# (Lab 1, Lab 2, CIEDE2000): pairs 1-3, 7, 13, 17-20 and 25 of Sharma, Wu & Dalal (2005), table 1
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
]


def test_ciede2000_matches_the_published_test_data():
    a = np.array([p[0] for p in SHARMA])
    b = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    np.testing.assert_allclose(ciede2000(a, b), expected, atol=1e-4)
    np.testing.assert_allclose(ciede2000(b, a), expected, atol=1e-4)  # symmetric
    assert float(ciede2000(a[0], a[0])) == 0.0


def test_lab_of_known_colours():
    lab = srgb_to_lab(["#FFFFFF", "#000000", "#FF0000"])
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)


def test_twenty_categories_stay_distinguishable_also_with_colour_blindness():
    twenty = palette(20)
    assert len(set(twenty)) == 20
    # the documented minimums (smallest CIEDE2000 of any pair of the first 20)
    assert min_delta_e(twenty, "normal") >= 11.0
    assert min_delta_e(twenty, "deuteranopia") >= 9.0
    assert min_delta_e(twenty, "protanopia") >= 9.0
    assert min_delta_e(CATEGORICAL, "deuteranopia") >= 8.0  # all 24


def test_legend_neighbours_are_far_apart():
    """Colours at most two legend rows apart differ far more than the floor of all pairs."""
    twenty = palette(20)
    assert neighbour_delta_e(twenty, "normal") >= 26.0
    assert neighbour_delta_e(twenty, "deuteranopia") >= 15.0
    assert neighbour_delta_e(twenty, "protanopia") >= 14.0
    # Okabe and Ito's eight come first (in another order), so small maps use them
    assert set(CATEGORICAL[:8]) == set(OKABE_ITO)
    # the order is what does it: the same colours sorted by their codes put near ones together
    assert neighbour_delta_e(sorted(twenty), "normal") < 20.0


def test_the_measure_can_fail_plotlys_default_colours_do():
    from plotly.colors import qualitative

    old = (list(qualitative.Plotly) + list(qualitative.Dark24))[:20]
    assert min_delta_e(old, "normal") < 6.0
    assert min_delta_e(old, "deuteranopia") < 2.0


def test_cvd_simulation_merges_red_and_green():
    rgb = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    seen = simulate_cvd(rgb, "deuteranopia")
    assert np.abs(seen[0] - seen[1]).max() < np.abs(rgb[0] - rgb[1]).max()
    with pytest.raises(ValueError, match="unknown vision"):
        simulate_cvd(rgb, "martian")


def test_palette_colours_stand_off_both_backgrounds():
    labs = srgb_to_lab(list(CATEGORICAL))
    for bg in (LIGHT.background, DARK.background):
        assert ciede2000(labs, srgb_to_lab([bg])[0]).min() >= 25.0


def test_themes():
    assert theme_colors("dark").plotly_template == "plotly_dark"
    assert theme_colors("light").background == "#ffffff"
    with pytest.raises(ValueError, match="unknown theme 'blue'"):
        theme_colors("blue")
