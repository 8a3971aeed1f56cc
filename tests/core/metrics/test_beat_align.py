"""Beat Align Score: Gaussian credit (sigma 3 frames) of each visual beat by its nearest music beat."""

import math

import numpy as np
import pytest

from synesthete.metrics.beat_align import beat_align
from synesthete.metrics.clip import score_clip

SR, FPS = 24_000, 60


def test_known_values():
    beats = [30, 60, 90, 120]
    assert beat_align(beats, beats) == 1.0
    assert beat_align([33, 63], beats) == pytest.approx(math.exp(-9 / 18))  # 3 frames off: exp(-1/2)
    assert beat_align([30, 75], beats) == pytest.approx((1 + math.exp(-225 / 18)) / 2)  # half-way is ~0
    assert beat_align([], beats) == 0.0 and beat_align([30], []) == 0.0


def test_only_visual_beats_are_judged_extra_music_beats_cost_nothing():
    assert beat_align([30], [0, 30, 45, 200]) == 1.0


def test_on_constructed_clip_with_score_beats(make_clicks, make_square, beat_frames):
    audio = make_clicks(beat_frames, 300)
    beat_times = (np.array(beat_frames) + 1) / FPS  # the instants of those frames
    on_beat = score_clip(make_square(beat_frames, 300), audio, SR, FPS, beat_times=beat_times)
    late = score_clip(make_square([f + 4 for f in beat_frames], 300), audio, SR, FPS, beat_times=beat_times)
    assert on_beat.figures["beat_align"] == pytest.approx(1.0)
    assert late.figures["beat_align"] == pytest.approx(math.exp(-16 / 18), abs=0.02)
