"""The score: what the procedural music engine played, as ground truth for the visuals.

A `Score` holds the symbolic events of a clip (beats, onsets per stem, notes, chords, sections).
`Score.frame_controls(fps, n_frames)` turns it into `FrameControls`: per-video-frame signals that
the teacher visualizers draw from and that training may use as auxiliary targets.

Timing convention (shared with the feature extractor and the model): video frame t stands for the
instant (t + 1) / fps seconds, the time of the newest audio sample the frame may depend on. Every
control is causal: its value at frame t depends only on events at or before that instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synesthete.constants import STEMS

# Chord qualities, in the order of `FrameControls.chord_quality`.
CHORD_QUALITIES = ("major", "minor", "dim", "sus")
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

    def frame_controls(self, fps: float, n_frames: int, start_time: float = 0.0) -> "FrameControls":
        """Per-frame control signals for frames whose instants are start_time + (t + 1) / fps."""
        from synesthete.audio.controls import frame_controls

        return frame_controls(self, fps, n_frames, start_time)


@dataclass
class FrameControls:
    """Per-video-frame signals, all float32 numpy arrays of length T (or (T, n) where noted).

    Values are causal (see module docstring) and normalised so that visualizers can use them
    directly: envelopes, energy and phases in [0, 1].
    """

    time: np.ndarray  # (T,) seconds, the instant each frame stands for
    env: np.ndarray  # (T, len(STEMS)) per-stem envelopes in [0, 1]: jump on an onset, then decay
    onset: np.ndarray  # (T, len(STEMS)) velocity of any onset of that stem within the frame, else 0
    beat_phase: np.ndarray  # (T,) 0 at each beat, rising to 1 just before the next
    bar_phase: np.ndarray  # (T,) 0 at each downbeat, rising to 1 just before the next
    beat_count: np.ndarray  # (T,) beats elapsed since the clip started (float, for rotations)
    chord_root: np.ndarray  # (T,) pitch class 0..11 of the sounding chord (float for tensors)
    chord_quality: np.ndarray  # (T,) index into CHORD_QUALITIES
    energy: np.ndarray  # (T,) section energy in [0, 1], smoothed over ~0.5 s
    melody: np.ndarray  # (T,) lead pitch of the last lead note, mapped to [0, 1] over MIDI 48..96
    bass: np.ndarray  # (T,) bass pitch of the last bass note, mapped to [0, 1] over MIDI 24..60

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def stem(self, name: str) -> np.ndarray:
        """Envelope of one stem, e.g. ctrl.stem("kick")."""
        return self.env[:, STEMS.index(name)]

    def slice(self, start: int, stop: int) -> "FrameControls":
        return FrameControls(**{k: v[start:stop] for k, v in self.__dict__.items()})
