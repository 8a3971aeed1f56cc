"""The fixed chord-to-colour mapping: circle-of-fifths hues, quality-dependent saturation/brightness."""

from __future__ import annotations

import numpy as np

from synesthete.music_state import CHORD_QUALITIES
from synesthete.visual.palette import chord_palette, hsv_to_rgb, root_hue


def test_hue_follows_the_circle_of_fifths() -> None:
    c, g, d, f = root_hue(np.array([0, 7, 2, 5]))
    assert c == 0.0
    assert np.isclose(g, 1 / 12) and np.isclose(d, 2 / 12) and np.isclose(f, 11 / 12)
    assert len(set(root_hue(np.arange(12)).tolist())) == 12  # every root its own hue


def test_primary_hues_convert_exactly() -> None:
    rgb = hsv_to_rgb(np.array([0.0, 1 / 3, 2 / 3]), np.ones(3), np.ones(3))
    np.testing.assert_allclose(rgb, np.eye(3), atol=1e-6)


def test_quality_sets_saturation_and_brightness() -> None:
    quals = np.arange(len(CHORD_QUALITIES))
    base, accent = chord_palette(np.zeros(len(quals)), quals)  # C major, minor, dim, sus
    assert base.shape == accent.shape == (len(quals), 3)
    assert base.min() >= 0 and base.max() <= 1
    brightness = base.max(axis=1)
    saturation = 1 - base.min(axis=1) / brightness
    major, minor, dim = (CHORD_QUALITIES.index(q) for q in ("major", "minor", "dim"))
    assert brightness[minor] < brightness[major] and saturation[minor] < saturation[major]
    assert saturation[dim] < saturation[minor] and brightness[dim] < brightness[minor]
    assert not np.allclose(base, accent)


def test_same_chord_same_colour_any_octave_or_float() -> None:
    a, _ = chord_palette(np.array([9.0]), np.array([1.0]))
    b, _ = chord_palette(np.array([21.0]), np.array([1.0]))
    np.testing.assert_array_equal(a, b)
