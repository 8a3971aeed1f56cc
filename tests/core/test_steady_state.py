"""The steadied music state a look draws: impulses on onsets, calm between, exact states untouched."""

from __future__ import annotations

import numpy as np

from synesthete.constants import STEMS
from synesthete.music_events import DetectorConfig
from synesthete.music_state import CONFIDENCE_GROUPS, MusicState
from synesthete.steady_state import OFF_BEAT_ACCENT, SteadyState, beat_accent
from synesthete.visual.synthetic import groove_controls

FPS = 60
KICK = STEMS.index("kick")
LEAD = STEMS.index("lead")


def estimate(n: int = 240, seed: int = 0) -> MusicState:
    """A hearing-like estimate: envelopes that waver every frame, a jittery beat phase at 120 BPM,
    a drifting melody, confidence 0.6, and kick onsets (probability 0.8) on every beat."""
    rng = np.random.default_rng(seed)
    state = MusicState.silence(n, FPS)
    t = np.arange(n)
    state.env = (0.2 + 0.1 * rng.random((n, len(STEMS)))).astype(np.float32)  # wobble, no events
    beat = ((t + 1) / FPS * 2.0) % 1.0
    state.beat_phase = ((beat + 0.03 * rng.standard_normal(n)) % 1.0).astype(np.float32)
    state.bar_phase = ((((t + 1) / FPS * 0.5) + 0.05 * rng.standard_normal(n)) % 1.0).astype(np.float32)
    state.tempo = np.full(n, 120.0, np.float32)
    state.melody = (0.5 + 0.05 * rng.standard_normal(n)).astype(np.float32)
    state.energy = (0.5 + 0.1 * rng.standard_normal(n)).clip(0, 1).astype(np.float32)
    state.onset[(t % 30) == 0, KICK] = 0.8
    state.onset[(t % 30) == 15, KICK] = 0.2  # below the detector's threshold (0.3): noise, moves nothing
    state.confidence = np.full((n, len(CONFIDENCE_GROUPS)), 0.6, np.float32)
    return state


def run(state: MusicState) -> MusicState:
    steady = SteadyState(FPS)
    return MusicState.concat([steady.apply(state.frame(t)) for t in range(len(state))])


def test_an_exact_state_passes_through_unchanged() -> None:
    exact = groove_controls(120, fps=FPS, bpm=120.0, energy=0.8)
    out = run(exact)
    for name, value in exact.__dict__.items():
        np.testing.assert_array_equal(getattr(out, name), value, err_msg=name)


def test_an_envelope_jumps_on_the_onset_frame_and_only_falls_between() -> None:
    est = estimate()
    out = run(est)
    env = out.env[:, KICK]
    hits = np.flatnonzero(est.onset[:, KICK] >= 0.5)
    accent = np.array([beat_accent(out.beat_phase[t], 0.6) for t in hits])
    assert np.allclose(env[hits], 0.8 * accent)  # the hit's strength (accented: see below), on its own frame
    assert accent[2:].min() > 0.95  # these hits are on the beat (a frame after it): nearly all of it
    rises = np.flatnonzero(np.diff(env) > 0) + 1
    assert set(rises) <= set(hits)  # the wavering estimate and the weak onsets lift nothing
    assert run(est).env[:, STEMS.index("snare")].max() == 0.0  # no snare onset: its wavering envelope is gone
    # The fall between hits is a small step per frame, not a second event.
    falls = -np.diff(env)[np.diff(env) < 0]
    assert falls.max() < 0.15 * env.max()


def test_the_beat_runs_at_an_even_speed_and_stays_on_the_heard_beat() -> None:
    est = estimate(480)
    out = run(est)
    step = np.diff(np.unwrap(out.beat_phase.astype(np.float64) * 2 * np.pi)) / (2 * np.pi)  # turns per frame
    heard = np.diff(np.unwrap(est.beat_phase.astype(np.float64) * 2 * np.pi)) / (2 * np.pi)
    assert np.std(step[60:]) < 0.2 * np.std(heard[60:])  # steadier than the estimate
    truth = ((np.arange(480) + 1) / FPS * 2.0) % 1.0
    err = (out.beat_phase[120:] - truth[120:] + 0.5) % 1.0 - 0.5
    assert np.abs(err).max() < 0.05  # and locked to the beat


def test_the_melody_changes_only_on_a_lead_note() -> None:
    est = estimate()
    est.onset[100, LEAD] = 0.9
    mel = run(est).melody
    assert np.all(mel[1:100] == mel[0]) and np.all(mel[100:] == est.melody[100])


def test_a_checkpoints_calibrated_thresholds_decide_what_is_a_hit() -> None:
    est = estimate()  # kick onsets of 0.8 on the beat and 0.2 between
    steady = SteadyState(FPS, DetectorConfig(stem_thresholds=(0.15,) * len(STEMS)))
    counted = MusicState.concat([steady.apply(est.frame(t)) for t in range(len(est))]).onset[:, KICK]
    assert set(np.flatnonzero(counted > 0)) == set(np.flatnonzero(est.onset[:, KICK] >= 0.15))  # the 0.2 onsets count now
    assert set(np.flatnonzero(run(est).onset[:, KICK] > 0)) == set(np.flatnonzero(est.onset[:, KICK] >= 0.5))  # not by default


def test_an_onset_that_stays_above_the_threshold_is_one_hit() -> None:
    est = estimate()
    est.onset[100:106, LEAD] = [0.5, 0.6, 0.55, 0.62, 0.58, 0.6]  # one note, wavering above 0.3
    env = run(est).env[:, LEAD]
    assert np.flatnonzero(np.diff(env) > 0).tolist() == [99]  # it rises once, on frame 100


def test_a_hit_on_the_heard_beat_moves_more_than_the_same_hit_between_beats() -> None:
    est = estimate(480)
    est.onset[(np.arange(480) % 30) == 15, KICK] = 0.8  # the same hits half a beat later too
    out = run(est)
    t = np.arange(480)
    on, off = out.env[(t % 30 == 0) & (t >= 120), KICK], out.env[(t % 30 == 15) & (t >= 120), KICK]
    assert on.min() > 0.75  # on the beat: the hit's strength
    # Half a beat off: OFF_BEAT_ACCENT of it as far as the beat is sure (confidence 0.6), still a jump.
    assert np.allclose(off, 0.8 * (1.0 - 0.6 * (1.0 - OFF_BEAT_ACCENT)), atol=0.01)
    assert np.all(off > out.env[(t % 30 == 14) & (t >= 120), KICK])
    est.confidence[:, CONFIDENCE_GROUPS.index("beat")] = 0.0  # no beat heard: no accents
    flat = run(est).env[:, KICK]
    assert np.allclose(flat[(t % 30 == 15) & (t >= 120)], 0.8)
