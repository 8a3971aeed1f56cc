"""render_clip: determinism, safety, drawn ranges, sections, and that the score tells the truth."""

import numpy as np
import pytest

from synesthete.audio.composer import MAX_TEMPO, MIN_TEMPO
from synesthete.audio.engine import render_clip
from synesthete.audio.theory import SCALE_NAMES
from synesthete.constants import STEMS

DRUMS = ("kick", "snare", "hat_closed", "hat_open", "perc")


def test_same_seed_same_bytes_and_different_seeds_differ():
    a, b = render_clip(7, 2.0), render_clip(7, 2.0)
    assert a.audio.tobytes() == b.audio.tobytes()
    c = render_clip(8, 2.0)
    assert a.audio.tobytes() != c.audio.tobytes()
    assert (a.score.tempo, a.score.key, a.score.scale) != (c.score.tempo, c.score.key, c.score.scale)


@pytest.mark.parametrize("sr,stereo", [(16000, False), (24000, False), (44100, True), (48000, False), (32000, True)])
def test_no_clipping_or_nan_across_seeds_rates_and_channels(sr, stereo):
    for seed in range(6):
        clip = render_clip(seed * 31 + sr, 1.5, sample_rate=sr, stereo=stereo)
        n = int(round(1.5 * sr))
        assert clip.audio.dtype == np.float32
        assert clip.audio.shape == ((2, n) if stereo else (n,))
        assert np.all(np.isfinite(clip.audio))
        assert np.max(np.abs(clip.audio)) <= 1.0


def test_tempo_key_scale_swing_drawn_within_ranges_and_varied():
    scores = [render_clip(s, 0.5).score for s in range(40)]
    tempos = np.array([s.tempo for s in scores])
    assert np.all((tempos >= MIN_TEMPO) & (tempos <= MAX_TEMPO)) and tempos.std() > 15
    assert all(0 <= s.key <= 11 and s.scale in SCALE_NAMES and 0 <= s.swing < 0.5 for s in scores)
    assert len({s.key for s in scores}) >= 6 and len({s.scale for s in scores}) >= 3


def test_beats_follow_the_tempo():
    clip = render_clip(3, 6.0, tempo=120.0, drift=0.0)  # a steady tempo (drift: test_engine_range.py)
    assert np.allclose(np.diff(clip.score.beat_times), 0.5)
    assert set(np.round(clip.score.downbeat_times, 6)) <= set(np.round(clip.score.beat_times, 6))


def test_sections_present_with_differing_energy_and_names():
    names, energies = set(), []
    for seed in range(30):
        for sec in render_clip(seed, 4.0).score.sections:
            names.add(sec.name)
            energies.append(sec.energy)
            assert 0.0 <= sec.energy <= 1.0 and sec.start < sec.end
    assert {"intro", "build", "drop", "breakdown"} <= names
    assert max(energies) - min(energies) > 0.5


def test_drops_are_louder_than_breakdowns():
    def rms(section):
        return np.mean([np.sqrt(np.mean(render_clip(s, 3.0, section=section).audio ** 2)) for s in range(8)])

    assert rms("drop") > 1.5 * rms("breakdown")


@pytest.mark.parametrize("stem", DRUMS)
def test_each_drum_onset_in_the_score_is_heard_at_that_time(stem):
    sr, win = 24000, int(0.006 * 24000)
    checked = 0
    for seed in range(12):
        clip = render_clip(seed, 3.0, sample_rate=sr, stems=(stem,), section="drop")
        times, vels = clip.score.onsets[stem]
        assert all(len(clip.score.onsets[s][0]) == 0 for s in STEMS if s != stem)
        x = clip.audio
        for j, t in enumerate(times):
            i = int(round(t * sr))
            masked = np.any((times[:j] > t - 0.3) & (vels[:j] > 1.5 * vels[j]))
            if i < win or i + win > x.shape[0] or masked:
                continue  # a ghost note under a louder hit's tail need not raise the energy
            before = np.sqrt(np.mean(x[i - win : i - 12] ** 2))
            after = np.sqrt(np.mean(x[i : i + win] ** 2))
            assert after > 1.1 * before + 1e-4, f"{stem} onset at {t:.3f}s (seed {seed}) not audible"
            checked += 1
    assert checked >= 5


def test_stems_only_override_silences_the_other_stems():
    clip = render_clip(4, 2.0, stems=("kick",), section="drop")
    assert np.any(clip.stems["kick"] != 0)
    assert all(not np.any(clip.stems[s]) for s in STEMS if s != "kick")


@pytest.mark.parametrize("kwargs,match", [
    (dict(seed=1, duration=0.0), "duration"),
    (dict(seed=1, duration=-1.0), "duration"),
    (dict(seed=1, duration=1.0, sample_rate=8000), "sample_rate"),
    (dict(seed=1, duration=1.0, sample_rate=96000), "sample_rate"),
    (dict(seed=1.5, duration=1.0), "seed"),
    (dict(seed="a", duration=1.0), "seed"),
    (dict(seed=-3, duration=1.0), "seed"),
    (dict(seed=1, duration=1.0, tempo=0), "tempo"),
    (dict(seed=1, duration=1.0, tempo=-120), "tempo"),
    (dict(seed=1, duration=1.0, tempo=300), "tempo"),
    (dict(seed=1, duration=1.0, scale="lydian-ish"), "scale"),
    (dict(seed=1, duration=1.0, stems=("cowbell",)), "stems"),
    (dict(seed=1, duration=1.0, loudness=3), "override"),
])
def test_bad_arguments_raise_one_clear_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_clip(**kwargs)
