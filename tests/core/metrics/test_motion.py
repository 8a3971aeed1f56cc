"""Farneback motion peaks where a square jumps; frame layouts are converted consistently."""

import numpy as np
import torch

from synesthete.metrics.motion import motion_curve, motion_peaks, to_float_frames, to_uint8_frames

FPS = 60


def test_motion_peaks_on_the_jump_frames(make_square, beat_frames):
    video = make_square(beat_frames, 300)
    curve = motion_curve(video)
    assert curve.shape == (300,)
    assert curve[0] == 0.0
    jumps = np.array(beat_frames)
    still = np.setdiff1d(np.arange(1, 300), jumps)
    assert curve[jumps].min() > 10 * max(curve[still].max(), 1e-6)  # still frames: (near) zero flow
    assert np.array_equal(motion_peaks(curve, FPS), jumps)


def test_float_channels_first_equals_uint8_channels_last(make_square):
    video = make_square([3, 7], 10)
    as_float = torch.from_numpy(video).permute(0, 3, 1, 2).float() / 255.0  # (T, 3, H, W)
    assert np.array_equal(to_uint8_frames(as_float), video)
    assert np.allclose(to_float_frames(video), as_float.permute(0, 2, 3, 1).numpy())
    assert np.allclose(motion_curve(as_float), motion_curve(video))


def test_motion_rejects_a_wrong_shape():
    import pytest

    with pytest.raises(ValueError, match="3 colour channels"):
        motion_curve(np.zeros((4, 8, 8, 4), np.uint8))
