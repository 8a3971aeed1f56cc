"""Synthetic `MusicState` for a steady groove, without rendering any audio.

Visual tests, speed measurements and doc stills need controls whose musical content is known
exactly (a kick on every beat, a snare on 2 and 4, hats on the eighths, a I-V-vi-IV progression),
independently of the procedural music engine. `groove_controls` builds them directly from a
tempo and a few switches; its envelopes follow the score convention (jump to the onset velocity,
then decay exponentially), and every value is causal: frame t sees only events up to its instant.
"""

from __future__ import annotations

import numpy as np

from synesthete.music_state import MusicState
from synesthete.constants import STEMS

# Envelope decay time constants (seconds) per stem, roughly how long each sound rings.
# Drum values match synesthete.audio.score_state.DRUM_TAU; pitched stems ring about a note's length.
_DECAY = {"kick": 0.15, "snare": 0.15, "hat_closed": 0.06, "hat_open": 0.3, "perc": 0.15,
          "bass": 0.4, "chords": 1.5, "lead": 0.4, "fx": 1.0}
_PROGRESSION = ((0, 0), (7, 0), (9, 1), (5, 0))  # (root pitch class, quality index): C G Am F
_MELODY = (0, 4, 7, 12, 11, 7, 4, 2)  # semitones above C4, one note per beat


def groove_controls(n_frames: int, fps: float = 30.0, bpm: float = 120.0, energy: float = 0.8,
                    drums: bool = True, start_time: float = 0.0, chord_root: int | None = None,
                    chord_quality: int | None = None) -> MusicState:
    """Controls of a 4/4 groove: kick every beat, snare on 2 and 4, closed hats on eighths,
    open hat before each bar, bass on every beat, a chord per bar, a lead note per beat.

    `drums=False` with `energy=0` gives a calm, empty passage (no onsets at all). `chord_root` /
    `chord_quality` pin the harmony instead of cycling the progression.
    """
    if n_frames < 0 or fps <= 0 or bpm <= 0:
        raise ValueError(f"need n_frames >= 0, fps > 0, bpm > 0; got {n_frames}, {fps}, {bpm}")
    t = (start_time + (np.arange(n_frames) + 1) / fps).astype(np.float64)  # (T,) frame instants
    beat = 60.0 / bpm
    beats = t / beat
    beat_count = np.floor(beats)
    bar = np.floor(beats / 4.0)
    # Onset times per stem in beats (pattern repeating every bar).
    patterns = {"kick": [0, 1, 2, 3], "snare": [1, 3], "hat_closed": [0, 0.5, 1, 1.5, 2, 2.5, 3],
                "hat_open": [3.5], "perc": [], "bass": [0, 1, 2, 3], "chords": [0], "lead": [0, 1, 2, 3],
                "fx": []}
    env = np.zeros((n_frames, len(STEMS)), np.float32)
    onset = np.zeros((n_frames, len(STEMS)), np.float32)
    if drums or energy > 0:
        active = list(patterns) if drums else ["chords"]
        for stem in active:
            offsets = np.asarray(patterns[stem], np.float64)
            if offsets.size == 0:
                continue
            # Time since the latest onset at or before each instant (pattern repeats every 4 beats).
            pos = np.mod(beats, 4.0)[:, None] - offsets[None, :]  # (T, n_on)
            since = np.where(pos >= 0, pos, pos + 4.0).min(axis=1) * beat  # seconds
            valid = t - since >= -1e-9
            env[:, STEMS.index(stem)] = np.where(valid, np.exp(-since / _DECAY[stem]), 0.0)
            onset[:, STEMS.index(stem)] = np.where(valid & (since < 1.0 / fps), 1.0, 0.0)
    prog = np.asarray(_PROGRESSION)[bar.astype(np.int64) % len(_PROGRESSION)]  # (T, 2)
    root = prog[:, 0] if chord_root is None else np.full(n_frames, chord_root)
    quality = prog[:, 1] if chord_quality is None else np.full(n_frames, chord_quality)
    melody_pitch = 60 + np.asarray(_MELODY)[beat_count.astype(np.int64) % len(_MELODY)]
    bass_pitch = 36 + root
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return MusicState.from_arrays(dict(
        time=f32(t), tempo=np.full(n_frames, bpm), env=env, onset=onset, beat_phase=f32(beats - beat_count),
        bar_phase=f32(beats / 4.0 - bar), beat_count=f32(beats), chord_root=f32(root),
        chord_quality=f32(quality), energy=f32(np.full(n_frames, energy)),
        melody=f32(np.clip((melody_pitch - 48) / 48.0, 0, 1)),
        bass=f32(np.clip((bass_pitch - 24) / 36.0, 0, 1)),
    ))
