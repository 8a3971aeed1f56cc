"""AV-Align on constructed clips: motion on the onsets scores ~1, random or shifted motion scores lower."""

import numpy as np

from synesthete.metrics.av_align import av_align, av_align_clip, match_peaks

SR, FPS, T = 24_000, 60, 300


def test_iou_of_peak_sets_and_edge_cases():
    assert av_align([10, 20, 30], [10, 21, 29]).score == 1.0  # within ±1 frame counts
    assert av_align([10, 20, 30], [12, 40]).score == 0.0  # 2 frames off does not
    r = av_align([10, 20, 30, 40], [10, 20, 50])
    assert (r.hits, r.score) == (2, 2 / (4 + 3 - 2))
    assert av_align([], []).score == 1.0  # silence drawn as stillness
    assert av_align([5], []).score == 0.0 and av_align([], [5]).score == 0.0


def test_matching_is_one_to_one():
    # One video peak between two audio peaks explains only one of them (score stays <= 1).
    assert match_peaks([10, 12], [11]) == 1
    assert av_align([10, 12], [11]).score == 1 / 2
    # Exact coincidences are paired before ±1 neighbours: 10-10 and 11-11, not 10-11.
    assert match_peaks([10, 11], [11, 10]) == 2


def test_motion_on_the_onsets_scores_near_one(make_clicks, make_square, beat_frames):
    audio = make_clicks(beat_frames, T)
    aligned = av_align_clip(audio, make_square(beat_frames, T), SR, FPS)
    assert aligned.score >= 0.9
    assert aligned.n_audio == len(beat_frames)


def test_random_and_shifted_motion_score_lower(make_clicks, make_square, beat_frames):
    audio = make_clicks(beat_frames, T)
    aligned = av_align_clip(audio, make_square(beat_frames, T), SR, FPS).score
    rng = np.random.default_rng(1)
    random_jumps = sorted(rng.choice(np.arange(5, T), size=len(beat_frames), replace=False).tolist())
    random = av_align_clip(audio, make_square(random_jumps, T), SR, FPS).score
    shifted = av_align_clip(audio, make_square([f + 5 for f in beat_frames], T), SR, FPS).score
    assert random < 0.3
    assert shifted < aligned - 0.5
