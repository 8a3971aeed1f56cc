"""synth_note for every instrument, and MicAugment's guarantees."""

import numpy as np
import pytest

from synesthete.audio.augment import P, MicAugment
from synesthete.audio.engine import render_clip
from synesthete.audio.instruments import INSTRUMENTS, synth_note


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_synth_note_every_instrument(name):
    x = synth_note(name, 52, 0.8, 0.25, 24000, seed=1)
    assert x.dtype == np.float32 and x.ndim == 1 and x.shape[0] >= int(0.02 * 24000)
    assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0 and np.sqrt(np.mean(x**2)) > 1e-3
    assert abs(x[0]) < 1e-6 and abs(x[-1]) < 1e-3  # no click at either end
    assert np.array_equal(x, synth_note(name, 52, 0.8, 0.25, 24000, seed=1))


def test_tonal_notes_include_release_and_follow_pitch():
    short = synth_note("pad", 60, 1.0, 0.2, 24000)
    assert short.shape[0] > 0.2 * 24000  # the release tail is part of the note
    lo, hi = synth_note("bass", 40, 1.0, 0.5, 24000), synth_note("bass", 52, 1.0, 0.5, 24000)
    zc = lambda x: np.count_nonzero(np.diff(np.signbit(x[: 12000])))  # noqa: E731
    assert zc(hi) > zc(lo)


def test_synth_note_errors_list_known_instruments():
    with pytest.raises(ValueError, match="known instruments: kick"):
        synth_note("theremin", 60, 1.0, 0.5, 24000)
    with pytest.raises(ValueError, match="sample_rate"):
        synth_note("kick", 36, 1.0, 0.5, 8000)
    with pytest.raises(ValueError, match="velocity"):
        synth_note("kick", 36, 2.0, 0.5, 24000)


def test_augment_finite_bounded_same_length_deterministic():
    x = render_clip(3, 2.0).audio
    aug = MicAugment(24000, {k: 1.0 for k in P})  # everything on
    for seed in range(8):
        y = aug(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
        assert np.array_equal(y, aug(x, np.random.default_rng(seed)))
    assert not np.array_equal(aug(x, np.random.default_rng(0)), aug(x, np.random.default_rng(1)))
    loud = MicAugment(24000)(np.full(1000, 50.0, np.float32), np.random.default_rng(0))
    assert np.max(np.abs(loud)) <= 1.0


def test_augment_bad_input():
    with pytest.raises(ValueError, match="sample_rate"):
        MicAugment(1000)
    with pytest.raises(ValueError, match="mono"):
        MicAugment(24000)(np.zeros((2, 100), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown augmentation"):
        MicAugment(24000, {"wobble": 1.0})


def test_the_babble_share_of_a_hearing_stream_reaches_the_augmentation(monkeypatch):
    """data.babble_prob is MicAugment's babble probability for the augmented items: every item at
    1, none at 0; the default (MicAugment's own 0.25) leaves the stream as it was."""
    from synesthete.data import HearingClips, HearingDataConfig

    calls = []
    real = MicAugment._babble
    monkeypatch.setattr(MicAugment, "_babble", lambda self, *a: calls.append(1) or real(self, *a))
    for prob, expected in ((1.0, 3), (0.0, 0)):
        calls.clear()
        clips = HearingClips(HearingDataConfig(clip_seconds=1.0, seed=5, augment_prob=1.0, babble_prob=prob))
        for i in range(3):
            clips.make_item(i)
        assert len(calls) == expected
    plain = HearingClips(HearingDataConfig(clip_seconds=1.0, seed=5))
    same = HearingClips(HearingDataConfig(clip_seconds=1.0, seed=5, babble_prob=P["babble"]))
    assert np.array_equal(plain.make_item(2)["audio"].numpy(), same.make_item(2)["audio"].numpy())
    with pytest.raises(ValueError, match="babble_prob"):
        HearingDataConfig(babble_prob=-0.1)
