"""Synth: keys make sound from the engine's instruments, release without clicks, never clip."""

import numpy as np
import pytest

from synesthete_live.synth import Synth, soft_limit

SR = 24_000


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_silent_until_a_note_then_sounding():
    s = Synth(SR, "lead")
    assert rms(s.render(1024)) == 0.0
    s.note_on(60, 100)
    out = s.render(4800)
    assert out.dtype == np.float32 and out.shape == (4800,)
    assert rms(out) > 0.02
    # the pitch is right: the strongest spectral peak of a held lead C4 is a harmonic of 261.6 Hz
    spec = np.abs(np.fft.rfft(s.render(SR) * np.hanning(SR)))
    f_peak = np.argmax(spec[20:]) + 20  # 1 Hz bins
    assert min(abs(f_peak / 261.63 - k) for k in range(1, 9)) < 0.02


def test_note_off_decays_smoothly_to_silence():
    s = Synth(SR, "pad", release_s=0.1)
    s.note_on(57, 120)
    held = s.render(SR // 2)
    s.note_off(57)
    tail = s.render(SR // 2)
    assert rms(tail[: SR // 20]) > 0.1 * rms(held[-SR // 20 :])  # fades, not cut
    assert rms(tail[-SR // 10 :]) < 1e-4 and s.active_voices == 0
    # no click at the release: the sample-to-sample step stays within what the held note does
    assert np.abs(np.diff(tail[:200])).max() <= 1.5 * np.abs(np.diff(held[-2000:])).max() + 1e-6


def test_velocity_zero_is_note_off_and_velocity_scales_loudness():
    loud, soft = Synth(SR, "keys"), Synth(SR, "keys")
    loud.note_on(64, 127)
    soft.note_on(64, 40)
    assert rms(soft.render(4800)) < 0.4 * rms(loud.render(4800))
    soft.note_on(64, 0)
    soft.render(SR)
    assert soft.active_voices == 0


def test_many_voices_stay_bounded_and_get_stolen():
    s = Synth(SR, "lead", max_voices=8)
    for p in range(40, 80):
        s.note_on(p, 127)
    out = s.render(SR // 2)
    assert np.abs(out).max() < 1.0
    assert s.active_voices <= 8 and s.stolen == 32
    s.all_notes_off()
    s.render(SR)
    assert s.active_voices == 0


def test_soft_limit_is_transparent_when_quiet_and_bounded_when_loud():
    quiet = np.linspace(-0.5, 0.5, 101, dtype=np.float32)
    np.testing.assert_array_equal(soft_limit(quiet), quiet)
    loud = soft_limit(np.linspace(-20, 20, 101, dtype=np.float32))
    assert np.abs(loud).max() < 1.0 and np.all(np.diff(loud) >= 0)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="unknown synth instrument 'kazoo'"):
        Synth(SR, "kazoo")
    s = Synth(SR)
    with pytest.raises(ValueError, match="pitch"):
        s.note_on(200, 100)
    with pytest.raises(ValueError, match="velocity"):
        s.note_on(60, 300)
