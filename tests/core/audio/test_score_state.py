"""frame_controls: shapes, ranges, the timing convention, and causality."""

import copy

import numpy as np
import pytest

from synesthete.audio.engine import render_clip
from synesthete.audio.score import CHORD_QUALITIES, Chord, Note, Section
from synesthete.constants import STEMS


def test_shapes_and_ranges():
    clip = render_clip(11, 3.0)
    ctrl = clip.score.music_state(60, 180)
    assert len(ctrl) == 180 and ctrl.env.shape == (180, len(STEMS)) and ctrl.onset.shape == (180, len(STEMS))
    assert np.allclose(ctrl.time, (np.arange(180) + 1) / 60)
    for name in ("env", "onset", "beat_phase", "bar_phase", "energy", "melody", "bass"):
        v = getattr(ctrl, name)
        assert v.dtype == np.float32 and np.all((v >= 0) & (v <= 1)), name
    assert np.all((ctrl.chord_root >= 0) & (ctrl.chord_root <= 11))
    assert np.all((ctrl.chord_quality >= 0) & (ctrl.chord_quality < len(CHORD_QUALITIES)))
    assert np.all(np.diff(ctrl.beat_count) > 0)


def test_onsets_land_in_the_frame_whose_interval_holds_them_and_env_jumps():
    clip = render_clip(2, 3.0, section="drop", stems=("kick",))
    fps = 50
    ctrl = clip.score.music_state(fps, 150)
    times, vels = clip.score.onsets["kick"]
    k = STEMS.index("kick")
    for t, v in zip(times, vels):
        f = int(np.ceil(t * fps - 1e-9)) - 1  # t in (f/fps, (f+1)/fps]
        if 0 <= f < 150:
            assert ctrl.onset[f, k] == pytest.approx(v, abs=1e-6)
            assert ctrl.env[f, k] >= np.exp(-1.0 / (fps * 0.15)) * v - 1e-6  # at most one frame of decay
    assert np.count_nonzero(ctrl.onset[:, k]) == np.sum((times > 0) & (times <= 3.0))
    assert np.all(ctrl.onset[:, [j for j in range(len(STEMS)) if j != k]] == 0)


def test_beat_phase_is_zero_on_beats():
    clip = render_clip(5, 4.0, tempo=120.0)
    ctrl = clip.score.music_state(100, 400)
    b0 = clip.score.beat_times[0]
    f = int(round(b0 * 100)) - 1 + 50  # one beat (0.5 s) after the first beat is again a beat
    assert min(ctrl.beat_phase[f], 1 - ctrl.beat_phase[f]) < 0.03


def test_changing_events_after_an_instant_leaves_earlier_frames_unchanged():
    score = render_clip(9, 4.0).score
    fps, T, cut = 60, 240, 2.0
    base = score.music_state(fps, T)
    later = copy.deepcopy(score)
    for stem in STEMS:  # add loud events after the cut, drop existing ones after it
        t, v = later.onsets[stem]
        keep = t <= cut
        later.onsets[stem] = (np.concatenate([t[keep], [cut + 0.01, 3.0]]), np.concatenate([v[keep], [1.0, 1.0]]))
    later.notes = [n for n in later.notes if n.start <= cut] + [Note("lead", 95, cut + 0.05, 1.0, 1.0),
                                                                 Note("bass", 25, cut + 0.05, 1.0, 1.0)]
    later.chords = [c for c in later.chords if c.start <= cut] + [Chord(cut + 0.1, 4.0, 6, "dim")]
    later.sections = [s for s in later.sections if s.start <= cut] + [Section(cut + 0.2, 4.0, "drop", 1.0)]
    later.dynamics = list(later.dynamics) + [(cut + 0.3, 4.0, 0.0)]
    new = later.music_state(fps, T)
    upto = int(np.floor(cut * fps)) - 1  # frames whose instant is <= cut
    for name in ("env", "onset", "beat_phase", "bar_phase", "beat_count", "chord_root", "chord_quality",
                 "energy", "melody", "bass"):
        a, b = getattr(base, name)[: upto + 1], getattr(new, name)[: upto + 1]
        assert np.array_equal(a, b), name
    assert not np.array_equal(base.onset[upto + 1 :], new.onset[upto + 1 :])


def test_start_time_offsets_the_frame_instants_consistently():
    score = render_clip(13, 4.0).score
    whole = score.music_state(60, 240)
    part = score.music_state(60, 120, start_time=2.0)
    for name in ("env", "onset", "beat_phase", "chord_root", "melody"):
        assert np.allclose(getattr(whole, name)[120:], getattr(part, name), atol=1e-5), name


def test_bad_arguments():
    score = render_clip(1, 1.0).score
    with pytest.raises(ValueError, match="fps"):
        score.music_state(0, 10)
    with pytest.raises(ValueError, match="n_frames"):
        score.music_state(60, -1)
