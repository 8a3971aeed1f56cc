"""The engine's wider range: 3/4, tempo drift and rubato, half-time, ambient and dense passages,
sidechain pumping, the vox lead; and the score's beat and bar phase on the drifting grid."""

from __future__ import annotations

import numpy as np
import pytest

from synesthete.audio.composer import Song
from synesthete.audio.effects import sidechain_gain
from synesthete.audio.engine import make_song, render_clip, render_span
from synesthete.audio.instruments import synth_note
from synesthete.constants import STEMS

SR = 24000


def first_seed(predicate, limit: int = 400) -> int:
    return next(s for s in range(limit) if predicate(Song(s)))


def phase_at(score, t: float, field: str) -> float:
    """The score's phase field at exactly the instant t (a one-frame state whose instant is t)."""
    fps = 60.0
    return float(getattr(score.music_state(fps, 1, start_time=t - 1 / fps), field)[0])


def on_the_circle(phase: float) -> float:
    return min(phase, 1.0 - phase)


def test_a_three_four_song_has_a_downbeat_every_three_beats():
    clip = render_clip(5, 8.0, beats_per_bar=3, drift=0.0)
    score = clip.score
    assert score.beats_per_bar == 3
    beats, downs = np.round(score.beat_times, 6), np.round(score.downbeat_times, 6)
    idx = np.searchsorted(beats, downs)
    assert len(downs) >= 2 and set(np.diff(idx)) == {3}
    for t in score.downbeat_times:
        assert on_the_circle(phase_at(score, float(t), "bar_phase")) < 1e-3
    # a bar's phase is a third through on its second beat
    second = score.beat_times[idx[0] + 1]
    assert phase_at(score, float(second), "bar_phase") == pytest.approx(1 / 3, abs=1e-3)
    assert 0.05 < sum(Song(s).beats_per_bar == 3 for s in range(200)) / 200 < 0.3  # some songs, not most


def test_a_drifting_tempo_moves_the_beat_grid_and_the_phase_is_zero_on_every_beat():
    clip = render_clip(11, 10.0, drift=0.06)
    score = clip.score
    gaps = np.diff(score.beat_times)
    assert gaps.max() - gaps.min() > 0.01  # the beat period wanders (by ms, not by rounding)
    for t in score.beat_times[1:-1]:
        assert on_the_circle(phase_at(score, float(t), "beat_phase")) < 1e-3
    for t in score.downbeat_times:
        assert on_the_circle(phase_at(score, float(t), "bar_phase")) < 1e-3
    state = score.music_state(60, 600)
    assert state.tempo.max() - state.tempo.min() > 1.0  # the tempo field follows the drift
    assert np.all(np.abs(state.tempo - score.tempo) < 0.2 * score.tempo)
    # every kick of the four-on-the-floor drum pattern lands on a beat of the drifting grid
    song = make_song(11, drift=0.06)
    beats = song.beat_time(np.arange(0, 64))
    for b in range(8):
        kicks = [e.time for e in song.compose_bar(b) if e.stem == "kick" and e.velocity > 0.6]
        if song.drum_style == "four" and not song.section_at_bar(b).half and song.section_at_bar(b).name != "breakdown":
            assert all(np.min(np.abs(beats - k)) < 1e-9 for k in kicks)


def test_beat_time_and_beat_at_are_inverse():
    song = make_song(3, drift=0.08)
    b = np.linspace(0, 500, 2001)
    np.testing.assert_allclose(song.beat_at(song.beat_time(b)), b, atol=1e-9)
    assert np.all(np.diff(song.beat_time(b)) > 0)


def test_drifting_spans_overlap_add_like_one_long_render():
    song = make_song(6)
    assert song.warp[0][0] > 0  # this seed drifts
    whole = render_span(song, 0, 4, SR).audio[0]
    parts = np.zeros(whole.shape[0] + SR * 8, np.float32)
    for lo in range(4):
        span = render_span(song, lo, lo + 1, SR)
        parts[span.start_sample: span.start_sample + span.audio.shape[1]] += span.audio[0]
    n = render_span(song, 0, 4, SR).n_body
    assert np.abs(parts[:n] - whole[:n]).max() < 0.03 * np.abs(whole[:n]).max()


def test_half_time_sections_put_one_snare_on_beat_three():
    seed = first_seed(lambda s: any(s.section(k).half and s.section(k).name != "breakdown" for k in range(6)))
    song = Song(seed)
    k = next(k for k in range(6) if song.section(k).half and song.section(k).name != "breakdown")
    p = song.patterns(song.section(k))
    assert list(np.flatnonzero(p["snare"])) == [8]


def test_ambient_and_dense_passages_exist():
    plans = [Song(s).section(k) for s in range(60) for k in range(6)]
    assert any(p.stems <= {"chords", "lead"} and p.name in ("intro", "breakdown", "outro") for p in plans)
    assert any(p.stems == frozenset(STEMS) for p in plans)


def test_sidechain_gain_ducks_at_each_trigger_and_recovers():
    g = sidechain_gain(SR, np.array([0, SR // 2]), SR, 0.6, 0.25)
    assert g[0] == pytest.approx(0.4) and g[SR // 2] == pytest.approx(0.4)
    assert g[SR // 2 - 1] > 0.95 and g.max() <= 1.0
    seed = first_seed(lambda s: s.pump > 0)
    clip = render_clip(seed, 6.0, stems=("kick", "bass"), section="drop")
    kicks = clip.score.onsets["kick"][0]
    bass = clip.stems["bass"]
    assert len(kicks) >= 4
    # the bass is quieter in the 20 ms after each kick than in the 20 ms before the next
    after = [np.abs(bass[int(t * SR): int((t + 0.02) * SR)]).mean() for t in kicks[:-1]]
    before = [np.abs(bass[int((t - 0.02) * SR): int(t * SR)]).mean() for t in kicks[1:]]
    assert np.median(after) < np.median(before)


def test_the_vox_lead_sings_the_pitch_it_is_given():
    x = synth_note("vox", 57, 0.8, 0.5, SR, seed=1)  # A3, 220 Hz
    assert np.all(np.isfinite(x)) and 0.01 < np.abs(x).max() <= 1.0
    seg = x[int(0.1 * SR): int(0.4 * SR)]
    ac = np.correlate(seg, seg, "full")[len(seg) - 1:]
    lag = np.argmax(ac[SR // 400: SR // 100]) + SR // 400  # 100..400 Hz
    assert SR / lag == pytest.approx(220.0, rel=0.03)
    assert sum(Song(s).lead_instrument == "vox" for s in range(100)) >= 5
