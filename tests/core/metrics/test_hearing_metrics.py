"""Hearing metrics (mir_eval's definitions): the truth scores 1, a wrong estimate scores less."""

from __future__ import annotations

import numpy as np
import pytest

from synesthete.audio.engine import render_clip
from synesthete.metrics.hearing import (beat_f, chord_labels, chord_root_accuracy, energy_correlation,
                                        hearing_scores, onset_f, score_events)
from synesthete.music_events import DetectorConfig, detect_events


@pytest.fixture(scope="module")
def song():
    clip = render_clip(8, 10.0)  # a seed whose energy changes within the clip
    state = clip.score.music_state(60, 600)
    return clip.score, state


def test_truth_against_truth_is_perfect(song) -> None:
    score, state = song
    truth = score_events(score.beat_times, score.downbeat_times, score.onsets)
    got = hearing_scores(truth, truth, state, state)
    assert got["beat_f"] == 1.0 and got["downbeat_f"] == 1.0
    assert got["chord_root_acc"] == 1.0 and got["energy_r"] == pytest.approx(1.0)
    played = [k for k in got if k.startswith("onset_f/")]
    assert "onset_f/kick" in played and all(got[k] == 1.0 for k in played)


def test_events_of_the_score_state_score_perfectly_against_the_score(song) -> None:
    # the detector's events are at most one frame (16.7 ms) after the score's: inside every window
    score, state = song
    truth = score_events(score.beat_times, score.downbeat_times, score.onsets)
    est = detect_events(state, config=DetectorConfig(onset_threshold=0.01, refractory_s=0.0))
    got = hearing_scores(truth, est, state, state, min_time=0.1)
    assert all(v == pytest.approx(1.0) for v in got.values()), got


def test_shifted_beats_fall(song) -> None:
    score, _ = song
    beats = score.beat_times
    assert beat_f(beats, beats + 0.05) == 1.0  # inside ±70 ms
    assert beat_f(beats, beats + 0.1) == 0.0  # outside
    half = np.sort(np.concatenate([beats, beats[:-1] + np.diff(beats) / 2]))  # double tempo: precision halves
    assert beat_f(beats, half) == pytest.approx(2 * 1.0 * 0.5 / 1.5, abs=0.03)
    # trimming: an estimate that is wrong only in the first 4 s is perfect after them
    est = np.where(beats < 3.7, beats + 0.2, beats)  # shifted ones stay before 4 s
    assert beat_f(beats, est) < 1.0 and beat_f(beats, est, min_time=4.0) == 1.0
    assert beat_f(beats, []) == 0.0


def test_onset_window_and_empty_sides() -> None:
    ref = np.arange(0.5, 5.0, 0.25)
    assert onset_f(ref, ref + 0.04) == 1.0
    assert onset_f(ref, ref + 0.06) == 0.0
    assert onset_f(ref, ref[::2]) == pytest.approx(2 * 0.5 / 1.5)
    assert onset_f([], []) == 1.0 and onset_f(ref, []) == 0.0 and onset_f([], ref) == 0.0


def test_chord_root_and_energy() -> None:
    ref = chord_labels(np.array([9, 9, 9, 2]), np.array([1, 1, 1, 0]))
    assert ref == ["A:min", "A:min", "A:min", "D:maj"]
    # the root counts, not the quality: A major on an A minor frame is right
    est = chord_labels(np.array([9, 9, 4, 2]), np.array([0, 1, 1, 3]))
    assert chord_root_accuracy(ref, est) == 0.75
    with pytest.raises(ValueError, match="length"):
        chord_root_accuracy(ref, est[:2])
    e = np.sin(np.linspace(0, 6, 100))
    assert energy_correlation(e, 0.5 * e + 0.1) == pytest.approx(1.0)
    assert energy_correlation(e, -e) == pytest.approx(-1.0)
    assert np.isnan(energy_correlation(e, np.zeros(100)))
