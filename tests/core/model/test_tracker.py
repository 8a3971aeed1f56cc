"""The causal beat tracker (synesthete.model.trackers): from beat / downbeat activations to beat and
bar phase, on real procedural scores; it predicts beats, keeps the caller's state, and a bad config
is one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from synesthete.audio.engine import render_clip
from synesthete.metrics.hearing import beat_f
from synesthete.model import TrackerConfig, hearing_config
from synesthete.model.trackers.bar_pointer import BarPointerTracker
from synesthete.music_events import detect_events
from synesthete.registry import available, build

FPS = 60


def _frame(t: float) -> int:
    return int(np.ceil(t * FPS - 1e-9)) - 1  # the frame whose instant (t + 1) / fps covers t


def _activations(score, n: int, skip_beat: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What a good network would say: a beat / downbeat probability of 0.7 / 0.5 on each one's
    frame, a little everywhere else; the beat at `skip_beat` (s) left out."""
    b, d = np.full(n, 0.05), np.full(n, 0.02)
    for t in score.beat_times:
        if 0 <= _frame(t) < n and (skip_beat is None or abs(t - skip_beat) > 1e-6):
            b[_frame(t)] = 0.75
    for t in score.downbeat_times:
        if 0 <= _frame(t) < n and (skip_beat is None or abs(t - skip_beat) > 1e-6):
            d[_frame(t)] = 0.5
    return b, d


def _run(tracker, b: np.ndarray, d: np.ndarray, flux: np.ndarray | None = None,
         chord: np.ndarray | None = None, drums: np.ndarray | None = None,
         phase: np.ndarray | None = None) -> dict[str, np.ndarray]:
    state = tracker.init_state(1)
    flux = np.zeros(len(b)) if flux is None else flux
    cols: dict[str, list[float]] = {}
    for t in range(len(b)):
        out, state = tracker.step(b[t: t + 1], d[t: t + 1], flux[t: t + 1], state,
                                  chord=None if chord is None else chord[t: t + 1],
                                  drums=None if drums is None else drums[t: t + 1],
                                  phase=None if phase is None else phase[t: t + 1])
        for k, v in out.items():
            cols.setdefault(k, []).append(float(v[0]))
    return {k: np.array(v) for k, v in cols.items()}


def _score_of(beats_per_bar: int, seconds: float = 16.0):
    for seed in range(1, 200):
        clip = render_clip(seed, seconds)
        if clip.score.beats_per_bar == beats_per_bar:
            return clip.score
    raise AssertionError(f"no {beats_per_bar}/4 song in 200 seeds")


@pytest.mark.parametrize("beats_per_bar,lag", [(4, 0), (3, 0), (4, 2)])
def test_clean_activations_give_every_beat_and_downbeat(beats_per_bar, lag):
    """lag > 0: the activations say each beat `lag` frames after it (the heads of a model with
    `beat_lag`), and the tracker told so still wraps the phase on the beat's own frame."""
    score = _score_of(beats_per_bar)
    n = 16 * FPS
    tracker = BarPointerTracker(FPS, TrackerConfig(), lag=lag)
    b, d = _activations(score, n)
    b, d = np.roll(b, lag), np.roll(d, lag)  # the first frames hold the clip's last: no beat there
    out = _run(tracker, b, d)
    truth = score.music_state(FPS, n)
    est = dataclasses.replace(truth, beat_phase=out["beat_phase"].astype(np.float32),
                              bar_phase=out["bar_phase"].astype(np.float32))
    events = detect_events(est, FPS)
    assert beat_f(score.beat_times, events.beats, min_time=4.0) >= 0.95
    assert beat_f(score.downbeat_times, events.downbeats, min_time=4.0) >= 0.95
    assert abs(np.median(out["tempo"][-FPS:]) - score.tempo) < 0.06 * score.tempo
    assert np.median(out["beat_confidence"][-4 * FPS:]) > 0.8  # locked: sure of itself


def test_without_a_downbeat_cue_the_bar_still_starts_on_a_beat_every_bar():
    """A downbeat head that says only "a beat" (the same share of the beat on every beat, as an
    undertrained one does): which beat starts the bar is a guess, but the guess must be a beat, and
    the bar must go on at one bar per m beats. A circular mean over a belief split between bar
    positions wrapped between beats and skipped bars."""
    score = _score_of(4)
    n = 16 * FPS
    b, _ = _activations(score, n)
    d = np.where(b > 0.5, 0.25 * b, 0.02)
    out = _run(BarPointerTracker(FPS, TrackerConfig()), b, d)
    truth = score.music_state(FPS, n)
    events = detect_events(dataclasses.replace(truth, beat_phase=out["beat_phase"].astype(np.float32),
                                               bar_phase=out["bar_phase"].astype(np.float32)), FPS)
    beats, downbeats = events.beats[events.beats >= 4.0], events.downbeats[events.downbeats >= 4.0]
    assert beat_f(score.beat_times, events.beats, min_time=4.0) >= 0.95
    assert len(downbeats) >= 0.8 * np.count_nonzero(score.downbeat_times >= 4.0)
    assert all(np.min(np.abs(beats - t)) <= 1.5 / FPS for t in downbeats)  # each on a beat
    per_bar = np.diff(np.searchsorted(beats, downbeats - 1.5 / FPS))[-3:]  # beats per bar, once settled
    assert np.all(per_bar == per_bar[-1]) and per_bar[-1] in (3, 4), per_bar


@pytest.mark.parametrize("beats_per_bar", [4, 3])
def test_chord_changes_heard_late_find_the_bar_the_downbeat_head_cannot(beats_per_bar):
    """The downbeat head says only "a beat"; the chord head names a new chord each bar, 0.2 s after
    its downbeat (the shipped head turns to a change over ~0.1-0.3 s, and the change signal, a
    running mean's distance, peaks ~0.1 s after that): with harmony_weight (the default) the bar
    is found, each downbeat on the frame it is due."""
    score = _score_of(beats_per_bar)
    n = 16 * FPS
    b, _ = _activations(score, n)
    d = np.where(b > 0.5, 0.25 * b, 0.02)
    chord = np.full((n, 12), 0.01)
    bar = np.searchsorted(score.downbeat_times, (np.arange(n) + 1) / FPS - 0.2, side="right")
    chord[np.arange(n), (bar * 7) % 12] = 0.89  # round the circle of fifths, a chord a bar
    truth = score.music_state(FPS, n)
    found = {}
    for weight in (0.0, TrackerConfig().harmony_weight):
        out = _run(BarPointerTracker(FPS, TrackerConfig(harmony_weight=weight)), b, d, chord=chord)
        events = detect_events(dataclasses.replace(truth, beat_phase=out["beat_phase"].astype(np.float32),
                                                   bar_phase=out["bar_phase"].astype(np.float32)), FPS)
        assert beat_f(score.beat_times, events.beats, min_time=4.0) >= 0.95
        found[weight] = beat_f(score.downbeat_times, events.downbeats, min_time=4.0)
    assert found[TrackerConfig().harmony_weight] >= 0.95, found


def test_a_beat_the_network_misses_is_still_predicted_on_its_frame():
    score = _score_of(4)
    n = 16 * FPS
    missing = float(score.beat_times[np.searchsorted(score.beat_times, 10.0)])
    out = _run(BarPointerTracker(FPS, TrackerConfig()), *_activations(score, n, skip_beat=missing))
    phase = out["beat_phase"]
    wraps = np.flatnonzero(np.diff(phase) < -0.5) + 1  # frames where the phase starts a beat
    assert np.min(np.abs(wraps - _frame(missing))) <= 1


def test_the_state_given_is_not_changed_and_batch_items_are_independent():
    tracker = build("tracker", "bar_pointer", fps=FPS,
                    cfg=TrackerConfig(onset_weight=0.5, onset_mix=0.3, harmony_weight=5.0, drum_weight=0.5,
                                      phase_weight=0.5, bar_phase_weight=0.2))
    rng = np.random.default_rng(0)
    b, d, flux, drums = rng.random((2, 50)), rng.random((2, 50)) * 0.3, rng.random((2, 50)), rng.random((2, 50))
    chord = rng.dirichlet(np.ones(12), size=(2, 50))
    phase = rng.uniform(-1, 1, (2, 50, 4))
    state = tracker.init_state(2)
    for t in range(50):
        before = [s.clone() for s in state]
        out, new = tracker.step(b[:, t], d[:, t], flux[:, t], state, chord=chord[:, t], drums=drums[:, t],
                                phase=phase[:, t])
        assert all(np.array_equal(s.numpy(), s0.numpy()) for s, s0 in zip(state, before))
        state = new
    alone = _run(tracker, b[1], d[1], flux[1], chord[1], drums[1], phase[1])
    for k, v in out.items():
        np.testing.assert_allclose(v[1], alone[k][-1], rtol=1e-5, atol=1e-5, err_msg=k)  # float32 sums


@pytest.mark.parametrize("evidence", [dict(onset_weight=0.5, onset_mix=0.3, harmony_weight=5.0, drum_weight=0.5),
                                      dict(onset_mix=0.0, harmony_weight=0.0, drum_weight=0.0), {}],
                         ids=["every-input", "beat-heads-only", "shipped"])
def test_batch_1_in_floats_equals_the_array_arithmetic(evidence):
    """At batch 1 (the live app) the per-frame scalars run in Python floats (`_observation_one`,
    `_read_one`), a batch in numpy arrays (`_observation`, `_read`): the same sums in the same
    order, so on the same inputs they agree to the last bit (but hypot, which math and numpy
    round apart by 1 ulp)."""
    tracker = build("tracker", "bar_pointer", fps=FPS, cfg=TrackerConfig(**evidence))
    rng = np.random.default_rng(1)
    b, flux, drums = rng.random(400), rng.random(400) * 3, rng.random(400)
    d = b * rng.random(400)
    chord = rng.dirichlet(np.ones(12), size=400)
    state = tracker.init_state(1)
    for t in range(400):
        kw = dict(chord=None if t % 5 == 0 else chord[t:t + 1], drums=None if t % 7 == 0 else drums[t:t + 1])
        args = (b[t:t + 1], d[t:t + 1], flux[t:t + 1])
        stats, chord_mean = state[1].numpy(), state[2].numpy()
        f1, s1, c1 = tracker._observation_one(*args, stats, kw["chord"], chord_mean, kw["drums"])
        fa, sa, ca = tracker._observation(*args, stats, kw["chord"], chord_mean, kw["drums"])
        for x1, xa in zip(f1, fa):
            assert (x1 is None) == (xa is None)
            if x1 is not None:
                assert isinstance(x1, np.float32) and xa.dtype == np.float32 and x1 == xa[0, 0]
        np.testing.assert_array_equal(s1, sa)
        np.testing.assert_array_equal(c1, ca)
        out, state = tracker.step(*args, state, **kw)
        r = (tracker._readout @ state[0].numpy().T).astype(np.float64)
        o1, oa = tracker._read_one(r), tracker._read(r)
        assert list(o1) == list(oa) == list(out)
        for k in oa:
            assert o1[k].shape == (1,) and np.array_equal(out[k], o1[k]), k
            np.testing.assert_allclose(o1[k], oa[k], rtol=0, atol=2e-16 if "confidence" in k else 0, err_msg=k)


def _phase_head(score, n: int, shift: float = 0.0) -> np.ndarray:
    """What a phase head that knows the beat says on every frame: (sin, cos) of the true beat phase
    (plus `shift` cycles) at length 0.8, and of the bar phase at length 0.3 (MSE shrinks an unsure
    head's vector)."""
    truth = score.music_state(FPS, n)
    beat, bar = 2 * np.pi * (truth.beat_phase + shift), 2 * np.pi * truth.bar_phase
    return np.stack([0.8 * np.sin(beat), 0.8 * np.cos(beat), 0.3 * np.sin(bar), 0.3 * np.cos(bar)], axis=1)


def test_the_phase_head_tells_the_beat_from_the_off_beat_eighth_the_beat_head_fires_on_alike():
    """The shipped beat head fires on the off-beat eighth nearly as much as on the beat
    (docs/evaluation.md#why-the-slow-songs-double); the phase head (trained on every frame's beat
    phase) reads the eighth's phase as the opposite of the beat's. With `phase_weight` its evidence
    puts the tracker's beats where it says: on the beats, or, told the opposite phase, on the
    eighths, where the activations alone cannot choose."""
    score = _score_of(4)
    n = 16 * FPS
    b, d = _activations(score, n)
    for t0, t1 in zip(score.beat_times[:-1], score.beat_times[1:]):  # the eighth as loud as the beat
        if 0 <= _frame((t0 + t1) / 2) < n:
            b[_frame((t0 + t1) / 2)] = 0.75
    d = np.where(b > 0.5, 0.25 * b, 0.02)
    truth = score.music_state(FPS, n)
    eighths = (score.beat_times[:-1] + score.beat_times[1:]) / 2
    found = {}
    for shift in (0.0, 0.5):
        out = _run(BarPointerTracker(FPS, TrackerConfig(phase_weight=0.3)), b, d, phase=_phase_head(score, n, shift))
        est = dataclasses.replace(truth, beat_phase=out["beat_phase"].astype(np.float32),
                                  bar_phase=out["bar_phase"].astype(np.float32))
        beats = detect_events(est, FPS).beats
        found[shift] = (beat_f(score.beat_times, beats, min_time=4.0), beat_f(eighths, beats, min_time=4.0))
        assert abs(np.median(out["tempo"][-FPS:]) - score.tempo) < 0.06 * score.tempo, shift  # not double time
    assert found[0.0][0] >= 0.95 and found[0.0][1] <= 0.1, found
    assert found[0.5][1] >= 0.95 and found[0.5][0] <= 0.1, found


def test_without_phase_weight_the_phase_head_is_not_read():
    score = _score_of(4)
    n = 8 * FPS
    b, d = _activations(score, n)
    plain = _run(BarPointerTracker(FPS, TrackerConfig()), b, d)
    told = _run(BarPointerTracker(FPS, TrackerConfig()), b, d, phase=_phase_head(score, n, 0.5))
    for k in plain:
        np.testing.assert_array_equal(plain[k], told[k], err_msg=k)


def test_the_drums_keep_the_tracker_on_the_beat_where_the_beat_head_prefers_the_off_beat():
    """What the shipped model does on some recorded songs (crimson, planetblupi-003 of the dev set):
    its beat head fires on the off-beat eighth notes (the hats) more than on the beats, while the
    kick and snare heads fire on the beats. The beat head alone locks the tracker to the off-beat;
    blended with the drums (drum_weight, on by default) it keeps the beats. (A song over 107.5 BPM,
    whose eighth notes lie beyond max_bpm: the choice is the phase, not the tempo.)"""
    score = next(c.score for c in (render_clip(seed, 16.0) for seed in range(1, 200))
                 if c.score.beats_per_bar == 4 and 2 * c.score.tempo > TrackerConfig().max_bpm + 5)
    n = 16 * FPS
    b, d = _activations(score, n)
    drums = np.full(n, 0.05)
    beats = np.array([_frame(t) for t in score.beat_times if 0 <= _frame(t) < n])
    b[beats] = 0.6
    drums[beats] = 0.7
    off = (beats[:-1] + beats[1:]) // 2  # the eighth notes between the beats
    b[off] = 0.75
    drums[off] = 0.1
    found = {}
    for weight in (0.0, TrackerConfig().drum_weight):
        out = _run(BarPointerTracker(FPS, TrackerConfig(drum_weight=weight)), b, d, drums=drums)
        wraps = (np.flatnonzero(np.diff(out["beat_phase"]) < -0.5) + 2) / FPS
        found[weight] = beat_f(score.beat_times, wraps, min_time=4.0)
    assert TrackerConfig().drum_weight > 0
    assert found[0.0] < 0.5, found  # the beat head alone: the off-beat
    assert found[TrackerConfig().drum_weight] >= 0.95, found


def test_onset_mix_is_the_beat_evidence_mixed_with_the_flux_strength():
    """With onset_mix = m the tracker hears (1 - m) x beat + m x the flux's onset strength (after
    the drums' blend), the downbeat scaled alike: the same steps as a tracker without the mix fed
    that evidence; and the mix moves the tracker where the flux disagrees with the beat head."""
    score = _score_of(4)
    n = 8 * FPS
    b, d = _activations(score, n)
    rng = np.random.default_rng(3)
    flux = rng.gamma(2.0, 0.5, n)
    drums = rng.uniform(0.0, 1.0, n)
    m = 0.4
    mixed = BarPointerTracker(FPS, TrackerConfig(onset_mix=m))
    plain = BarPointerTracker(FPS, TrackerConfig(onset_mix=0.0))
    state_m, state_p, stats = mixed.init_state(1), plain.init_state(1), mixed.init_state(1)[1].numpy()
    phases = []
    for t in range(n):
        out_m, state_m = mixed.step(b[t: t + 1], d[t: t + 1], flux[t: t + 1], state_m, drums=drums[t: t + 1])
        strength, stats = mixed._onset_strength(flux[t: t + 1], stats)
        blend = b[t] ** 0.7 * drums[t] ** 0.3
        beat = (1 - m) * blend + m * strength
        out_p, state_p = plain.step(beat, d[t: t + 1] * beat / b[t], flux[t: t + 1], state_p)
        for k in out_m:
            np.testing.assert_allclose(out_m[k], out_p[k], rtol=1e-5, atol=1e-6, err_msg=k)
        phases.append(float(out_m["beat_phase"][0]))
    unmixed = _run(BarPointerTracker(FPS, TrackerConfig()), b, d, flux, drums=drums)["beat_phase"]
    assert np.max(np.abs(np.array(phases) - unmixed)) > 0.01  # the mix changed what the tracker heard


def test_with_onset_weight_the_flux_alone_finds_the_beat_of_a_real_song():
    """No network activation at all: the tracker on the flux feature of a rendered drum-and-bass
    groove still locks to its beats. (Through the room-mic augmentation the flux alone does not:
    the network's activation is what hears a beat in a room.)"""
    import torch

    from synesthete.features import FeatureExtractor

    score_clip = render_clip(7, 16.0, stems=("kick", "snare", "bass"), section="drop", beats_per_bar=4, drift=0.0)
    cfg = hearing_config("small")
    audio = score_clip.audio if score_clip.audio.ndim == 1 else score_clip.audio.mean(axis=0)
    flux = FeatureExtractor.for_model(cfg).extract(torch.from_numpy(audio.astype(np.float32))[None])[0, :, cfg.n_mels].double().numpy()
    n = len(flux)
    out = _run(BarPointerTracker(FPS, TrackerConfig(onset_weight=1.0)), np.zeros(n), np.zeros(n), flux)
    wraps = (np.flatnonzero(np.diff(out["beat_phase"]) < -0.5) + 2) / FPS  # the instants of the wrap frames
    assert beat_f(score_clip.score.beat_times, wraps, min_time=4.0) >= 0.95
    assert abs(np.median(out["tempo"][-FPS:]) - score_clip.score.tempo) < 0.03 * score_clip.score.tempo


def test_the_shipped_checkpoint_hears_with_the_recipes_tracker():
    """The tracker has no weights: its config rides in the checkpoint, and a value tuned after
    training (reset) is re-saved into default.pt beside the preset, so the shipped model and a
    retrain of presets/train_default.toml track alike."""
    import tomllib
    from pathlib import Path

    from synesthete.checkpoint import load_model

    preset = tomllib.loads((Path(__file__).parents[3] / "presets" / "train_default.toml").read_text())
    shipped = load_model(None).cfg.tracker
    for key, value in preset["model"]["tracker"].items():
        assert getattr(shipped, key) == (tuple(value) if isinstance(value, list) else value), key


def test_the_shipped_model_keeps_the_beat_of_a_weak_song():
    """A validation song (seed 30013, 76 BPM, through the room mic) whose beat activation is weak
    (about 0.5 on the beats): with reset = 1e-4 the belief keeps more of the other tempo and phase
    hypotheses alive and the beat slips (beat F 0.56); the tuned 1e-5 holds it (0.75). The same
    weights hear both, only the tracker's reset differs (checkpoint of 2026-12-02; the one before
    showed the same on seed 30021: 0.54 against 0.7 and more)."""
    from synesthete.analysis import hear
    from synesthete.checkpoint import load_model
    from synesthete.hearing_evaluation import procedural_items
    from synesthete.model import build_hearing_model
    from synesthete.music_events import detector_config

    shipped = load_model(None)
    loose = build_hearing_model(dataclasses.replace(
        shipped.cfg, tracker=dataclasses.replace(shipped.cfg.tracker, reset=1e-4)))
    loose.load_state_dict(shipped.state_dict())
    item = procedural_items(shipped.cfg, [30013], 16.0)[0]

    def beat_f_of(model) -> float:
        est = detect_events(hear(model, item.audio, "cpu"), model.cfg.fps, detector_config(model.cfg))
        return beat_f(item.truth.beats, est.beats, min_time=4.0)

    tuned = beat_f_of(shipped)
    assert shipped.cfg.tracker.reset == 1e-5
    assert tuned >= 0.7
    assert tuned - beat_f_of(loose) >= 0.1


def test_a_bad_tracker_config_is_one_line():
    assert "bar_pointer" in available("tracker")
    with pytest.raises(ValueError, match="model.tracker.name: unknown tracker 'viterbi'.*bar_pointer"):
        from synesthete.model import build_hearing_model

        build_hearing_model(hearing_config("tiny", tracker={"name": "viterbi"}))
    with pytest.raises(ValueError, match="min_bpm"):
        TrackerConfig(min_bpm=200.0, max_bpm=100.0)
    with pytest.raises(ValueError, match="meters"):
        TrackerConfig(meters=())
    with pytest.raises(ValueError, match="onset_weight"):
        TrackerConfig(onset_weight=2.0)
    with pytest.raises(ValueError, match="harmony_weight"):
        TrackerConfig(harmony_weight=-1.0)
    with pytest.raises(ValueError, match=r"drum_weight must be in \[0, 1\]"):
        TrackerConfig(drum_weight=1.5)
    with pytest.raises(ValueError, match=r"onset_mix must be in \[0, 1\]"):
        TrackerConfig(onset_mix=-0.1)
    with pytest.raises(ValueError, match=r"observation_threshold must be in \[0, 1\)"):
        TrackerConfig(observation_threshold=1.0)
    with pytest.raises(ValueError, match=r"phase_weight must be in \[0, 8\]"):
        TrackerConfig(phase_weight=-0.5)
    with pytest.raises(ValueError, match=r"bar_phase_weight must be in \[0, 8\]"):
        TrackerConfig(bar_phase_weight=9.0)
    with pytest.raises(ValueError, match="no beat period"):
        BarPointerTracker(FPS, TrackerConfig(min_bpm=2000.0, max_bpm=3000.0))
    with pytest.raises(ValueError, match="beat_lag"):
        hearing_config("tiny", beat_lag=4)
    with pytest.raises(ValueError, match="beat_lag.*next_beat"):
        hearing_config("tiny", beat_lag=1, downbeat_head="next_beat")
    with pytest.raises(ValueError, match="beat_lag: 16 frames leaves no beat zone"):
        BarPointerTracker(FPS, TrackerConfig(), lag=16)


def test_observation_threshold_decides_the_tempo_octave_of_a_head_that_hears_the_eighths():
    """Madmom's observation counts an activation above 1/observation_lambda (1/16) as evidence
    *for* a beat: a head at 0.3 on the off-beat eighths of an 85 BPM song makes the double tempo
    the likelier, a threshold of 0.5 keeps the song's own tempo; a threshold of 1/16 is madmom's."""
    score = render_clip(3, 20.0, tempo=85.0, beats_per_bar=4).score
    n = int(20.0 * FPS)
    b, d = _activations(score, n)
    for t0, t1 in zip(score.beat_times[:-1], score.beat_times[1:]):
        b[_frame(0.5 * (t0 + t1))] = 0.3
    base = hearing_config().tracker
    heard = {th: _run(BarPointerTracker(FPS, dataclasses.replace(base, observation_threshold=th)), b, d)
             for th in (0.0, 1.0 / 16.0, 0.5)}
    for k in heard[0.0]:
        np.testing.assert_array_equal(heard[0.0][k], heard[1.0 / 16.0][k])
    tempo = {th: float(np.median(out["tempo"][4 * FPS:])) for th, out in heard.items()}
    assert abs(tempo[0.0] / 170.0 - 1) < 0.05, tempo
    assert abs(tempo[0.5] / 85.0 - 1) < 0.05, tempo
