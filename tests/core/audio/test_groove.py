"""Free drum grooves (render_clip's groove, composer._groove): the drums leave the four styles while
the song's clock, harmony and bass stay the seed's; a kick still opens every bar; hits fall on the
beats more often than between them; a song without the override is unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from synesthete.audio.composer import _groove
from synesthete.audio.engine import render_clip
from synesthete.data import HearingClips, HearingDataConfig

DRUM_STEMS = ("kick", "snare", "hat_closed", "hat_open")


@pytest.mark.parametrize("n", [16, 12])
def test_a_groove_opens_every_bar_with_a_kick_and_favours_the_beats(n):
    on_beat, between = [], []
    pos = np.arange(n)
    for seed in range(300):
        kick, snare, ghosts, hats, open_hat = _groove(np.random.default_rng(seed), n, 0.5)
        for a in (kick, snare, ghosts, hats, open_hat):
            assert a.shape == (n,) and a.dtype == bool
        assert kick[0]
        assert not (hats & open_hat).any() and not (ghosts & snare).any()
        on_beat.append(kick[(pos % 4 == 0) & (pos > 0)].mean())
        between.append(kick[pos % 4 != 0].mean())
    assert np.mean(on_beat) > 2 * np.mean(between) > 0  # syncopated, but the beat still leads
    # wide: many distinct kick patterns, not a handful of styles
    kicks = {_groove(np.random.default_rng(s), n, 0.5)[0].tobytes() for s in range(100)}
    assert len(kicks) > 40


def test_a_grooved_song_keeps_its_clock_harmony_and_bass_and_changes_its_drums():
    changed = 0
    for seed in range(3, 11):
        plain = render_clip(seed, 8.0)
        grooved = render_clip(seed, 8.0, groove=True)
        a, b = plain.score, grooved.score
        assert np.array_equal(a.beat_times, b.beat_times) and np.array_equal(a.downbeat_times, b.downbeat_times)
        assert [(c.start, c.root, c.quality) for c in a.chords] == [(c.start, c.root, c.quality) for c in b.chords]
        assert np.array_equal(a.onsets["bass"][0], b.onsets["bass"][0])
        changed += any(not np.array_equal(a.onsets[s][0], b.onsets[s][0]) for s in DRUM_STEMS)
        # a bar whose kick plays opens with a kick (gaps before a drop may silence a few)
        kicks, downs = b.onsets["kick"][0], b.downbeat_times
        bars = [(d, e) for d, e in zip(downs[:-1], downs[1:]) if np.any((kicks >= d - 1e-6) & (kicks < e - 1e-6))]
        hit = [np.min(np.abs(kicks - d)) < 1e-6 for d, _ in bars]
        assert not bars or np.mean(hit) >= 0.75, (seed, hit)
    assert changed >= 4  # the others' 8 s fall in a breakdown, a half-time section or a drumless intro


def test_a_song_without_the_groove_override_is_unchanged_and_a_bad_value_is_one_error():
    assert np.array_equal(render_clip(7, 3.0).audio, render_clip(7, 3.0, groove=False).audio)
    with pytest.raises(ValueError, match="groove must be true or false"):
        render_clip(7, 3.0, groove="yes")


def test_the_groove_share_of_a_stream_changes_drums_not_the_clock():
    plain = HearingClips(HearingDataConfig(clip_seconds=4.0, seed=5, augment_prob=0.0))
    zero = HearingClips(HearingDataConfig(clip_seconds=4.0, seed=5, augment_prob=0.0, groove_share=0.0))
    every = HearingClips(HearingDataConfig(clip_seconds=4.0, seed=5, augment_prob=0.0, groove_share=1.0))
    differ = 0
    for i in range(4):
        p, z, e = plain.make_item(i), zero.make_item(i), every.make_item(i)
        assert np.array_equal(p["audio"].numpy(), z["audio"].numpy())
        assert np.array_equal(p["state.beat_phase"].numpy(), e["state.beat_phase"].numpy())
        assert np.array_equal(p["state.chord_root"].numpy(), e["state.chord_root"].numpy())
        differ += not np.array_equal(p["state.onset"].numpy(), e["state.onset"].numpy())
    assert differ >= 2
    with pytest.raises(ValueError, match="groove_share"):
        HearingDataConfig(groove_share=1.5)
