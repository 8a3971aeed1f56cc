"""How well a music-state estimate hears the music: mir_eval's beat, onset and chord measures.

The definitions are mir_eval's own (the MIR community's reference implementation), called, not
re-implemented, so the figures compare with published ones:

* beat / downbeat F-measure: `mir_eval.beat.f_measure`, ±70 ms window. Beats before `min_time`
  are dropped from both sides first (`mir_eval.beat.trim_beats`): a causal tracker needs a few
  seconds to lock, and mir_eval's own evaluate() trims the first 5 s for the same reason.
* onset F-measure per stem: `mir_eval.onset.f_measure`, ±50 ms window.
* chord root accuracy per frame: every frame labelled with its chord (`mir_eval.chord` syntax,
  e.g. "A:min"), compared with `mir_eval.chord.root` and averaged with
  `mir_eval.chord.weighted_accuracy` (frames of equal length, so the share of frames whose root is
  right).
* energy correlation: Pearson's r of the per-frame energy curves (mir_eval has no energy measure;
  scipy's `pearsonr`).

`hearing_scores(truth, estimate)` gives all of them for two `Events` (plus their states for the
per-frame figures); the estimate's events come from `synesthete.music_events.detect_events`, the
same detector a live show runs.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import mir_eval
import numpy as np
from scipy.stats import pearsonr

from synesthete.constants import STEMS
from synesthete.music_events import Events
from synesthete.music_state import CHORD_QUALITIES, NOTE_NAMES, MusicState

BEAT_WINDOW_S = 0.07
ONSET_WINDOW_S = 0.05
# mir_eval's chord syntax for each of CHORD_QUALITIES
MIREX_QUALITY = {"major": "maj", "minor": "min", "dim": "dim", "sus": "sus4"}
assert set(MIREX_QUALITY) == set(CHORD_QUALITIES)


def _times(x: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        raise ValueError("event times must be finite")
    return np.sort(a)


def beat_f(reference: Sequence[float], estimate: Sequence[float], min_time: float = 0.0,
           window: float = BEAT_WINDOW_S) -> float:
    """mir_eval beat F-measure (±window s) over beats at or after min_time. Also for downbeats."""
    ref = mir_eval.beat.trim_beats(_times(reference), min_beat_time=min_time)
    est = mir_eval.beat.trim_beats(_times(estimate), min_beat_time=min_time)
    with warnings.catch_warnings():  # mir_eval warns (and returns 0) on an empty side: that is the answer
        warnings.simplefilter("ignore")
        return float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=window))


def onset_f(reference: Sequence[float], estimate: Sequence[float], window: float = ONSET_WINDOW_S,
            min_time: float = 0.0) -> float:
    """mir_eval onset F-measure (±window s). Both empty is a perfect 1.0 (nothing to find, nothing
    claimed); one side empty is 0."""
    ref, est = _times(reference), _times(estimate)
    ref, est = ref[ref >= min_time], est[est >= min_time]
    if ref.size == 0 and est.size == 0:
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, _, _ = mir_eval.onset.f_measure(ref, est, window=window)
    return float(f)


def chord_labels(root: np.ndarray, quality: np.ndarray) -> list[str]:
    """Per-frame chord labels in mir_eval syntax from MusicState chord_root / chord_quality."""
    r = np.rint(np.asarray(root, np.float64)).astype(np.int64) % 12
    q = np.clip(np.rint(np.asarray(quality, np.float64)).astype(np.int64), 0, len(CHORD_QUALITIES) - 1)
    return [f"{NOTE_NAMES[a]}:{MIREX_QUALITY[CHORD_QUALITIES[b]]}" for a, b in zip(r, q)]


def chord_root_accuracy(ref_labels: Sequence[str], est_labels: Sequence[str]) -> float:
    """Share of frames whose chord root is right (mir_eval.chord.root, frames of equal length).
    Frames the reference labels "N" (no chord) are left out, as mir_eval does."""
    if len(ref_labels) != len(est_labels):
        raise ValueError(f"chord labels differ in length: {len(ref_labels)} vs {len(est_labels)}")
    if not ref_labels:
        raise ValueError("no frames to compare")
    comparisons = mir_eval.chord.root(list(ref_labels), list(est_labels))
    return float(mir_eval.chord.weighted_accuracy(comparisons, np.ones(len(ref_labels))))


def energy_correlation(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Pearson's r of two energy curves; NaN when either is constant (no correlation defined)."""
    a, b = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"energy curves differ in shape: {a.shape} vs {b.shape}")
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(pearsonr(a, b)[0])


def hearing_scores(truth: Events, estimate: Events, truth_state: MusicState | None = None,
                   estimate_state: MusicState | None = None, min_time: float = 0.0,
                   stems: Sequence[str] = STEMS) -> dict[str, float]:
    """Every hearing figure of an estimate against the truth, as a flat dict.

    beat_f, downbeat_f (after min_time), onset_f/<stem> for each stem the truth plays (a stem the
    truth never plays is left out: its F would only say whether the estimate stayed silent), and
    with both states: chord_root_acc (frames after min_time) and energy_r.
    """
    out = {"beat_f": beat_f(truth.beats, estimate.beats, min_time),
           "downbeat_f": beat_f(truth.downbeats, estimate.downbeats, min_time)}
    for s in stems:
        ref = truth.onsets[s][0]
        if np.count_nonzero(ref >= min_time):
            out[f"onset_f/{s}"] = onset_f(ref, estimate.onsets[s][0], min_time=min_time)
    if truth_state is not None and estimate_state is not None:
        if len(truth_state) != len(estimate_state):
            raise ValueError(f"states differ in length: {len(truth_state)} vs {len(estimate_state)}")
        keep = truth_state.time >= min_time
        if keep.any():
            out["chord_root_acc"] = chord_root_accuracy(
                chord_labels(truth_state.chord_root[keep], truth_state.chord_quality[keep]),
                chord_labels(estimate_state.chord_root[keep], estimate_state.chord_quality[keep]))
        out["energy_r"] = energy_correlation(truth_state.energy, estimate_state.energy)
    return out


def score_events(beat_times: np.ndarray, downbeat_times: np.ndarray,
                 onsets: dict[str, tuple[np.ndarray, np.ndarray]]) -> Events:
    """Ground-truth `Events` from a score's (or a MIDI file's) exact event times (simultaneous
    onsets of one stem count once)."""
    def sorted_pair(stem: str) -> tuple[np.ndarray, np.ndarray]:
        t, v = onsets.get(stem, ((), ()))
        t, v = np.asarray(t, np.float64).reshape(-1), np.asarray(v, np.float64).reshape(-1)
        # a chord is several notes at one instant: one onset, at the loudest note's velocity
        times, inverse = np.unique(np.round(t, 6), return_inverse=True)
        vel = np.zeros(times.shape[0])
        np.maximum.at(vel, inverse, v)
        return times, vel

    return Events(beats=_times(beat_times), beat_numbers=np.zeros(len(beat_times), np.int64),
                  downbeats=_times(downbeat_times), onsets={s: sorted_pair(s) for s in STEMS}, chords=[])
