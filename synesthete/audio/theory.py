"""Music theory for the procedural composer: scales, diatonic chords, progressions, voicings.

Everything here is pure and deterministic (no randomness except through a passed `Generator`),
so the composer can ask "which pitches does bar 37 use" without rendering anything. Pitches are
MIDI note numbers; pitch classes are 0..11 with 0 = C.
"""

from __future__ import annotations

import numpy as np

# Semitone steps from the tonic. Modes with a clear major/minor colour only, so that diatonic
# triads map onto the score's chord qualities (major, minor, dim, sus).
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
}
SCALE_NAMES = tuple(SCALES)
# How often each scale is drawn: electronic music leans minor.
SCALE_WEIGHTS = np.array([0.22, 0.34, 0.16, 0.08, 0.10, 0.10])

# Progressions as scale degrees (0-based), by mood. A progression is looped for a whole piece.
PROGRESSIONS_MAJOR = (
    (0, 4, 5, 3),  # I V vi IV
    (0, 5, 3, 4),  # I vi IV V
    (5, 3, 0, 4),  # vi IV I V
    (0, 3, 0, 4),
    (0, 3, 4, 3),
    (1, 4, 0, 0),  # ii V I
    (0, 0, 3, 3),
)
PROGRESSIONS_MINOR = (
    (0, 5, 2, 6),  # i VI III VII
    (0, 3, 4, 0),  # i iv v i
    (0, 6, 5, 6),  # i VII VI VII
    (0, 5, 3, 4),
    (0, 0, 5, 6),
    (0, 3, 0, 3),
    (0, 2, 6, 3),
)
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def check_scale(scale: str) -> tuple[int, ...]:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known scales: {', '.join(SCALE_NAMES)}")
    return SCALES[scale]


def is_minor(scale: str) -> bool:
    return check_scale(scale)[2] == 3


def scale_pitches(key: int, scale: str, low: int, high: int) -> np.ndarray:
    """All MIDI pitches of `key`/`scale` in [low, high], ascending."""
    steps = check_scale(scale)
    pcs = {(key + s) % 12 for s in steps}
    return np.array([p for p in range(low, high + 1) if p % 12 in pcs], dtype=np.int64)


def triad(key: int, scale: str, degree: int, sus: bool = False) -> tuple[int, str, tuple[int, int, int]]:
    """The diatonic triad on `degree`: (root pitch class, quality, intervals above the root).

    Augmented triads (harmonic minor's III) are played with a perfect fifth and called major, and
    `sus` replaces the third by a fourth (quality "sus"), so every chord fits CHORD_QUALITIES.
    """
    steps = check_scale(scale)
    d = degree % 7
    root = steps[d]
    third = (steps[(d + 2) % 7] - root) % 12
    fifth = (steps[(d + 4) % 7] - root) % 12
    if sus and fifth == 7:
        return (key + root) % 12, "sus", (0, 5, 7)
    if third == 4:
        return (key + root) % 12, "major", (0, 4, 7)
    if fifth == 6:
        return (key + root) % 12, "dim", (0, 3, 6)
    return (key + root) % 12, "minor", (0, 3, 7)


def draw_progression(rng: np.random.Generator, scale: str) -> tuple[int, ...]:
    table = PROGRESSIONS_MINOR if is_minor(scale) else PROGRESSIONS_MAJOR
    return table[int(rng.integers(len(table)))]


def voicing(root_pc: int, intervals: tuple[int, ...], low: int, n_voices: int, seventh: int | None = None) -> list[int]:
    """Close voicing of a chord starting at the first root at or above `low` (plus an optional 7th)."""
    root = low + (root_pc - low) % 12
    notes = [root + i for i in intervals]
    if seventh is not None:
        notes.append(root + seventh)
    base, i = list(notes), 0
    while len(notes) < n_voices:  # double chord tones an octave up for fuller pads
        notes.append(base[i % len(base)] + 12 * (1 + i // len(base)))
        i += 1
    return notes[:n_voices]


def midi_to_hz(pitch: float | np.ndarray) -> float | np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)
