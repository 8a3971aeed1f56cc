"""StreamingResampler: device rate -> model rate, the same in any chunking, no aliasing."""

import numpy as np
import pytest

from synesthete_live.resample import StreamingResampler, resample_all


def tone(hz: float, rate: int, seconds: float = 0.5, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


@pytest.mark.parametrize("src,dst", [(48_000, 24_000), (44_100, 24_000), (24_000, 48_000), (22_050, 24_000)])
def test_a_tone_keeps_its_frequency_amplitude_and_timing(src, dst):
    y = resample_all(tone(1000, src), src, dst)
    assert len(y) == dst // 2
    ref = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(y)) / dst)
    np.testing.assert_allclose(y[100:-100], ref[100:-100], atol=3e-3)  # zero-phase: no delay


def test_chunked_equals_whole():
    x = np.random.default_rng(1).standard_normal(20_000).astype(np.float32)
    whole = StreamingResampler(44_100, 24_000).process(x)
    r = StreamingResampler(44_100, 24_000)
    sizes = np.random.default_rng(2).integers(1, 600, size=200)
    parts, i = [], 0
    for n in sizes:
        parts.append(r.process(x[i : i + n]))
        i += n
    parts.append(r.process(x[i:]))
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)


def test_content_above_the_new_nyquist_is_removed():
    y = resample_all(tone(15_000, 48_000), 48_000, 24_000)  # would alias to 9 kHz
    assert np.sqrt(np.mean(y[100:-100] ** 2)) < 0.005


def test_equal_rates_pass_through_and_bad_rates_fail():
    x = tone(440, 24_000)
    r = StreamingResampler(24_000, 24_000)
    assert r.passthrough and r.latency_s == 0.0
    np.testing.assert_array_equal(r.process(x), x)
    with pytest.raises(ValueError, match="positive"):
        StreamingResampler(0, 24_000)
