"""A causal bar-pointer beat tracker: madmom's DBN beat/downbeat state space, run forward.

The hidden state is where the music is: the meter (beats per bar, one of `meters`), the beat in
the bar k, the tempo as a beat period of tau whole frames (`min_bpm`..`max_bpm`) and the position
p = 0..tau-1 inside the beat. Each frame the position advances by one; at the end of a beat the
pointer moves to the next beat of the bar and may change tempo, p(tau_j | tau_i) ~
exp(-transition_lambda |tau_j / tau_i - 1|) (Krebs, Boeck & Widmer 2015, as madmom's
DBNDownBeatTrackingProcessor). The observation is the network's two activations: states in the
first 1/observation_lambda of the first beat of a bar expect a downbeat, those of the other beats a
beat, all others neither (madmom's RNNDownBeatTrackingObservationModel). With onset_weight > 0
the beat activation is first raised to a plain DSP onset strength where that is higher (the
spectral flux feature against its running statistics): on music unlike the training songs the
flux still marks the hits the network is unsure of; with onset_mix > 0 it is first mixed in
instead, (1 - onset_mix) x activation + onset_mix x strength (a max lets a loud off-beat in the
flux outvote the beat head; the shipped tracker mixes). With drum_weight > 0 the beat activation is
first blended (geometrically) with the kick and snare heads' onset probability, and the downbeat
scaled alike: on recorded music the beat head often fires on the off-beat eighths too, the drums
do not. With harmony_weight > 0 a chord change is downbeat evidence too: the chord head's root
probabilities are compared with their running mean, and since the head hears a change about
harmony_lag_s late, the states that far into a bar are raised each frame by 1 + harmony_weight x
the change (the downbeat head alone hardly tells the first beat of a bar from the others:
docs/evaluation.md#why-the-downbeats-failed).

madmom decodes the whole piece with Viterbi (non-causal). Here the belief over states is filtered
forward (the HMM forward algorithm, normalised each frame), so every frame has its own estimate
from the past alone, and because the belief knows the tempo and the position, the beat phase wraps
on the frame the beat is due: the beat is predicted, not read a frame after its evidence. Outputs
are the belief's circular means (beat phase, bar phase), their resultant lengths (the
confidences: 1 when the belief is one phase, near 0 when it is spread), and the mean tempo.

The transition is a shift by one state plus, at the few beat-start states, a small matrix
product, so a frame costs a few vector operations over the ~14k states (tens of microseconds).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from synesthete.model.config import TrackerConfig
from synesthete.registry import register

# float32: half the memory traffic of float64, and the belief is renormalised every frame (the
# reset keeps every state above ~1e-9, far from float32's underflow).
_DTYPE = np.float32
_FLOOR = 1e-6  # no observation is impossible: an activation of exactly 0 or 1 must not kill a state
_ONSET_Z, _ONSET_SLOPE = 2.0, 1.5  # the onset strength is 0.5 two running deviations above the mean


def _clip(x, lo, hi):
    """np.clip's values (for numbers, not NaN) at half its cost on a (B,) array: a frame's few
    small array operations, not its ~14k states, are most of the tracker's time."""
    return np.minimum(np.maximum(x, lo), hi)


def _rescaled(beat: np.ndarray, downbeat: np.ndarray, evidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`evidence` as the new beat probability, and the downbeat scaled by the same factor (the
    drums and the flux say whether a beat is here, not which beat of the bar)."""
    return evidence, downbeat * evidence / np.maximum(beat, _FLOOR)


def _rescaled_one(beat: float, downbeat: float, evidence: float) -> tuple[float, float]:
    """`_rescaled` on Python floats (batch 1, `_observation_one`): the same sums."""
    return evidence, downbeat * evidence / max(beat, _FLOOR)


@register("tracker", "bar_pointer")
class BarPointerTracker:
    def __init__(self, fps: float, cfg: TrackerConfig, lag: int = 0) -> None:
        self.cfg = cfg
        self.fps = float(fps)
        self.lag = int(lag)  # the activations of frame t are about a beat at frame t - lag
        # a state outside the beat zones weighs (1 - b) x this against a beat zone's b: the two are
        # even at b = threshold (madmom: 1 / observation_lambda)
        th = cfg.observation_threshold
        self._none_div = (1.0 - th) / th if th > 0 else cfg.observation_lambda - 1.0
        taus = np.arange(math.ceil(60.0 * fps / cfg.max_bpm), math.floor(60.0 * fps / cfg.min_bpm) + 1)
        if taus.size == 0 or taus[0] < 2:
            raise ValueError(f"model.tracker: no beat period of >= 2 whole frames at {fps} fps lies in "
                             f"{cfg.min_bpm}..{cfg.max_bpm} BPM")
        if not 0 <= self.lag < taus[0] * (1.0 - 1.0 / cfg.observation_lambda):
            raise ValueError(f"model.beat_lag: {lag} frames leaves no beat zone inside the shortest beat "
                             f"({taus[0]} frames at {cfg.max_bpm} BPM)")
        self.taus = taus
        n_t = taus.size
        # Layout: one segment of tau_i states per (meter, beat in bar k, tempo i), p = 0..tau_i-1.
        starts, prev_ends, beat_phase, bpm, region, prior, nearest, since_bar = [], [], [], [], [], [], [], []
        bar_phase = []  # (k + the beat phase) / m: where in the bar each state is
        offset = 0
        seg_start: dict[tuple[int, int, int], int] = {}
        self.beats: list[tuple[int, int]] = []  # (meter, beat in bar k), one row per beat of every meter
        for m in cfg.meters:
            for k in range(m):
                self.beats.append((m, k))
                row, next_row = len(self.beats) - 1, len(self.beats) - 1 - k + (k + 1) % m
                for i, tau in enumerate(taus):
                    seg_start[(m, k, i)] = offset
                    p = np.arange(tau)
                    beat_phase.append((p + 0.5) / tau)  # frame t stands for its end: half a frame in
                    bar_phase.append((k + (p + 0.5) / tau) / m)
                    bpm.append(np.full(tau, 60.0 * fps / tau))
                    # the beat of the bar each position is nearest to (row of (m, k) in
                    # self.beats): its own in the first half of the beat, the next one after
                    nearest.append(np.where(p + 0.5 < tau / 2, row, next_row))
                    since_bar.append(k * tau + p + 0.5)  # frames since the bar's first beat began
                    # the positions whose activations say "a beat": the beat's first 1/lambda,
                    # `lag` frames on (the heads tell a beat lag frames after it)
                    beat_zone = (p >= lag) & (p < lag + tau / cfg.observation_lambda)
                    region.append(np.where(beat_zone, 2 if k == 0 else 1, 0))
                    # uniform over meters and tempi, then over the positions of one bar
                    prior.append(np.full(tau, 1.0 / (len(cfg.meters) * n_t * m * tau)))
                    offset += tau
        self.n_states = offset
        for m in cfg.meters:
            for k in range(m):
                starts.append([seg_start[(m, k, i)] for i in range(n_t)])
                kp = (k - 1) % m  # a beat starts where the bar's previous beat ended
                prev_ends.append([seg_start[(m, kp, i)] + taus[i] - 1 for i in range(n_t)])
        self._starts = np.array(starts, np.int64)  # (R, n_t): R = sum of meters, one row per beat
        self._prev_ends = np.array(prev_ends, np.int64)
        ratio = taus[None, :] / taus[:, None]  # [i, j] = tau_j / tau_i
        trans = np.exp(-cfg.transition_lambda * np.abs(ratio - 1.0))
        self._trans = (trans / trans.sum(axis=1, keepdims=True)).astype(_DTYPE)  # rows: from tau_i
        region = np.concatenate(region)
        self._beat_idx = np.flatnonzero(region == 1)  # the zones that expect a beat / a downbeat
        self._downbeat_idx = np.flatnonzero(region == 2)
        prior = np.concatenate(prior)
        self._prior = (prior / prior.sum()).astype(_DTYPE)
        # Added before each observation: `reset` of the belief spread over the prior (unnormalised
        # here; the division that follows the observation normalises).
        self._reset_mass = (self._prior * (cfg.reset / (1.0 - cfg.reset))).astype(_DTYPE)
        bp = 2 * np.pi * np.concatenate(beat_phase)
        # One matrix product reads every output from the belief: (3 + 3 R, N). The bar is read as
        # its mode, not a mean: the likeliest (meter, beat in bar) with the beat phase of that
        # beat's states. A belief split between bar positions (beat 1 or 3 of a 4/4 bar, 3/4 or
        # 4/4) has a circular mean that lies between them, moves at the wrong speed and wraps off
        # the beats, so its downbeats were mostly not on any beat. Each state counts toward the
        # beat it is nearest to, so the choice can change only half a beat away from a beat.
        nearest = np.concatenate(nearest)
        rows = [np.cos(bp), np.sin(bp), np.concatenate(bpm)]
        for r in range(len(self.beats)):
            mask = (nearest == r).astype(np.float64)
            rows += [np.cos(bp) * mask, np.sin(bp) * mask, mask]
        self._readout = np.stack(rows).astype(_DTYPE)
        # The states a chord change heard now points at: the bar began harmony_lag_s ago, give or
        # take harmony_window_s (the chord head's lag varies by a few frames). The evidence also
        # pulls the beat phase toward that bar start: a window of half a beat either way, which
        # would leave the phase alone, lost beats on the validation songs (docs/training.md).
        since_bar = np.concatenate(since_bar) / fps
        self._after_bar_idx = np.flatnonzero(np.abs(since_bar - cfg.harmony_lag_s) <= cfg.harmony_window_s)
        # the phase head's evidence (phase_weight, bar_phase_weight): each state's beat and bar
        # phase as (sin, cos) rows, only those of the pairs whose weight is not 0 (taken once here,
        # not per frame), so a frame's factor is one (1, 2 or 4) x (2 or 4, N) product and an exp
        barp = 2 * np.pi * np.concatenate(bar_phase)
        weights = np.array([cfg.phase_weight] * 2 + [cfg.bar_phase_weight] * 2)
        self._phase_cols = np.flatnonzero(weights > 0)
        self._phase_w = weights[self._phase_cols]
        self._phase_rows = np.stack([np.sin(bp), np.cos(bp), np.sin(barp), np.cos(barp)])[self._phase_cols].astype(_DTYPE)
        self._beat_meter = np.array([m for m, _ in self.beats], np.float64)
        self._beat_k = np.array([k for _, k in self.beats], np.float64)

    # -- the streaming contract ----------------------------------------------------------------
    def init_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        # (belief (B, N), the onset strength's running mean and variance (B, 2), the chord
        # probabilities' running mean (B, 12), uniform: no chord heard yet)
        return (torch.from_numpy(np.tile(self._prior, (batch, 1))), torch.zeros(batch, 2, dtype=torch.float64),
                torch.full((batch, 12), 1.0 / 12.0, dtype=torch.float64))

    def _chord_change(self, chord: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How far the chord heard now is from the recent ones: 1 - the cosine of this frame's chord
        root probabilities (B, 12) and their running mean before it (B, 12); and the mean updated."""
        dot = (chord * mean).sum(axis=1)
        norms = np.sqrt((chord * chord).sum(axis=1)) * np.sqrt((mean * mean).sum(axis=1))  # np.linalg.norm's sums, without its ~5 us of checks
        change = _clip(1.0 - dot / (norms + 1e-9), 0.0, 1.0)
        return change, mean + (chord - mean) / (self.cfg.harmony_memory_s * self.fps)

    def _onset_strength(self, onset: np.ndarray, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The flux z-scored against its running mean / variance (before this frame), squashed to
        0..1 (z = 2 -> 0.5), and the statistics updated with this frame."""
        mean, var = stats[:, 0], stats[:, 1]
        z = (onset - mean) / np.sqrt(var + 1e-9)
        strength = 0.5 + 0.5 * np.tanh(0.5 * _ONSET_SLOPE * (z - _ONSET_Z))  # the logistic, without exp's overflow
        a = 1.0 / (self.cfg.onset_window_s * self.fps)
        new_mean = mean + a * (onset - mean)
        new_var = var + a * ((onset - new_mean) ** 2 - var)
        return strength, np.stack([new_mean, new_var], axis=1)

    def _onset_strength_one(self, onset: float, stats: np.ndarray) -> tuple[float, np.ndarray]:
        """`_onset_strength` on one stream's flux as a Python float (batch 1): the same sums."""
        mean, var = stats[0].tolist()
        z = (onset - mean) / math.sqrt(var + 1e-9)
        strength = 0.5 + 0.5 * math.tanh(0.5 * _ONSET_SLOPE * (z - _ONSET_Z))
        a = 1.0 / (self.cfg.onset_window_s * self.fps)
        new_mean = mean + a * (onset - mean)
        return strength, np.array([[new_mean, var + a * ((onset - new_mean) ** 2 - var)]])

    def _observation(self, beat: np.ndarray, downbeat: np.ndarray, onset: np.ndarray, stats: np.ndarray,
                     chord: np.ndarray | None, chord_mean: np.ndarray, drums: np.ndarray | None):
        """The frame's evidence as the factors its states are weighted by, float32 (B, 1) each:
        (every state, the beat zones over that, the downbeat zones over that, the states a bar
        began harmony_lag_s before, or None), with the onset and chord statistics updated."""
        beat, downbeat = np.asarray(beat, np.float64), np.asarray(downbeat, np.float64)
        if drums is not None and self.cfg.drum_weight > 0:
            # geometric, not a max: where the beat head fires on the off-beat eighths as much as on
            # the beats, only a product lets the drums' silence between the beats count against it.
            # The downbeat scales with the beat: the drums say whether a beat is here, not which
            # beat of the bar (left alone, the validation songs' downbeat F fell 0.671 -> 0.579)
            w, drums = self.cfg.drum_weight, np.maximum(np.asarray(drums, np.float64), _FLOOR)
            beat, downbeat = _rescaled(beat, downbeat, beat ** (1.0 - w) * drums ** w)
        if self.cfg.onset_weight > 0 or self.cfg.onset_mix > 0:
            strength, stats = self._onset_strength(np.asarray(onset, np.float64), stats)
            if self.cfg.onset_mix > 0:
                # a mix, not a max: it leans the evidence toward the hits without letting a loud
                # off-beat in the flux outvote the beat head; the downbeat follows the beat
                m = self.cfg.onset_mix
                beat, downbeat = _rescaled(beat, downbeat, (1.0 - m) * beat + m * strength)
            if self.cfg.onset_weight > 0:
                beat = np.maximum(beat, self.cfg.onset_weight * strength)
        # p(activations | zone) for the none / beat / downbeat zones
        b = _clip(np.maximum(beat, downbeat), _FLOOR, 1.0 - _FLOOR)
        d = _clip(downbeat, self.cfg.min_downbeat_share * b, b)
        none = np.maximum((1.0 - b) / self._none_div, _FLOOR)
        after = None
        if chord is not None and self.cfg.harmony_weight > 0:
            # chords change on bar lines far more often than inside a bar, and the chord head
            # hears a change about harmony_lag_s late: the states that far into a bar gain
            change, chord_mean = self._chord_change(np.asarray(chord, np.float64), chord_mean)
            after = (1.0 + self.cfg.harmony_weight * change).astype(_DTYPE)[:, None]
        factors = (none.astype(_DTYPE)[:, None], (np.maximum(b - d, _FLOOR) / none).astype(_DTYPE)[:, None],
                   (d / none).astype(_DTYPE)[:, None], after)
        return factors, stats, chord_mean

    def _observation_one(self, beat: np.ndarray, downbeat: np.ndarray, onset: np.ndarray, stats: np.ndarray,
                         chord: np.ndarray | None, chord_mean: np.ndarray, drums: np.ndarray | None):
        """`_observation` at batch 1 (the live app) in Python floats, the same sums in the same
        order: each of its ~40 numpy calls on a (1,) array costs ~1 us, a float operation ~0.05 us.
        The factors come back as float32 scalars (tests/core/model/test_tracker.py holds the two
        paths equal)."""
        cfg = self.cfg
        beat, downbeat = float(beat[0]), float(downbeat[0])
        if drums is not None and cfg.drum_weight > 0:
            w, drum = cfg.drum_weight, max(float(drums[0]), _FLOOR)
            beat, downbeat = _rescaled_one(beat, downbeat, beat ** (1.0 - w) * drum ** w)
        if cfg.onset_weight > 0 or cfg.onset_mix > 0:
            strength, stats = self._onset_strength_one(float(onset[0]), stats)
            if cfg.onset_mix > 0:
                m = cfg.onset_mix
                beat, downbeat = _rescaled_one(beat, downbeat, (1.0 - m) * beat + m * strength)
            if cfg.onset_weight > 0:
                beat = max(beat, cfg.onset_weight * strength)
        b = min(max(max(beat, downbeat), _FLOOR), 1.0 - _FLOOR)
        d = min(max(downbeat, cfg.min_downbeat_share * b), b)
        none = max((1.0 - b) / self._none_div, _FLOOR)
        after = None
        if chord is not None and cfg.harmony_weight > 0:
            change, chord_mean = self._chord_change(np.asarray(chord, np.float64), chord_mean)
            after = _DTYPE(1.0 + cfg.harmony_weight * float(change[0]))
        return (_DTYPE(none), _DTYPE(max(b - d, _FLOOR) / none), _DTYPE(d / none), after), stats, chord_mean

    def step(self, beat: np.ndarray, downbeat: np.ndarray, onset: np.ndarray, state: tuple[torch.Tensor, ...],
             chord: np.ndarray | None = None, drums: np.ndarray | None = None, phase: np.ndarray | None = None,
             ) -> tuple[dict[str, np.ndarray], tuple[torch.Tensor, ...]]:
        """One frame: the activations (B,) each (chord (B, 12); phase (B, 4), the phase head's
        (sin, cos) of the beat then the bar phase, read only with phase_weight or bar_phase_weight)
        -> the outputs (B,) each and the new state."""
        alpha = state[0].numpy()  # (B, N), not written: the caller's state stays as it was
        one = alpha.shape[0] == 1
        observation = self._observation_one if one else self._observation
        (none, on_beat, on_downbeat, after), stats, chord_mean = observation(
            beat, downbeat, onset, state[1].numpy(), chord, state[2].numpy(), drums)
        new = np.empty_like(alpha)  # the new state is its own array (the caller may keep the old one)
        # predict: every pointer advances one frame; beat starts gather the previous beat's ends
        new[:, 1:] = alpha[:, :-1]
        new[:, self._starts] = alpha[:, self._prev_ends] @ self._trans  # (B, R, n_t)
        new += self._reset_mass
        # observe
        new *= none
        new[:, self._beat_idx] *= on_beat
        new[:, self._downbeat_idx] *= on_downbeat
        if after is not None:
            new[:, self._after_bar_idx] *= after
        if phase is not None and self._phase_cols.size:
            new *= self._phase_factor(phase)
        new *= (1.0 / new.sum(axis=1, dtype=np.float64)).astype(_DTYPE)[:, None]
        r = (self._readout @ new.T).astype(np.float64)  # (3 + 3 R, B)
        out = self._read_one(r) if one else self._read(r)
        return out, (torch.from_numpy(new), torch.from_numpy(stats), torch.from_numpy(chord_mean))

    def _phase_factor(self, phase: np.ndarray) -> np.ndarray:
        """(B, N) float32: exp(w (sin, cos) . (sin, cos) of each state's phase), the beat's and the
        bar's (only the pairs whose weight is not 0), over its largest possible value (the sum of
        the weighted vectors' lengths: exp never overflows, and no reduction over the states)."""
        v = np.asarray(phase, np.float64).reshape(-1, 4)[:, self._phase_cols] * self._phase_w  # (B, 2 or 4)
        bound = np.hypot(v[:, 0::2], v[:, 1::2]).sum(axis=1, keepdims=True)
        logit = v.astype(_DTYPE) @ self._phase_rows  # (B, N)
        logit -= bound.astype(_DTYPE)
        return np.exp(logit, out=logit)

    def _read(self, r: np.ndarray) -> dict[str, np.ndarray]:
        """The outputs, (B,) each, from the readout's rows r (3 + 3 R, B)."""
        per_beat = r[3:].reshape(len(self.beats), 3, -1)  # (R, cos / sin / mass, B)
        best = np.argmax(per_beat[:, 2], axis=0)  # (B,) the likeliest beat of the bar
        cos, sin, _ = per_beat[best, :, np.arange(r.shape[1])].T  # (B,) each
        meter, k = self._beat_meter[best], self._beat_k[best]
        # the phase of that beat's states, -0.5..0.5 around it: the bar phase is (k + it) / m
        near = np.arctan2(sin, cos) / (2.0 * np.pi)
        return {
            "beat_phase": _cycles(r[1], r[0]),
            "bar_phase": np.mod((k + near) / meter, 1.0),
            "tempo": r[2],
            "beat_confidence": _clip(np.hypot(r[0], r[1]), 0.0, 1.0),
            # how much of the belief is that beat of the bar, at one phase
            "bar_confidence": _clip(np.hypot(cos, sin), 0.0, 1.0),
        }

    def _read_one(self, r: np.ndarray) -> dict[str, np.ndarray]:
        """`_read` at batch 1 in Python floats (as `_observation_one`), (1,) arrays out."""
        r = r[:, 0].tolist()
        masses = r[5::3]
        best = masses.index(max(masses))  # the first of equals, as np.argmax
        cos, sin = r[3 + 3 * best], r[4 + 3 * best]
        meter, k = self.beats[best]
        beat_phase = (math.atan2(r[1], r[0]) / (2.0 * math.pi)) % 1.0
        out = np.array([
            0.0 if beat_phase >= 1.0 else beat_phase,
            ((k + math.atan2(sin, cos) / (2.0 * math.pi)) / meter) % 1.0,
            r[2],
            min(max(math.hypot(r[0], r[1]), 0.0), 1.0),
            min(max(math.hypot(cos, sin), 0.0), 1.0),
        ])
        return dict(zip(_OUTPUTS, out[:, None]))


_OUTPUTS = ("beat_phase", "bar_phase", "tempo", "beat_confidence", "bar_confidence")


def _cycles(sin: np.ndarray, cos: np.ndarray) -> np.ndarray:
    """The angle of (cos, sin) in cycles, in [0, 1) (mod of a tiny negative angle rounds to 1.0)."""
    p = np.mod(np.arctan2(sin, cos) / (2.0 * np.pi), 1.0)
    return np.where(p >= 1.0, 0.0, p)
