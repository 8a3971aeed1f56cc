"""The one resampler (libsoxr): the same in any chunking, faithful, no aliasing, honest about delay."""

import numpy as np
import pytest

from synesthete.resampler import Resampler, resample


def tone(hz: float, rate: int, seconds: float = 0.5, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


@pytest.mark.parametrize("quality", ["HQ", "LQ"])
@pytest.mark.parametrize("src,dst", [(48_000, 24_000), (44_100, 24_000), (24_000, 48_000), (22_050, 24_000)])
def test_a_tone_keeps_its_frequency_amplitude_and_timing(src, dst, quality):
    y = resample(tone(1000, src), src, dst, quality)
    assert len(y) == dst // 2
    w = 2 * np.pi * 1000 * np.arange(len(y)) / dst
    if quality == "HQ":
        np.testing.assert_allclose(y[100:-100], 0.5 * np.sin(w[100:-100]), atol=1e-3)  # no delay: sample k is at k / dst
    else:  # the variable-rate engine (a steady flow for live) runs a few output samples late
        basis = np.stack([np.sin(w), np.cos(w)], axis=1)[100:-100]
        (a, b), *_ = np.linalg.lstsq(basis, y[100:-100], rcond=None)
        assert np.hypot(a, b) == pytest.approx(0.5, abs=0.005)
        delay_s = -np.arctan2(b, a) / (2 * np.pi * 1000)
        assert -0.02e-3 <= delay_s <= 0.2e-3
        assert np.abs(y[100:-100] - basis @ np.array([a, b])).max() < 0.01  # a clean 1 kHz tone


def test_live_quality_hands_out_every_block_not_bursts():
    # The constant-rate engine returns nothing for ~3.7 blocks, then 470 samples: a live loop fed
    # by it could start a frame only at 51 bursts a second (docs in synesthete/resampler.py).
    r = Resampler(48_000, 24_000, quality="LQ")
    sizes = [r.process(np.zeros(256, np.float32)).size for _ in range(40)]
    assert sizes[1:] == [128] * 39


@pytest.mark.parametrize("channels", [1, 2])
def test_chunked_equals_whole_bit_for_bit(channels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((channels, 20_000)).astype(np.float32)
    x = x[0] if channels == 1 else x
    whole = resample(x, 44_100, 24_000)
    r = Resampler(44_100, 24_000, channels)
    parts, i = [], 0
    for n in rng.integers(1, 600, size=200):
        parts.append(r.process(x[..., i : i + n]))
        i += n
    parts += [r.process(x[..., i:]), r.flush()]
    np.testing.assert_array_equal(np.concatenate(parts, axis=-1), whole)


def test_content_above_the_new_nyquist_is_removed():
    y = resample(tone(15_000, 48_000), 48_000, 24_000)  # would alias to 9 kHz
    assert np.sqrt(np.mean(y[100:-100] ** 2)) < 0.005


def test_held_back_time_is_what_is_missing_from_the_output():
    r = Resampler(48_000, 24_000, quality="LQ")
    out = sum(r.process(np.zeros(256, np.float32)).size for _ in range(50))
    assert r.held_s > 0
    assert out + r.held_s * 24_000 == pytest.approx(50 * 256 / 2)


def test_equal_rates_pass_through_and_bad_arguments_fail():
    x = tone(440, 24_000)
    r = Resampler(24_000, 24_000)
    assert r.passthrough and r.held_s == 0.0
    np.testing.assert_array_equal(r.process(x), x)
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 24_000)
    with pytest.raises(ValueError, match="quality"):
        Resampler(48_000, 24_000, quality="best")
