"""Events from the music state, as they happen: beats, downbeats, stem hits, chord and tempo changes.

A `MusicState` says, per frame, *where* the music is (beat phase, bar phase, envelopes, chord);
cue-driven consumers (lighting, OSC triggers, the analysis export, the evaluation) want *when*
things happen. `EventDetector` turns the state into events one frame at a time, causally: an event
is emitted on the first frame whose state shows it and carries that frame's instant (the moment
the hearing model first knew). `detect_events(state)` runs the same detector over a whole clip, so
what `synesthete-analyze` exports and what the evaluation scores is exactly what a live show sees.

How each event is read from the state (the model's estimates jitter, so each rule is robust to a
wobble of a frame or two):

* beat: `beat_phase` wraps around (drops by more than half a cycle). A wrap only counts once the
  phase has risen through the middle of the beat since the last one (hysteresis), so a phase that
  flickers 0.99 -> 0.01 -> 0.99 -> 0.02 around the beat gives one beat, not two.
* downbeat: the same on `bar_phase`. A beat's number in the bar is read from `bar_phase` and the
  beats per bar, so a bar wrap a frame before or after the beat wrap still numbers that beat 1. The
  beats per bar come from the bar phase at the last 8 beats: it steps by 1 / n from one beat to the
  next, so n is 1 / the median step (where half the steps agree with it). A tracker that moves its
  bar hypothesis by a beat or two breaks one step, not the median (one bar of 6 beats in a 4/4
  song stays numbered 1..4); a beat phase that jumps, as a tracker's may when it corrects itself,
  moves no step of the bar phase. Where the steps agree on nothing (a bar phase that crawls or
  jumps while a tracker locks on) the count holds; before the steps first agree it is the ratio of
  the two phases' smoothed speeds.
* stem hit: the stem's `onset` value crosses a threshold (or jumps by it) at least a refractory
  period after that stem's last hit; the velocity is the onset value. The threshold is per stem
  when the config has `stem_thresholds` (a hearing checkpoint carries its own, calibrated on the
  trainer's validation songs: `detector_config(model.cfg)`), else `onset_threshold` for all.
* chord change: the rounded (root, quality) differs from the current chord for a debounce time.
* tempo change: `tempo` stays more than a few BPM away from the last reported tempo for a hold time
  (the first known tempo is reported as soon as it has held).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping, Union

import numpy as np

from synesthete.constants import STEMS
from synesthete.music_state import CHORD_QUALITIES, NOTE_NAMES, MusicState


@dataclass(frozen=True)
class Beat:
    time: float  # seconds: the instant of the frame that showed it
    number: int  # 1-based position in the bar (1 = downbeat)


@dataclass(frozen=True)
class Downbeat:
    time: float


@dataclass(frozen=True)
class Hit:
    time: float
    stem: str  # one of STEMS
    velocity: float  # 0..1


@dataclass(frozen=True)
class ChordChange:
    time: float  # when the new chord was confirmed (held for the debounce time)
    root: int  # pitch class 0..11
    quality: str  # one of CHORD_QUALITIES

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.root]} {self.quality}"


@dataclass(frozen=True)
class TempoChange:
    time: float
    bpm: float


Event = Union[Beat, Downbeat, Hit, ChordChange, TempoChange]


@dataclass(frozen=True)
class DetectorConfig:
    onset_threshold: float = 0.3  # onset value that counts as a hit
    refractory_s: float = 0.05  # no second hit of the same stem within this time
    chord_debounce_s: float = 0.1  # a new chord must hold this long before it is reported
    tempo_tolerance_bpm: float = 3.0  # a tempo change smaller than this is not reported
    tempo_hold_s: float = 0.5  # ... and a larger one must hold this long
    phase_arm: float = 0.5  # a phase must pass this point of its cycle before the next wrap counts
    wrap_drop: float = 0.5  # a frame-to-frame fall of the phase larger than this is a wrap
    # One threshold per stem of STEMS, in its order (empty: onset_threshold for every stem). Heads
    # differ in how sure they get (a hat head peaks higher than a kick head), so one number fits few.
    stem_thresholds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("onset_threshold", "phase_arm", "wrap_drop"):
            v = getattr(self, name)
            if not (0.0 < v < 1.0):
                raise ValueError(f"DetectorConfig.{name} must lie in (0, 1), got {v!r}")
        check_stem_thresholds(self.stem_thresholds, "DetectorConfig.stem_thresholds")
        for name in ("refractory_s", "chord_debounce_s", "tempo_tolerance_bpm", "tempo_hold_s"):
            v = getattr(self, name)
            if not (v >= 0.0 and np.isfinite(v)):
                raise ValueError(f"DetectorConfig.{name} must be a finite number >= 0, got {v!r}")


def check_stem_thresholds(thresholds: tuple[float, ...], name: str) -> None:
    """ValueError unless `thresholds` is empty or one value in (0, 1) per stem of STEMS."""
    if thresholds and (len(thresholds) != len(STEMS) or not all(0.0 < float(v) < 1.0 for v in thresholds)):
        raise ValueError(f"{name} must be empty or {len(STEMS)} values in (0, 1) (one per stem: "
                         f"{', '.join(STEMS)}), got {tuple(thresholds)!r}")


def detector_config(model_cfg: object = None, onset_threshold: float | None = None) -> DetectorConfig:
    """The detector for a hearing model: its checkpoint's calibrated per-stem onset thresholds
    (`HearingConfig.onset_thresholds`; none stored: the default), or `onset_threshold` for every
    stem when one is given (a command line's explicit choice wins)."""
    if onset_threshold is not None:
        return DetectorConfig(onset_threshold=onset_threshold)
    return DetectorConfig(stem_thresholds=tuple(getattr(model_cfg, "onset_thresholds", ()) or ()))


FrameValues = Union[MusicState, Mapping[str, object]]


def _scalar(v: object) -> float:
    if hasattr(v, "detach"):  # a torch tensor, e.g. the hearing model's (1,) outputs
        v = v.detach().float().cpu().numpy()
    return float(np.asarray(v, dtype=np.float64).reshape(-1)[0])


def _row(v: object, n: int) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().float().cpu().numpy()
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape[0] != n:
        raise ValueError(f"expected {n} values per frame, got {a.shape[0]}")
    return a


# The beats per bar read off the bar phase at the last beats: a tracker's (and a score's) bar phase
# advances by 1 / n from one beat to the next, so n is 1 / the median step over the last
# _STEP_BEATS beats, kept where _STEP_SHARE of the steps lie within _STEP_TOL / n of 1 / n. The
# median, not a grid the phases must sit on: while a tracker settles it moves its bar hypothesis
# a beat or two at a time, which breaks one step and no others (on a grid, a 4/4 bar phase that
# moved twice sat on the 5-grid, and the live app sent beat 5 of a 4/4 bar over OSC).
_STEP_BEATS, _STEP_MAX, _STEP_TOL, _STEP_SHARE = 8, 16, 0.15, 0.5


class _PhaseWrap:
    """One phase's wrap-arounds with hysteresis, and its smoothed speed (cycles per frame)."""

    def __init__(self, arm: float, drop: float) -> None:
        self.arm, self.drop = arm, drop
        self.prev: float | None = None
        self.armed = True  # the first wrap after the stream starts counts
        self.speed = 0.0  # EMA of the unwrapped frame-to-frame increment

    def update(self, phase: float) -> bool:
        wrapped = False
        if self.prev is not None:
            inc = phase - self.prev
            if inc < -self.drop:
                if self.armed:
                    wrapped = True
                    self.armed = False
                inc += 1.0
            if 0.0 <= inc < 0.5:  # a plausible forward step: update the speed estimate
                self.speed = inc if self.speed == 0.0 else 0.9 * self.speed + 0.1 * inc
        if self.arm * 0.5 <= phase <= self.arm + (1.0 - self.arm) * 0.5:
            # the middle of the cycle: arms the next wrap. A window rather than a point so a fast
            # phase that jumps over `arm` in one frame still arms.
            self.armed = True
        self.prev = phase
        return wrapped


class EventDetector:
    """Streaming events from a music state, one frame at a time (see the module docstring).

    `update(frame)` takes one frame: a `MusicState` of length 1 (a longer one is fed frame by
    frame) or a mapping of field name -> value for one frame (the hearing model's `step` output at
    batch 1 works as is; a missing `time` is taken as start_time + (t + 1) / fps).
    """

    def __init__(self, fps: float, config: DetectorConfig | None = None, start_time: float = 0.0) -> None:
        if not (isinstance(fps, (int, float)) and np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.fps = float(fps)
        self.config = config or DetectorConfig()
        self.start_time = float(start_time)
        c = self.config
        self._refractory = _refractory_frames(c.refractory_s, self.fps)
        self._chord_hold = max(1, int(round(c.chord_debounce_s * self.fps)))
        self._tempo_hold = max(1, int(round(c.tempo_hold_s * self.fps)))
        self._threshold = (np.asarray(c.stem_thresholds, np.float64) if c.stem_thresholds
                           else np.full(len(STEMS), c.onset_threshold))
        self.reset()

    def reset(self) -> None:
        c = self.config
        self.frame_index = 0
        self._beat = _PhaseWrap(c.phase_arm, c.wrap_drop)
        self._bar = _PhaseWrap(c.phase_arm, c.wrap_drop)
        self._beat_bars: deque[float] = deque(maxlen=_STEP_BEATS)  # the bar phase at the last beats
        self._count: int | None = None  # beats per bar, once the bar phase's steps agree on a count
        self._last_hit = np.full(len(STEMS), -(10**9), np.int64)
        self._prev_onset = np.zeros(len(STEMS))
        self.chord: tuple[int, int] | None = None
        self._chord_cand: tuple[int, int] | None = None
        self._chord_count = 0
        self.tempo: float | None = None
        self._tempo_run: list[float] = []

    @property
    def beats_per_bar(self) -> int:
        """Beats per bar: 1 / the bar phase's median step from beat to beat over the last beats
        (`_STEP_*`), as of the last beat where the steps agreed on one; before that, the ratio of
        the two phases' smoothed speeds (4 until both are known)."""
        if self._count is not None:
            return self._count
        if self._beat.speed <= 0.0 or self._bar.speed <= 0.0:
            return 4
        return int(np.clip(round(self._beat.speed / self._bar.speed), 1, _STEP_MAX))

    def _count_steps(self) -> int | None:
        """The count the bar phase's steps at the last beats agree on, or None."""
        if len(self._beat_bars) < 3:
            return None
        step = np.diff(np.array(self._beat_bars)) % 1.0
        step[step < 0.5 / _STEP_MAX] += 1.0  # a bar of one beat: the phase is where it was
        n = int(np.clip(round(1.0 / float(np.median(step))), 1, _STEP_MAX))
        return n if np.mean(np.abs(step * n - 1.0) <= _STEP_TOL) >= _STEP_SHARE else None

    def update(self, frame: FrameValues) -> list[Event]:
        if isinstance(frame, MusicState):
            out: list[Event] = []
            for t in range(len(frame)):
                out.extend(self._step({f: getattr(frame, f)[t] for f in ("time", "onset", "beat_phase", "bar_phase",
                                                                          "tempo", "chord_root", "chord_quality")}))
            return out
        return self._step(frame)

    def _step(self, v: Mapping[str, object]) -> list[Event]:
        c = self.config
        i = self.frame_index
        self.frame_index += 1
        now = _scalar(v["time"]) if "time" in v else self.start_time + (i + 1) / self.fps
        events: list[Event] = []

        bar_wrap = self._bar.update(_scalar(v["bar_phase"]) % 1.0)
        bar_phase = self._bar.prev or 0.0
        if bar_wrap:
            events.append(Downbeat(now))
        beat_wrap = self._beat.update(_scalar(v["beat_phase"]) % 1.0)
        if beat_wrap:
            self._beat_bars.append(bar_phase)
            self._count = self._count_steps() or self._count
            n = self.beats_per_bar
            number = int(np.floor(bar_phase * n + 0.5)) % n + 1
            events.append(Beat(now, number))

        onset = _row(v["onset"], len(STEMS))
        hit = _hits(onset, self._prev_onset, i - self._last_hit, self._threshold, self._refractory)
        for j in np.flatnonzero(hit):
            events.append(Hit(now, STEMS[j], round(float(onset[j]), 4)))
            self._last_hit[j] = i
        self._prev_onset = onset

        chord = (int(np.rint(_scalar(v["chord_root"]))) % 12,
                 int(np.clip(np.rint(_scalar(v["chord_quality"])), 0, len(CHORD_QUALITIES) - 1)))
        if chord == self.chord:
            self._chord_cand, self._chord_count = None, 0
        else:
            if chord == self._chord_cand:
                self._chord_count += 1
            else:
                self._chord_cand, self._chord_count = chord, 1
            if self._chord_count >= self._chord_hold:
                self.chord = chord
                self._chord_cand, self._chord_count = None, 0
                events.append(ChordChange(now, chord[0], CHORD_QUALITIES[chord[1]]))

        bpm = _scalar(v["tempo"]) if "tempo" in v else 0.0
        if bpm > 0.0 and (self.tempo is None or abs(bpm - self.tempo) > c.tempo_tolerance_bpm):
            self._tempo_run.append(bpm)
            if len(self._tempo_run) >= self._tempo_hold:
                self.tempo = float(np.median(self._tempo_run))
                self._tempo_run = []
                events.append(TempoChange(now, round(self.tempo, 2)))
        else:
            self._tempo_run = []
        return events


@dataclass
class Events:
    """The events of a whole clip (times in seconds, each when it was first known)."""

    beats: np.ndarray  # (n,) float64
    beat_numbers: np.ndarray  # (n,) int, 1 = downbeat
    downbeats: np.ndarray  # (m,)
    onsets: dict[str, tuple[np.ndarray, np.ndarray]]  # stem -> (times, velocities), every stem in STEMS
    chords: list[tuple[float, float, int, str]]  # [start, end, root, quality] spans, end = next start or clip end
    tempo_changes: list[tuple[float, float]] = field(default_factory=list)  # (time, bpm)
    tempo_bpm: float = 0.0  # the clip's tempo: median of the per-frame tempo where it is known

    def chord_dicts(self) -> list[dict[str, object]]:
        return [{"start": round(s, 4), "end": round(e, 4), "root": NOTE_NAMES[r], "quality": q}
                for s, e, r, q in self.chords]


def _refractory_frames(refractory_s: float, fps: float) -> int:
    """The refractory time in whole frames (a time on a frame boundary is that many frames)."""
    return int(np.ceil(refractory_s * fps - 1e-9))


def _hits(onset: np.ndarray, prev: np.ndarray, since: np.ndarray, threshold: np.ndarray, refractory: int) -> np.ndarray:
    """The hit rule, one frame: the onset value reaches the threshold, rising into it (from under
    it, or by at least the threshold since the frame before: a second hit on a held value), and
    the stem's last hit is at least `refractory` frames (>= 1) back. Arrays broadcast alike."""
    rising = (prev < threshold) | (onset - prev >= threshold)
    return (onset >= threshold) & rising & (since >= max(refractory, 1))


def onset_hits_over_thresholds(onset: np.ndarray, thresholds: np.ndarray, fps: float,
                               refractory_s: float = DetectorConfig.refractory_s) -> np.ndarray:
    """(G, T, S) bool: the frames where `EventDetector` finds each stem's hits in a whole clip's
    onset values (T, S), for each of G thresholds at once (every stem at that threshold): the same
    rule (`_hits`), one pass over the frames instead of G detectors (the calibration's grid)."""
    onset = np.asarray(onset, np.float64)
    thr = np.asarray(thresholds, np.float64)[:, None]  # (G, 1)
    refractory = _refractory_frames(refractory_s, fps)
    n, stems = onset.shape
    out = np.zeros((thr.shape[0], n, stems), bool)
    prev = np.zeros(stems)
    last = np.full((thr.shape[0], stems), -(10**9), np.int64)
    for t in range(n):
        hit = _hits(onset[t], prev, t - last, thr, refractory)
        out[:, t] = hit
        last[hit] = t
        prev = onset[t]
    return out


def detect_events(state: MusicState, fps: float | None = None, config: DetectorConfig | None = None) -> Events:
    """Run `EventDetector` over a whole state (frame by frame: the export equals the live events)."""
    n = state.validate()
    if fps is None:
        if n < 2:
            raise ValueError("detect_events needs fps for a state shorter than 2 frames")
        fps = float(1.0 / np.median(np.diff(state.time.astype(np.float64))))
    det = EventDetector(fps, config)
    evs = det.update(state)
    beats = [e for e in evs if isinstance(e, Beat)]
    hits: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in STEMS}
    for e in evs:
        if isinstance(e, Hit):
            hits[e.stem][0].append(e.time)
            hits[e.stem][1].append(e.velocity)
    changes = [e for e in evs if isinstance(e, ChordChange)]
    end = float(state.time[-1]) if n else 0.0
    chords = [(c.time, changes[k + 1].time if k + 1 < len(changes) else end, c.root, c.quality)
              for k, c in enumerate(changes)]
    tempo = state.tempo[state.tempo > 0]
    return Events(
        beats=np.array([b.time for b in beats], np.float64),
        beat_numbers=np.array([b.number for b in beats], np.int64),
        downbeats=np.array([e.time for e in evs if isinstance(e, Downbeat)], np.float64),
        onsets={s: (np.array(t, np.float64), np.array(v, np.float64)) for s, (t, v) in hits.items()},
        chords=chords,
        tempo_changes=[(e.time, e.bpm) for e in evs if isinstance(e, TempoChange)],
        tempo_bpm=round(float(np.median(tempo)), 2) if tempo.size else 0.0,
    )
