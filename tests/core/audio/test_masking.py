"""Masked drum hits: a hit buried under the rest of the mix is found, a clear one is not, and the
hearing data marks exactly the frames of the masked hits."""

from __future__ import annotations

import numpy as np

from synesthete.audio.masking import hit_prominence_db, masked_hits
from synesthete.constants import STEMS
from synesthete.data import HearingClips, HearingDataConfig

SR = 24_000


def _burst(n: int, at: float, level: float, seed: int) -> np.ndarray:
    """A 40 ms noise burst (a snare-like hit) at `at` seconds."""
    x = np.zeros(n, np.float32)
    i = int(at * SR)
    k = int(0.04 * SR)
    x[i: i + k] = level * np.random.default_rng(seed).standard_normal(k) * np.exp(-np.arange(k) / (0.01 * SR))
    return x


def test_a_hit_under_a_much_louder_mix_is_masked_and_a_clear_one_is_not():
    n = SR
    snare = _burst(n, 0.2, 0.5, 0) + _burst(n, 0.6, 0.01, 1)  # a backbeat, then a ghost note
    t = np.arange(n) / SR
    noise = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    rest = (0.3 * noise * (t > 0.5)).astype(np.float32)  # a loud broadband wash over the ghost only
    stems = {"snare": snare, "chords": rest}
    onsets = {"snare": (np.array([0.2, 0.6]), np.array([1.0, 0.3]))}
    db = hit_prominence_db(stems, onsets, SR)["snare"]
    assert db[0] > 20.0 and db[1] < -10.0
    assert masked_hits(stems, onsets, SR, -10.0)["snare"].tolist() == [0.6]
    assert masked_hits(stems, onsets, SR, -40.0)["snare"].tolist() == []


def test_hearing_items_mark_the_frames_of_masked_hits_only():
    plain = HearingClips(HearingDataConfig(clip_seconds=4.0, augment_prob=0.0, seed=3))
    masked = HearingClips(HearingDataConfig(clip_seconds=4.0, augment_prob=0.0, seed=3, onset_mask=True))
    assert "onset_ignore" not in plain.make_item(0)
    n_masked = 0
    for i in range(6):
        item = masked.make_item(i)
        ignore, hits = item["onset_ignore"] > 0, item["state.onset"] > 0
        assert ignore.shape == hits.shape == (240, len(STEMS))
        assert bool((ignore <= hits).all())  # only frames that hold a score hit ...
        assert not ignore[:, STEMS.index("kick")].any()  # ... never the kick (never masked by this engine's mixes)
        assert not ignore[:, STEMS.index("bass")].any()  # ... and only drum stems
        n_masked += int(ignore.sum())
    assert n_masked > 0
