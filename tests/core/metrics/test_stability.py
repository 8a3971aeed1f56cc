"""Flicker during quiet passages: a strobing picture scores high, a steady or slowly fading one low."""

import math

import numpy as np
import pytest

from synesthete.metrics.stability import flicker, frame_rms_db

SR, FPS, T = 24_000, 60, 120


def quiet_audio() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 1e-3, T * (SR // FPS)).astype(np.float32)  # ~ -60 dBFS


def test_strobe_flickers_steady_does_not():
    steady = np.full((T, 16, 16, 3), 0.5, np.float32)
    strobe = steady.copy()
    strobe[::2] = 0.0  # alternate black / grey every frame
    fade = np.linspace(0, 1, T, dtype=np.float32)[:, None, None, None] * np.ones((1, 16, 16, 3), np.float32)
    s, f, d = (flicker(v, quiet_audio(), SR, FPS) for v in (steady, strobe, fade))
    assert s.n_quiet == T
    assert s.flicker_quiet == 0.0 and s.flicker_hf_quiet == 0.0
    assert f.flicker_quiet == pytest.approx(0.5) and f.flicker_hf_quiet == pytest.approx(0.5)
    # A slow fade changes every frame a little but has no high-frequency part.
    assert d.flicker_quiet == pytest.approx(1 / (T - 1), rel=1e-3)
    assert d.flicker_hf_quiet < 1e-6


def test_loud_passages_are_not_counted():
    strobe = np.zeros((T, 8, 8, 3), np.float32)
    strobe[::2] = 1.0
    loud = np.random.default_rng(0).normal(0, 0.3, T * (SR // FPS)).astype(np.float32)
    r = flicker(strobe, loud, SR, FPS)
    assert r.n_quiet == 0 and math.isnan(r.flicker_quiet)
    assert r.flicker_all == pytest.approx(1.0)
    # Quiet first half, loud second half: only the first half's frames count.
    mixed = quiet_audio()
    mixed[mixed.size // 2 :] = loud[mixed.size // 2 :]
    assert 0.3 * T < flicker(strobe, mixed, SR, FPS).n_quiet < 0.6 * T


def test_rms_db_of_a_full_scale_square_wave_is_zero():
    audio = np.sign(np.sin(np.arange(SR) * 0.1)).astype(np.float32)
    assert np.allclose(frame_rms_db(audio, SR, FPS, 30)[10:20], 0.0, atol=0.01)
