"""The exact `MusicState` of a `Score`: the ground truth the hearing model is trained against.

Frame t stands for the instant `start_time + (t + 1) / fps` (docs/architecture.md), and every
signal at frame t uses only events at or before that instant:

* env[t, s]: max over onsets u <= t of velocity_u * exp(-(t - u) / tau); tau is fixed per drum stem
  (kick/snare/perc 150 ms, closed hat 60 ms, open hat 300 ms) and the note's own duration for bass,
  chords, lead and fx (so a pad glows for as long as it is held).
* onset[t, s]: the largest velocity of an onset of stem s in (instant - 1/fps, instant], else 0.
* beat_phase / bar_phase: position in the current beat / bar (0 on it, rising to 1), read off the
  score's own `beat_times` / `downbeat_times` (so a drifting tempo's phase is 0 on every beat it
  plays), linear between them and extended past the clip's first and last by their neighbours'
  spacing; beat_count: beats since score time 0 (continuous, same grid); tempo: 60 / the spacing
  of the beats around the instant.
* chord_root / chord_quality: the chord that started last at or before the instant.
* energy: section energy times the master level (quiet passages, silences), smoothed by a causal
  one-pole filter with a 0.25 s time constant (a step is ~90% through after 0.5 s).
* melody / bass: pitch of the last lead / bass note started, mapped to [0, 1] over MIDI 48..96 /
  24..60 (0 before the first note).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from synesthete.music_state import CHORD_QUALITIES, MusicState
from synesthete.constants import STEMS

if TYPE_CHECKING:  # annotations only: score.py calls into this module, so a runtime import would be a cycle
    from synesthete.audio.score import Score

DRUM_TAU = {"kick": 0.15, "snare": 0.15, "hat_closed": 0.06, "hat_open": 0.3, "perc": 0.15}
ENERGY_TAU = 0.25
_LOOKBACK = 16  # env: only the last 16 onsets of a stem can still be the maximum in practice


def _envelope(times: np.ndarray, onset_t: np.ndarray, vel: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """max over onsets u <= t of vel_u * exp(-(t-u)/tau_u), (T,)."""
    if onset_t.shape[0] == 0:
        return np.zeros(times.shape[0], np.float32)
    last = np.searchsorted(onset_t, times, side="right") - 1  # (T,) index of last onset <= t
    idx = last[:, None] - np.arange(_LOOKBACK)[None, :]  # (T, K)
    valid = idx >= 0
    idx = np.maximum(idx, 0)
    dt = times[:, None] - onset_t[idx]
    val = vel[idx] * np.exp(-np.maximum(dt, 0.0) / tau[idx])
    return np.where(valid, val, 0.0).max(axis=1).astype(np.float32)


def _one_pole(x: np.ndarray, alpha: float) -> np.ndarray:
    """y[t] = y[t-1] + alpha (x[t] - y[t-1]), y[-1] = x[0] (starts settled, hence causal)."""
    y = np.empty_like(x)
    acc = float(x[0]) if x.shape[0] else 0.0
    for i, v in enumerate(x.tolist()):
        acc += alpha * (v - acc)
        y[i] = acc
    return y


def _step_value(times: np.ndarray, starts: np.ndarray, values: np.ndarray, default: float) -> np.ndarray:
    """Value of the last entry whose start <= t (starts sorted), `default` before the first."""
    if starts.shape[0] == 0:
        return np.full(times.shape[0], default, np.float32)
    i = np.searchsorted(starts, times, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], default).astype(np.float32)


def _energy_raw(score: Score, times: np.ndarray) -> np.ndarray:
    e = np.zeros(times.shape[0], np.float64)
    secs = sorted(score.sections, key=lambda s: s.start)
    if secs:
        starts = np.array([s.start for s in secs])
        i = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(secs) - 1)
        e = np.array([s.energy for s in secs])[i]
    for a, b, g in score.dynamics:
        e = np.where((times >= a) & (times < b), e * g, e)
    return e


def score_music_state(score: Score, fps: float, n_frames: int, start_time: float = 0.0) -> MusicState:
    if not (isinstance(fps, (int, float)) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise ValueError(f"n_frames must be a non-negative integer, got {n_frames!r}")
    T = int(n_frames)
    times = start_time + (np.arange(T, dtype=np.float64) + 1.0) / fps  # (T,)
    env = np.zeros((T, len(STEMS)), np.float32)
    onset = np.zeros((T, len(STEMS)), np.float32)
    durations: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for stem in ("bass", "chords", "lead", "fx"):
        ns = sorted((n for n in score.notes if n.stem == stem), key=lambda n: n.start)
        durations[stem] = (np.array([n.start for n in ns]), np.array([max(n.duration, 0.03) for n in ns]))
    for j, stem in enumerate(STEMS):
        t_on, v_on = score.onsets.get(stem, (np.zeros(0), np.zeros(0)))
        t_on = np.asarray(t_on, np.float64)
        v_on = np.asarray(v_on, np.float64)
        if stem in DRUM_TAU:
            tau = np.full(t_on.shape[0], DRUM_TAU[stem])
        else:  # the duration of the note that starts at that onset (longest if several)
            starts, durs = durations[stem]
            k = np.clip(np.searchsorted(starts, t_on + 1e-9, side="right") - 1, 0, max(0, len(durs) - 1))
            tau = durs[k] if len(durs) else np.full(t_on.shape[0], 0.15)
        env[:, j] = _envelope(times, t_on, v_on, tau)
        if t_on.shape[0]:
            # frame t gets onsets in (times[t] - 1/fps, times[t]]: bin by the frame whose instant covers it
            f = np.ceil((t_on - start_time) * fps - 1e-9).astype(np.int64) - 1
            ok = (f >= 0) & (f < T)
            np.maximum.at(onset[:, j], f[ok], v_on[ok].astype(np.float32))
    period = 60.0 / score.tempo
    beats, slope = grid_position(np.asarray(score.beat_times, np.float64), times, period)
    beat_phase = (beats - np.floor(beats)).astype(np.float32)
    bars, _ = grid_position(np.asarray(score.downbeat_times, np.float64), times, period * score.beats_per_bar,
                            np.asarray(score.beat_times, np.float64)[:1])
    bar_phase = (bars - np.floor(bars)).astype(np.float32)
    beat_count = (beats - grid_position(np.asarray(score.beat_times, np.float64), np.zeros(1), period)[0][0]).astype(np.float32)
    tempo = (60.0 * slope).astype(np.float32)
    chords = sorted(score.chords, key=lambda c: c.start)
    c_starts = np.array([c.start for c in chords])
    chord_root = _step_value(times, c_starts, np.array([c.root for c in chords], np.float32), 0.0)
    chord_quality = _step_value(times, c_starts, np.array([CHORD_QUALITIES.index(c.quality) for c in chords], np.float32), 0.0)
    alpha = 1.0 - np.exp(-1.0 / (fps * ENERGY_TAU))
    energy = np.clip(_one_pole(_energy_raw(score, times), alpha), 0.0, 1.0).astype(np.float32)
    lead_p = _step_value(times, *durations_pitch(score, "lead"), -1.0)
    bass_p = _step_value(times, *durations_pitch(score, "bass"), -1.0)
    melody = np.where(lead_p < 0, 0.0, np.clip((lead_p - 48.0) / 48.0, 0.0, 1.0))
    bass = np.where(bass_p < 0, 0.0, np.clip((bass_p - 24.0) / 36.0, 0.0, 1.0))
    return MusicState.from_arrays(dict(
        time=times, env=env, onset=onset, beat_phase=beat_phase, bar_phase=bar_phase, beat_count=beat_count,
        tempo=tempo, chord_root=chord_root, chord_quality=chord_quality,
        energy=energy, melody=melody, bass=bass))  # confidence 1.0: the score knows


def grid_position(marks: np.ndarray, times: np.ndarray, spacing: float, anchor: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(position, marks per second) of `times` on a grid of marks (beat or downbeat times, sorted):
    position k at mark k, linear between marks, and before the first / after the last mark
    extended by the first / last spacing (`spacing` when there are fewer than two marks; then an
    empty grid starts at `anchor`[0] when given, else at 0)."""
    if marks.shape[0] == 0:
        start = float(anchor[0]) if anchor is not None and anchor.shape[0] else 0.0
        marks = np.array([start])
    if marks.shape[0] == 1:
        marks = np.array([marks[0], marks[0] + spacing])
    first, last = marks[1] - marks[0], marks[-1] - marks[-2]
    # Extend the grid by whole marks on both sides, then interpolate (np.interp clamps outside).
    lo = int(np.ceil(max(0.0, marks[0] - float(times.min(initial=marks[0]))) / first)) + 1
    hi = int(np.ceil(max(0.0, float(times.max(initial=marks[-1])) - marks[-1]) / last)) + 1
    grid = np.concatenate([marks[0] - first * np.arange(lo, 0, -1), marks, marks[-1] + last * np.arange(1, hi + 1)])
    index = np.arange(-lo, grid.shape[0] - lo, dtype=np.float64)
    pos = np.interp(times, grid, index)
    i = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, grid.shape[0] - 2)
    rate = 1.0 / (grid[i + 1] - grid[i])
    return pos, rate


def durations_pitch(score: Score, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """(start times, pitches) of a stem's notes, sorted by start."""
    ns = sorted((n for n in score.notes if n.stem == stem), key=lambda n: n.start)
    return np.array([n.start for n in ns], np.float64), np.array([n.pitch for n in ns], np.float32)
