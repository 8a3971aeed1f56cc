"""The music state: what the music is doing, frame by frame. The one contract between hearing and drawing.

The score produces it exactly (`Score.music_state`, confidence 1.0); the hearing model produces an
estimate from audio alone (`synesthete.model`); the looks draw from it, OSC sends it, the HUD shows
it and `synesthete-analyze` exports it. This module is the only place its fields are declared:
everything else iterates `FIELDS` (names, shapes, units) instead of restating them.

Timing convention (shared with the feature extractor and the model): frame t stands for the
instant `time[t]` = start + (t + 1) / fps, the time of the newest audio sample the frame may depend
on. Every field is causal: its value at frame t depends only on audio/events at or before that
instant.

All arrays are float32 numpy, first axis T (frames). A single live frame is a `MusicState` of
length 1 (`state.frame(t)` gives one; `MusicState.concat` joins them back).
"""

from __future__ import annotations

from dataclasses import dataclass, fields as dc_fields
from typing import Iterable, Mapping

import numpy as np

from synesthete.constants import STEMS

# Chord qualities, in the order of `MusicState.chord_quality`.
CHORD_QUALITIES = ("major", "minor", "dim", "sus")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Groups of fields that share one confidence value, in the order of `MusicState.confidence`'s columns.
CONFIDENCE_GROUPS = ("stems", "beat", "bar", "chord", "energy", "pitch")
# Pitch ranges of the normalised pitch fields (MIDI note numbers mapped to [0, 1]).
MELODY_RANGE = (48.0, 96.0)
BASS_RANGE = (24.0, 60.0)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    columns: tuple[str, ...] | None  # None: one value per frame, (T,); else (T, len(columns))
    lo: float
    hi: float  # range of the values (phases wrap at hi)
    group: str | None  # the confidence group it belongs to (None for time, confidence)
    help: str


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("time", None, 0.0, float("inf"), None, "seconds: the instant this frame stands for"),
    FieldSpec("env", STEMS, 0.0, 1.0, "stems", "per-stem envelope: jumps on an onset, then decays"),
    FieldSpec("onset", STEMS, 0.0, 1.0, "stems", "per-stem onset: velocity (or probability) of a hit heard within this frame, else 0"),
    FieldSpec("beat_phase", None, 0.0, 1.0, "beat", "position in the beat: 0 on the beat, rising to 1 before the next"),
    FieldSpec("bar_phase", None, 0.0, 1.0, "bar", "position in the bar: 0 on the downbeat, rising to 1 before the next"),
    FieldSpec("beat_count", None, 0.0, float("inf"), "beat", "beats elapsed since the stream started (continuous)"),
    FieldSpec("tempo", None, 0.0, 400.0, "beat", "tempo in beats per minute"),
    FieldSpec("chord_root", None, 0.0, 11.0, "chord", "pitch class of the sounding chord's root, 0 = C .. 11 = B"),
    FieldSpec("chord_quality", None, 0.0, float(len(CHORD_QUALITIES) - 1), "chord", "index into CHORD_QUALITIES"),
    FieldSpec("energy", None, 0.0, 1.0, "energy", "section energy, smoothed over ~0.5 s"),
    FieldSpec("melody", None, 0.0, 1.0, "pitch", "pitch of the last lead note, MIDI 48..96 mapped to 0..1 (0 before any)"),
    FieldSpec("bass", None, 0.0, 1.0, "pitch", "pitch of the last bass note, MIDI 24..60 mapped to 0..1 (0 before any)"),
    FieldSpec("confidence", CONFIDENCE_GROUPS, 0.0, 1.0, None, "how sure the estimate is, per group (1.0 for the score)"),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
SPEC: dict[str, FieldSpec] = {f.name: f for f in FIELDS}


@dataclass
class MusicState:
    """Per-frame music state; every field is a float32 array with first axis T (see `FIELDS`)."""

    time: np.ndarray  # (T,)
    env: np.ndarray  # (T, len(STEMS))
    onset: np.ndarray  # (T, len(STEMS))
    beat_phase: np.ndarray  # (T,)
    bar_phase: np.ndarray  # (T,)
    beat_count: np.ndarray  # (T,)
    tempo: np.ndarray  # (T,) BPM
    chord_root: np.ndarray  # (T,) 0..11
    chord_quality: np.ndarray  # (T,) index into CHORD_QUALITIES
    energy: np.ndarray  # (T,)
    melody: np.ndarray  # (T,)
    bass: np.ndarray  # (T,)
    confidence: np.ndarray  # (T, len(CONFIDENCE_GROUPS))

    def __len__(self) -> int:
        return int(self.time.shape[0])

    # ---- building ----------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, values: Mapping[str, object], time: np.ndarray | None = None) -> "MusicState":
        """A state from a mapping of field name -> array-like (numpy or torch, (T, ...)).

        `time` may be given separately; a missing `confidence` means 1.0 (a ground truth); a
        missing `tempo` is 0 (unknown). Any other missing or unknown name is an error.
        """
        vals = dict(values)
        if time is not None:
            vals["time"] = time
        unknown = sorted(set(vals) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(f"unknown music state field(s) {unknown}; fields are: {', '.join(FIELD_NAMES)}")
        arrays: dict[str, np.ndarray] = {}
        for name, v in vals.items():
            if hasattr(v, "detach"):  # a torch tensor: no torch import needed here
                v = v.detach().float().cpu().numpy()
            arrays[name] = np.ascontiguousarray(v, dtype=np.float32)
        n = arrays["time"].shape[0] if "time" in arrays else None
        if n is None:
            raise ValueError("a music state needs `time` (the instant each frame stands for)")
        arrays.setdefault("confidence", np.ones((n, len(CONFIDENCE_GROUPS)), np.float32))
        arrays.setdefault("tempo", np.zeros(n, np.float32))
        missing = [f for f in FIELD_NAMES if f not in arrays]
        if missing:
            raise ValueError(f"music state field(s) missing: {', '.join(missing)}")
        state = cls(**arrays)
        state.validate()
        return state

    @classmethod
    def silence(cls, n: int, fps: float, start_time: float = 0.0) -> "MusicState":
        """n frames of nothing happening (before a stream starts, or a stopped one), confidence 0."""
        t = start_time + (np.arange(n, dtype=np.float64) + 1.0) / fps
        z = np.zeros(n, np.float32)
        zs = np.zeros((n, len(STEMS)), np.float32)
        return cls(time=t.astype(np.float32), env=zs, onset=zs.copy(), beat_phase=z, bar_phase=z.copy(),
                   beat_count=z.copy(), tempo=z.copy(), chord_root=z.copy(), chord_quality=z.copy(),
                   energy=z.copy(), melody=z.copy(), bass=z.copy(),
                   confidence=np.zeros((n, len(CONFIDENCE_GROUPS)), np.float32))

    @classmethod
    def concat(cls, states: Iterable["MusicState"]) -> "MusicState":
        states = list(states)
        if not states:
            raise ValueError("concat needs at least one MusicState")
        return cls(**{f: np.concatenate([getattr(s, f) for s in states], axis=0) for f in FIELD_NAMES})

    # ---- reading -----------------------------------------------------------------------------
    def validate(self) -> int:
        """Check shapes and finiteness; return the frame count T. Raises ValueError naming the field."""
        n = int(np.asarray(self.time).shape[0])
        for f in FIELDS:
            a = np.asarray(getattr(self, f.name))
            want = (n,) if f.columns is None else (n, len(f.columns))
            if a.shape != want:
                raise ValueError(f"MusicState.{f.name} must have shape {want}, got {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"MusicState.{f.name} contains NaN or inf")
        return n

    def stem(self, name: str, field: str = "env") -> np.ndarray:
        """One stem's column of `env` (or `onset`), e.g. state.stem("kick")."""
        if name not in STEMS:
            raise ValueError(f"unknown stem {name!r}; stems are: {', '.join(STEMS)}")
        return getattr(self, field)[:, STEMS.index(name)]

    def conf(self, group: str) -> np.ndarray:
        """The confidence column of one group, (T,)."""
        if group not in CONFIDENCE_GROUPS:
            raise ValueError(f"unknown confidence group {group!r}; groups are: {', '.join(CONFIDENCE_GROUPS)}")
        return self.confidence[:, CONFIDENCE_GROUPS.index(group)]

    def slice(self, start: int, stop: int) -> "MusicState":
        return MusicState(**{f: getattr(self, f)[start:stop] for f in FIELD_NAMES})

    def take(self, index: np.ndarray) -> "MusicState":
        """The frames at `index` (an integer array), in that order."""
        return MusicState(**{f: getattr(self, f)[index] for f in FIELD_NAMES})

    def frame(self, t: int) -> "MusicState":
        """Frame t as a state of length 1."""
        return self.slice(t, t + 1 if t != -1 else None)  # type: ignore[arg-type]

    def chord_name(self, t: int = -1) -> str:
        """The chord of frame t as text, e.g. 'A minor'."""
        root = int(np.rint(self.chord_root[t])) % 12
        q = int(np.clip(np.rint(self.chord_quality[t]), 0, len(CHORD_QUALITIES) - 1))
        return f"{NOTE_NAMES[root]} {CHORD_QUALITIES[q]}"

    def to_dict(self) -> dict[str, list]:
        """Every field as nested lists (JSON-ready); multi-column fields become {column: [...]}."""
        out: dict[str, object] = {}
        for f in FIELDS:
            a = getattr(self, f.name)
            if f.columns is None:
                out[f.name] = [round(float(x), 5) for x in a]
            else:
                out[f.name] = {c: [round(float(x), 5) for x in a[:, i]] for i, c in enumerate(f.columns)}
        return out  # type: ignore[return-value]


def field_names() -> tuple[str, ...]:
    return FIELD_NAMES


def _check_fields_match() -> None:  # the dataclass and FIELDS must list the same names, in order
    declared = tuple(f.name for f in dc_fields(MusicState))
    if declared != FIELD_NAMES:
        raise RuntimeError(f"MusicState fields {declared} differ from FIELDS {FIELD_NAMES}")


_check_fields_match()
