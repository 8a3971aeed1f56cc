"""The fixed chord-to-colour mapping every style shares, so harmony reads the same everywhere.

Hue comes from the chord root's place on the circle of fifths (C red, G orange, D yellow, ...
F rose): chords a fifth apart, the most common harmonic move, get neighbouring hues, and a
modulation walks smoothly around the colour wheel. The chord quality sets saturation and
brightness and where the accent (second) colour sits:

| quality | saturation | brightness | accent hue     | feel                      |
|---------|-----------:|-----------:|----------------|---------------------------|
| major   | 0.85       | 1.00       | +1/3 (triadic) | vivid, open, contrasting  |
| minor   | 0.70       | 0.80       | +1/12 (near)   | deeper, moodier, analogous|
| dim     | 0.40       | 0.65       | +1/2 (complement) | washed out, tense      |
| sus     | 0.55       | 0.95       | +1/6           | airy, pale                |

`chord_palette` gives per-frame (T, 3) base and accent colours; styles multiply their scalar
fields by these, so the colours are per-frame constants and cost nothing per pixel.
"""

from __future__ import annotations

import numpy as np

from synesthete.music_state import CHORD_QUALITIES

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# Per quality, in CHORD_QUALITIES order: (saturation, brightness, accent hue offset in turns).
QUALITY_STYLE = {
    "major": (0.85, 1.00, 1.0 / 3.0),
    "minor": (0.70, 0.80, 1.0 / 12.0),
    "dim": (0.40, 0.65, 0.5),
    "sus": (0.55, 0.95, 1.0 / 6.0),
}
_QUALITY_TABLE = np.array([QUALITY_STYLE[q] for q in CHORD_QUALITIES], dtype=np.float32)  # (n_q, 3)


def root_hue(root: np.ndarray) -> np.ndarray:
    """Hue in turns [0, 1) of a chord root pitch class: its position on the circle of fifths / 12."""
    pc = np.mod(np.rint(np.asarray(root, dtype=np.float64)), 12).astype(np.int64)
    return (np.mod(pc * 7, 12) / 12.0).astype(np.float32)


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB; h in turns, s and v in [0, 1]. Returns (..., 3) float32."""
    h = np.mod(np.asarray(h, dtype=np.float32), 1.0)
    s = np.asarray(s, dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    # The smooth form of the HSV hexcone: channel k peaks where h*6 is near its sector.
    k = np.mod(np.stack([5.0 + h * 6.0, 3.0 + h * 6.0, 1.0 + h * 6.0], axis=-1), 6.0)
    ramp = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return (v[..., None] * (1.0 - s[..., None] * ramp)).astype(np.float32)


def chord_palette(root: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Base and accent colours per frame, each (T, 3) float32 in [0, 1], from chord root and quality."""
    q = np.clip(np.rint(np.asarray(quality, dtype=np.float64)), 0, len(CHORD_QUALITIES) - 1).astype(np.int64)
    sat, val, offset = _QUALITY_TABLE[q].T  # (T,) each
    hue = root_hue(root)
    base = hsv_to_rgb(hue, sat, val)
    accent = hsv_to_rgb(hue + offset, sat, val)
    return base, accent


def palette_table() -> list[tuple[str, float, tuple[float, float, float]]]:
    """(root name, hue in degrees, major base RGB) for every pitch class, for docs and tests."""
    rows = []
    for pc, name in enumerate(NOTE_NAMES):
        base, _ = chord_palette(np.array([pc]), np.array([0]))
        rows.append((name, float(root_hue(np.array([pc]))[0] * 360.0), tuple(float(c) for c in base[0])))
    return rows
