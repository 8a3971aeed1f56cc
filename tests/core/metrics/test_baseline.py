"""FFT-bars baseline: frame count and shape on the timing convention, causality, and it reacts to sound."""

import numpy as np
import pytest

from synesthete.baseline import FFTBars

SR, FPS = 24_000, 60
HOP = SR // FPS


def test_shapes_and_range():
    audio = np.random.default_rng(0).normal(0, 0.1, 2 * SR + 123).astype(np.float32)
    frames = FFTBars(SR, FPS, 48, 64, n_bars=16).render(audio)
    assert frames.shape == ((2 * SR + 123) // HOP, 3, 48, 64)
    assert 0.0 <= float(frames.min()) and float(frames.max()) <= 1.0
    assert float(frames.mean()) > 0.01  # noise lights the bars


def test_frame_t_uses_audio_up_to_its_instant_only():
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.1, SR).astype(np.float32)
    changed = audio.copy()
    t = 20
    changed[(t + 1) * HOP :] = rng.normal(0, 0.5, changed.size - (t + 1) * HOP)
    bars = FFTBars(SR, FPS, 32, 32)
    a, b = bars.render(audio), bars.render(changed)
    assert np.array_equal(a[: t + 1].numpy(), b[: t + 1].numpy())
    assert not np.array_equal(a[t + 1].numpy(), b[t + 1].numpy())


def test_a_tone_lights_its_own_band_and_bars_fall_after_it_stops():
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(SR) / SR)).astype(np.float32)
    audio = np.concatenate([tone, np.zeros(SR, np.float32)])
    bars = FFTBars(SR, FPS, 32, 32)
    lv = bars.levels(audio)  # (T, 32)
    band = int(np.argmax(lv[50]))
    edges = np.geomspace(40.0, SR / 2, 33)
    assert edges[band] <= 1000 < edges[band + 1]
    assert lv[59, band] > 0.6 and lv[59 + 60, band] < 0.05  # silent for 1 s: the bar has fallen


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="width >= n_bars"):
        FFTBars(SR, FPS, 32, 8, n_bars=16)
