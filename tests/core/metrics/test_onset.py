"""Onset strength peaks where sound starts, on the video frame grid; peak picking as librosa's."""

import numpy as np
import pytest

from synesthete.metrics.onset import PeakParams, onset_peaks, onset_strength, peak_pick, times_to_frames

SR, FPS = 24_000, 60


def test_onset_peaks_fall_on_the_click_frames(make_clicks, beat_frames):
    audio = make_clicks(beat_frames, 300)
    env = onset_strength(audio, SR, FPS)
    assert env.shape == (300,)
    peaks = onset_peaks(audio, SR, FPS)
    assert len(peaks) == len(beat_frames)
    # Each click lands on the frame whose span holds it (the first frame that may show it).
    assert np.all(np.abs(peaks - np.array(beat_frames)) <= 1)
    assert np.array_equal(peaks, beat_frames)


def test_onset_strength_rises_at_the_click_frame_not_before(make_clicks):
    audio = make_clicks([50], 100)
    env = onset_strength(audio, SR, FPS)
    assert env[:50].max() < 0.05 * env[50]  # nothing before the click's frame


def test_onset_strength_of_silence_is_zero():
    assert not onset_strength(np.zeros(SR, np.float32), SR, FPS).any()


def test_onset_rejects_stereo():
    with pytest.raises(ValueError, match="mono"):
        onset_strength(np.zeros((2, SR), np.float32), SR, FPS)


def test_peak_pick_follows_librosa_rules():
    x = np.array([0, 1, 0, 0, 0.2, 3, 2.9, 0, 0, 0, 0.5, 0, 0], dtype=float)
    # pre_max=1 / post_max=1: x[n] >= x[n-1]; pre_avg=post_avg=3 window mean; delta 0.1; no wait.
    assert peak_pick(x, 1, 1, 3, 3, 0.1, 0).tolist() == [1, 5, 10]
    # A wider max window drops 1 (3 is within 4 frames after it) ...
    assert peak_pick(x, 1, 5, 3, 3, 0.1, 0).tolist() == [5, 10]
    # ... a high delta keeps only the big one (1 >= 0.25 + 1.0 fails), and `wait` drops a peak
    # too soon after the last kept one.
    assert peak_pick(x, 1, 1, 3, 3, 1.0, 0).tolist() == [5]
    assert peak_pick(x, 1, 1, 3, 3, 0.1, 5).tolist() == [1, 10]


def test_peak_params_in_frames_match_onset_detect_defaults():
    assert PeakParams().frames(60) == dict(pre_max=1, post_max=1, pre_avg=6, post_avg=7, delta=0.07, wait=1)


def test_times_to_frames_is_the_first_frame_that_may_show_the_event():
    # Frame t stands for (t + 1) / fps: an event at exactly 1/60 s is frame 0, just after it frame 1.
    assert times_to_frames(np.array([0.0, 1 / 60, 1 / 60 + 1e-4, 0.5]), 60).tolist() == [0, 1, 29]
    assert times_to_frames(np.array([0.5, 10.0]), 60, n_frames=100).tolist() == [29]
