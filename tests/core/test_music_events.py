"""Events from the music state: on the score's exact state they are the score's own events, frame-exact."""

from __future__ import annotations

import numpy as np
import pytest

from synesthete.audio.engine import render_clip
from synesthete.constants import STEMS
from synesthete.model.config import HearingConfig
from synesthete.music_events import (Beat, ChordChange, DetectorConfig, Downbeat, EventDetector, Hit,
                                     TempoChange, detect_events, detector_config, onset_hits_over_thresholds)
from synesthete.music_state import FIELD_NAMES, MusicState

FPS = 60
# On the score's exact state every hit counts, however soft, and hits in adjacent frames are real.
EXACT = DetectorConfig(onset_threshold=0.01, refractory_s=0.0)


def _frame_of(ref: np.ndarray, n: int) -> np.ndarray:
    """Score event times the state can show (frame t covers (t/fps, (t+1)/fps]), as frame instants."""
    ref = ref[(ref > 1e-6) & (ref <= n / FPS)]
    return (np.ceil(ref * FPS - 1e-9)) / FPS


@pytest.mark.parametrize("seed", [3, 7, 11, 18])
def test_events_of_the_score_state_are_the_score_events(seed: int) -> None:
    clip = render_clip(seed, 8.0)
    score = clip.score
    n = 8 * FPS
    state = score.music_state(FPS, n)
    events = detect_events(state, config=EXACT)
    # each event lands on the first frame whose instant is at or after it (when it can first be known)
    np.testing.assert_allclose(events.beats, _frame_of(score.beat_times, n), atol=1e-5)
    np.testing.assert_allclose(events.downbeats, _frame_of(score.downbeat_times, n), atol=1e-5)
    for stem in STEMS:
        t, v = score.onsets[stem]
        np.testing.assert_allclose(events.onsets[stem][0], _frame_of(np.unique(t), n), atol=1e-5, err_msg=stem)
    # beats are numbered in the bar: 1 exactly on the downbeats
    assert set(np.round(events.beats[events.beat_numbers == 1], 5)) == set(np.round(events.downbeats, 5))
    assert events.beat_numbers.max() == score.beats_per_bar
    # the tempo the score's state holds: the song's, or around it where the tempo drifts (seed 3)
    assert events.tempo_bpm == pytest.approx(np.median(state.tempo), abs=0.01)
    assert events.tempo_bpm == pytest.approx(score.tempo, rel=0.05)
    # chord spans follow the score's chords, each confirmed once it has shown for 0.1 s (6 frames)
    starts = [c.start for c in score.chords if 0 < c.start < 8.0 - 0.2]
    got = [s for s, _, _, _ in events.chords]
    for s in starts:
        assert any(0.1 - 1 / FPS <= g - s <= 0.1 + 1e-5 for g in got), (s, got)
    assert all(a[1] == b[0] for a, b in zip(events.chords, events.chords[1:]))


def test_the_grid_of_thresholds_in_one_pass_finds_the_detectors_own_hits() -> None:
    """The calibration reads a whole grid of thresholds from onset_hits_over_thresholds: it must
    find exactly the hits EventDetector finds at each one (held values, re-rises, refractory)."""
    rng = np.random.default_rng(0)
    state = MusicState.silence(600, FPS)
    onset = rng.random((600, len(STEMS))) ** 3  # mostly low, with runs of high values
    onset[100:104, 0] = [0.5, 0.9, 0.2, 0.95]  # a re-rise within the refractory window
    onset[200:210, 1] = 0.8  # a held value
    state.onset[:] = onset
    grid = (0.1, 0.2, 0.3, 0.45, 0.6, 0.9)
    for refractory in (0.0, 0.05):
        hits = onset_hits_over_thresholds(state.onset, np.asarray(grid), FPS, refractory)
        assert hits.shape == (len(grid), 600, len(STEMS))
        for g, thr in enumerate(grid):
            events = detect_events(state, FPS, DetectorConfig(onset_threshold=thr, refractory_s=refractory))
            for j, stem in enumerate(STEMS):
                np.testing.assert_array_equal(state.time[hits[g, :, j]], events.onsets[stem][0], err_msg=f"{stem} {thr}")


def test_velocity_threshold_and_refractory() -> None:
    state = MusicState.silence(12, FPS)
    state.confidence[:] = 1.0
    k = STEMS.index("kick")
    state.onset[[1, 2, 3, 8], k] = [0.9, 0.95, 0.9, 0.2]  # a 3-frame blob, then a hit below threshold
    state.onset[[1, 3], STEMS.index("snare")] = [0.8, 0.7]  # two snare hits 33 ms apart
    events = detect_events(state, config=DetectorConfig(onset_threshold=0.3, refractory_s=0.05))
    assert events.onsets["kick"][0].tolist() == pytest.approx([2 / FPS])  # one hit, on its first frame
    assert events.onsets["kick"][1].tolist() == [0.9]
    assert events.onsets["snare"][0].tolist() == pytest.approx([2 / FPS])  # the second is within 50 ms
    relaxed = detect_events(state, config=DetectorConfig(onset_threshold=0.1, refractory_s=0.0))
    assert relaxed.onsets["snare"][0].size == 2 and relaxed.onsets["kick"][0].size == 2


def test_each_stem_reads_hits_at_its_own_threshold() -> None:
    state = MusicState.silence(12, FPS)
    k, h = STEMS.index("kick"), STEMS.index("hat_closed")
    state.onset[[2, 8], k] = [0.25, 0.5]
    state.onset[[2, 8], h] = [0.25, 0.5]
    per_stem = [0.3] * len(STEMS)
    per_stem[k] = 0.2  # a kick head that seldom gets sure: a lower bar
    per_stem[h] = 0.6  # a hat head that fires on everything: a higher one
    cfg = HearingConfig(onset_thresholds=tuple(per_stem))
    events = detect_events(state, config=detector_config(cfg))
    assert events.onsets["kick"][0].tolist() == pytest.approx([3 / FPS, 9 / FPS])
    assert events.onsets["hat_closed"][0].size == 0
    # one threshold given explicitly (a command line's --onset-threshold) wins over the stored ones
    uniform = detect_events(state, config=detector_config(cfg, onset_threshold=0.3))
    assert uniform.onsets["kick"][0].tolist() == uniform.onsets["hat_closed"][0].tolist() == pytest.approx([9 / FPS])
    # a checkpoint without calibrated thresholds (older ones) reads at the default for every stem
    assert detector_config(HearingConfig()) == DetectorConfig()


def _phases(n: int, bpm: float, beats_per_bar: int, jitter: float, seed: int = 0) -> MusicState:
    rng = np.random.default_rng(seed)
    state = MusicState.silence(n, FPS)
    beats = state.time * bpm / 60.0 + 0.5 + rng.uniform(-jitter, jitter, n)  # phase noise of ±jitter cycles
    state.beat_phase[:] = beats % 1.0
    state.bar_phase[:] = (beats / beats_per_bar) % 1.0
    state.tempo[:] = bpm + rng.uniform(-1, 1, n)
    return state


@pytest.mark.parametrize("beats_per_bar", [3, 4])
def test_jittery_phases_give_one_beat_per_beat(beats_per_bar: int) -> None:
    state = _phases(20 * FPS, 120.0, beats_per_bar, jitter=0.05)
    events = detect_events(state)
    # the true beats are at (k - 0.5) * 0.5 s: 0.25, 0.75, ...; each found once, within jitter
    truth = np.arange(0.25, 20.0, 0.5)
    assert events.beats.size == truth.size
    assert np.abs(events.beats - truth).max() < 0.05 * 0.5 + 1.5 / FPS
    assert events.downbeats.size in (truth.size // beats_per_bar, truth.size // beats_per_bar + 1)
    numbers = events.beat_numbers.tolist()
    assert set(numbers) == set(range(1, beats_per_bar + 1))
    first = numbers.index(1)
    assert numbers[first:] == [(i % beats_per_bar) + 1 for i in range(len(numbers) - first)]
    # ±1 BPM of wobble is one tempo, reported once
    assert len(events.tempo_changes) == 1 and events.tempo_changes[0][1] == pytest.approx(120.0, abs=1.0)


@pytest.mark.parametrize("beats_per_bar", [3, 4])
def test_a_phase_that_jumps_keeps_the_beats_numbered_in_the_bar(beats_per_bar: int) -> None:
    """A tracker that corrects itself moves its beat phase by a jump, not a step. The numbers stay
    1..beats_per_bar: the beats per bar are the bar phase's step from beat to beat, which a jump of
    the beat phase does not move (read from the phases' smoothed speeds, the jump made them 6 in
    4/4, 4 in 3/4)."""
    state = _phases(12 * FPS, 120.0, beats_per_bar, jitter=0.0)
    jumped = state.time * 2.0 + 0.5 + np.where(np.arange(len(state)) >= 301, 0.4, 0.0)
    state.beat_phase[:] = jumped % 1.0  # frame 301: the beat phase (not the bar's) jumps 0.4 of a beat ahead
    numbers = detect_events(state).beat_numbers.tolist()
    assert set(numbers) == set(range(1, beats_per_bar + 1)), numbers
    first = numbers.index(1)
    assert numbers[first:] == [(i % beats_per_bar) + 1 for i in range(len(numbers) - first)]


@pytest.mark.parametrize("beats_per_bar,shift,odd", [(4, 2, 6), (4, 1, 5), (3, 1, 4)])
def test_a_bar_the_tracker_moves_does_not_renumber_the_beats(beats_per_bar: int, shift: int, odd: int) -> None:
    """A tracker that moves its bar hypothesis back by `shift` beats makes one bar of `odd` beats
    (the live app on a recorded 4/4 song sent a beat numbered 6 over OSC). Its bar phase stays on
    the grid k / beats_per_bar at the beats, and the beats keep the tracker's numbers,
    1..beats_per_bar, through it; bars that are all longer are a new meter."""
    state = _phases(16 * FPS, 120.0, beats_per_bar, jitter=0.0)
    beats = state.time * 2.0 + 0.5
    moved = beats - np.where(beats >= 3 * beats_per_bar, shift, 0)  # the bar hypothesis moves in the third bar
    state.bar_phase[:] = (moved / beats_per_bar) % 1.0
    events = detect_events(state)
    numbers = events.beat_numbers.tolist()
    j = np.arange(1, len(numbers) + 1)  # beat j: the beat phase wraps where `beats` passes j
    assert numbers == ((j - np.where(j >= 3 * beats_per_bar, shift, 0)) % beats_per_bar + 1).tolist()
    bars = np.diff(events.downbeats) / 0.5  # bars' lengths in beats: one is odd
    assert sorted(set(np.rint(bars).astype(int).tolist())) == sorted({beats_per_bar, odd})

    state.bar_phase[:] = (beats / 6) % 1.0  # every bar 6 beats long: the count follows
    assert max(detect_events(state).beat_numbers.tolist()) == 6


def test_a_tracker_settling_its_bar_never_numbers_a_beat_past_the_bar() -> None:
    """While a tracker locks on it tries bar hypotheses (3/4, then 4/4 from other beats): the
    shipped model's bar phase at the first eight beats of crimson, a 4/4 excerpt of the dev set,
    then steady. Each change breaks one step of the bar phase from beat to beat and not the count:
    no beat is numbered 5 (the live app sent one over OSC, where the count was a grid the last
    beats' bar phases had to sit on, or failing that the first whole bar's length)."""
    state = _phases(10 * FPS, 120.0, 4, jitter=0.0)
    k = state.time * 2.0 - 0.5  # beat k at 0.25 + 0.5 k s
    at = np.array([0.344, 0.673, 0.755, 0.004, 0.254, 0.504, 0.339, 0.672] + [(0.254 + 0.25 * i) % 1.0 for i in range(20)])
    i = np.clip(np.floor(k + 1e-9).astype(int), 0, len(at) - 1)
    state.bar_phase[:] = (at[i] + 0.25 * (k - i)) % 1.0  # each beat's value, then on at 4/4's speed
    numbers = detect_events(state).beat_numbers.tolist()
    assert max(numbers) == 4, numbers
    steady = numbers[8:]  # from the ninth beat on the bar phase steps a quarter a beat: 2 3 4 1 2 ...
    assert steady == [(n + 1) % 4 + 1 for n in range(len(steady))], numbers


def test_a_bar_phase_off_the_beats_grid_still_counts_the_bar() -> None:
    """The count is the bar phase's step from beat to beat, not a grid it must sit on: where every
    beat wraps 0.4 of a beat before the bar's grid (no grid k / n fits), one odd bar of 6 (the
    tracker moving its bar back two beats) does not renumber the beats; bars that are all 6 beats
    long are counted in sixes."""
    state = _phases(20 * FPS, 120.0, 4, jitter=0.0)
    beats = state.time * 2.0 + 0.5
    state.beat_phase[:] = (beats + 0.4) % 1.0  # every beat wraps 0.4 of a beat before the bar's grid
    moved = beats - np.where(beats >= 12, 2, 0)  # the bar hypothesis moves back two beats in the fourth bar
    state.bar_phase[:] = (moved / 4) % 1.0
    numbers = detect_events(state).beat_numbers.tolist()
    tail = numbers[-12:]  # after the odd bar: counted on in fours
    assert max(numbers) == 4 and all(b == a % 4 + 1 for a, b in zip(tail, tail[1:])), numbers

    # from the fourth bar on every bar is 6 beats long
    state.bar_phase[:] = (np.where(beats >= 12, 3 + (beats - 12) / 6, beats / 4)) % 1.0
    assert max(detect_events(state).beat_numbers.tolist()[-8:]) == 6


def test_streaming_from_model_fields_equals_the_clip_run() -> None:
    torch = pytest.importorskip("torch")
    state = _phases(6 * FPS, 97.0, 4, jitter=0.02, seed=4)
    state.onset[::25, STEMS.index("hat_closed")] = 0.7
    state.chord_root[180:] = 9
    state.chord_quality[180:] = 1
    state.tempo[200:] = 130.0
    det = EventDetector(FPS)
    live = []
    for t in range(len(state)):  # what the hearing model's step gives at batch 1: tensors (1, ...), no time
        fields = {f: torch.from_numpy(getattr(state, f)[t : t + 1]) for f in FIELD_NAMES if f != "time"}
        live.extend(det.update(fields))
    whole = detect_events(state)
    assert [e.time for e in live if isinstance(e, Beat)] == pytest.approx(whole.beats.tolist(), abs=1e-6)
    assert [e.time for e in live if isinstance(e, Downbeat)] == pytest.approx(whole.downbeats.tolist(), abs=1e-6)
    assert len([e for e in live if isinstance(e, Hit)]) == whole.onsets["hat_closed"][0].size == 15
    chords = [e for e in live if isinstance(e, ChordChange)]
    assert [c.name for c in chords] == ["C major", "A minor"]
    assert chords[1].time == pytest.approx((180 + 6) / FPS, abs=1e-6)  # after the 0.1 s debounce
    tempos = [e for e in live if isinstance(e, TempoChange)]
    assert [round(t.bpm) for t in tempos] == [97, 130]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="fps"):
        EventDetector(0)
    with pytest.raises(ValueError, match="onset_threshold"):
        DetectorConfig(onset_threshold=1.5)
    with pytest.raises(ValueError, match="stem_thresholds"):
        DetectorConfig(stem_thresholds=(0.3, 0.3))
    with pytest.raises(ValueError, match="onset_thresholds"):
        HearingConfig(onset_thresholds=(0.3,) * (len(STEMS) - 1) + (1.0,))
    with pytest.raises(ValueError, match="values per frame"):
        EventDetector(FPS).update({"beat_phase": 0.1, "bar_phase": 0.0, "onset": [0.0, 1.0], "chord_root": 0,
                                   "chord_quality": 0})
