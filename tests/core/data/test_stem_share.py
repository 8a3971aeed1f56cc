"""The stem-share target: which stem holds each group of mel bands, from the dry stems."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synesthete.constants import STEMS
from synesthete.data import HearingClips, HearingDataConfig
from synesthete.data.stem_share import stem_shares
from synesthete.features import FeatureExtractor

SR, FPS = 24_000, 60


def _tone(freq: float, seconds: float, start: float = 0.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (level * np.sin(2 * np.pi * freq * t) * (t >= start)).astype(np.float32)


def test_each_band_names_the_stem_that_sounds_in_it():
    fx = FeatureExtractor(SR, FPS, n_mels=64)
    stems = {"kick": _tone(60.0, 1.0), "hat_closed": _tone(9000.0, 1.0, start=0.5), "snare": np.zeros(SR, np.float32)}
    share, weight = stem_shares(stems, fx, 60, groups=16)
    assert share.shape == (60, 16, len(STEMS)) and weight.shape == (60, 16)
    assert share.dtype == weight.dtype == np.float32
    kick, hat = STEMS.index("kick"), STEMS.index("hat_closed")
    assert share[10:, 0, kick].min() > 0.99  # the lowest group: the 60 Hz tone's
    new = np.flatnonzero((weight[50] > 0) & (weight[10] == 0))  # the groups the hat fills once it sounds ...
    assert new.size and new.min() > 8 and share[50, new, hat].min() > 0.99  # ... high ones, all its
    heard = weight > 0
    np.testing.assert_allclose(share.sum(-1)[heard], 1.0, atol=1e-5)  # a distribution where it counts
    assert share[..., STEMS.index("snare")].max() == 0.0  # a silent stem holds nothing


def test_frames_past_the_audio_and_a_clip_without_stems_weigh_nothing():
    fx = FeatureExtractor(SR, FPS, n_mels=16)
    share, weight = stem_shares({"bass": _tone(80.0, 0.5)}, fx, 60, groups=4)
    assert weight[:25].max() == 1.0 and weight[31:].max() == 0.0
    share, weight = stem_shares({}, fx, 10, groups=4)
    assert weight.max() == 0.0 and share.max() == 0.0
    with pytest.raises(ValueError, match="divide n_mels"):
        stem_shares({}, fx, 10, groups=5)


def test_hearing_clips_carry_the_share_of_their_dry_stems():
    fx = FeatureExtractor(SR, FPS, n_mels=16)
    cfg = HearingDataConfig(clip_seconds=1.0, augment_prob=1.0, seed=4, stem_share_bands=4)
    item = HearingClips(cfg, features=fx).make_item(0)
    assert item["stem_share"].shape == (60, 4, len(STEMS)) and item["stem_weight"].shape == (60, 4)
    heard = item["stem_weight"] > 0
    assert heard.float().mean() > 0.5  # a procedural clip plays in most bands most of the time
    torch.testing.assert_close(item["stem_share"].sum(-1)[heard], torch.ones(int(heard.sum())), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="feature extractor"):
        HearingClips(cfg)
