"""The score: what the procedural music engine played, as ground truth for the visuals.

A `Score` holds the symbolic events of a clip (beats, onsets per stem, notes, chords, sections).
`Score.music_state(fps, n_frames)` turns it into the exact `MusicState` (synesthete.music_state):
what the looks draw from and what the hearing model is trained against.

Timing convention (shared with the feature extractor and the model): video frame t stands for the
instant (t + 1) / fps seconds, the time of the newest audio sample the frame may depend on. Every
control is causal: its value at frame t depends only on events at or before that instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synesthete.constants import STEMS
from synesthete.music_state import CHORD_QUALITIES, MusicState  # noqa: F401  (CHORD_QUALITIES re-exported)

SECTION_NAMES = ("intro", "build", "drop", "breakdown", "outro")


@dataclass
class Note:
    stem: str
    pitch: int  # MIDI note number
    start: float  # seconds
    duration: float  # seconds
    velocity: float  # 0..1


@dataclass
class Chord:
    start: float
    end: float
    root: int  # pitch class 0..11 (0 = C)
    quality: str  # one of CHORD_QUALITIES


@dataclass
class Section:
    start: float
    end: float
    name: str  # one of SECTION_NAMES
    energy: float  # 0..1


@dataclass
class Score:
    sample_rate: int
    duration: float  # seconds
    tempo: float  # BPM
    swing: float  # 0..0.5, fraction of an eighth the off-beat is delayed
    key: int  # pitch class of the tonic
    scale: str  # e.g. "major", "minor", "dorian"
    beat_times: np.ndarray  # (n_beats,) seconds
    downbeat_times: np.ndarray  # (n_bars,) seconds
    # stem -> (times (n,), velocities (n,)); every stem in STEMS is present (possibly empty).
    onsets: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    chords: list[Chord] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # Added by the music engine (all optional, with defaults, for older callers):
    beats_per_bar: int = 4
    swing_unit: float = 0.5  # beats; the off-beat of each pair of units is late by swing * unit
    # (start, end, gain) spans where the master level is below 1: quiet passages and silences (gain 0).
    dynamics: list[tuple[float, float, float]] = field(default_factory=list)
    offset: float = 0.0  # where in the endless piece this clip starts, seconds
    density: float = 0.5  # how busy the patterns are, 0..1

    def music_state(self, fps: float, n_frames: int, start_time: float = 0.0) -> MusicState:
        """The exact music state for frames whose instants are start_time + (t + 1) / fps."""
        from synesthete.audio.score_state import score_music_state

        return score_music_state(self, fps, n_frames, start_time)
