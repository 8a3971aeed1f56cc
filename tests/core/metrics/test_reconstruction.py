"""PSNR and L1 on known values, in any frame layout."""

import math

import numpy as np
import pytest
import torch

from synesthete.metrics.reconstruction import l1_error, psnr


def test_known_values():
    pred = torch.full((4, 3, 8, 8), 0.5)
    target = torch.full((4, 3, 8, 8), 0.25)
    assert l1_error(pred, target) == pytest.approx(0.25)
    assert psnr(pred, target) == pytest.approx(10 * math.log10(16))  # mse 1/16 -> 12.04 dB
    assert psnr(pred, pred) == math.inf and l1_error(pred, pred) == 0.0


def test_half_the_pixels_wrong_by_one():
    target = np.zeros((2, 4, 4, 3), np.float32)
    pred = target.copy()
    pred[:, :2] = 1.0
    assert l1_error(pred, target) == pytest.approx(0.5)
    assert psnr(pred, target) == pytest.approx(10 * math.log10(2))


def test_uint8_channels_last_matches_float_channels_first():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 6, 6, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (3, 6, 6, 3), dtype=np.uint8)
    fa = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
    fb = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255
    assert psnr(a, b) == pytest.approx(psnr(fa, fb), rel=1e-5)
    assert l1_error(a, fb) == pytest.approx(l1_error(fa, b), rel=1e-5)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same"):
        psnr(np.zeros((2, 4, 4, 3)), np.zeros((3, 4, 4, 3)))
