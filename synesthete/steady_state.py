"""`SteadyState`: the music state a look draws, made to move in impulses on what was heard.

A hearing model's estimate wavers between events: its envelopes rise and dip a little every frame,
its beat and bar phases jitter by a few hundredths and sometimes jump, its pitches and energy drift.
A look draws every field, so every waver moves the picture, and a picture that moves all the time
reads as jitter (to an eye, and to AV-Align: on recorded music the looks made more motion peaks
than the music had onsets). The estimate's onsets, on the other hand, are sharp: a peak on the
frame the hit is heard. So the drawn state is rebuilt the way the score's exact state is made
(synesthete.audio.score_state), from those onsets and the slow context, frame by frame:

* envelopes: a stem's envelope jumps on the frame the event detector (`music_events`, with the
  hearing checkpoint's calibrated per-stem thresholds: the hits OSC sends and the analysis
  exports) reports a hit of that stem, to the onset's value (its strength, as a score's hit jumps
  to its velocity: a sure hit moves the picture more than a faint one, which the eye and the motion
  metric may not count); between hits the envelope only decays, exponentially, with the
  score's time constant of that stem (drums) or `TONAL_TAU` (tonal stems). One jump, then a
  smooth fall: the picture moves once per hit. A decay at least `MIN_TAU` long keeps the fall
  per frame a small fraction of the jump, so the fall is steady motion, not a second event.
* accents: a hit's jump is scaled by `beat_accent` at the steadied beat phase, in full on the beat
  and `OFF_BEAT_ACCENT` of it between beats (as far as the beat is sure), so the big moves of the
  picture land on the heard beat and the hits between them move it less (still on their frame).
* beat and bar phase: a steady oscillator at the (smoothed) tempo, pulled gently towards the
  heard phase in proportion to its confidence, so beat- and bar-locked motion runs at an even
  speed instead of stuttering with every wobble of the estimate.
* melody and bass pitch: held, and updated only on a hit of the lead / the bass (a pitch is the
  pitch of the last note; a note changes it when it starts).
* energy: smoothed a little more (`ENERGY_TAU`), a slow swell rather than a flicker.

Fields whose confidence is 1 (the score's exact state, the procedural demo) are already what this
builds and pass through unchanged. The frame's own state (HUD, OSC, the session log) keeps the raw
estimate; only the picture uses the steadied one. The chord is held by `performer.ChordHold`.
"""

from __future__ import annotations

import numpy as np

from synesthete.audio.composer import BEATS_PER_BAR
from synesthete.audio.score_state import DRUM_TAU
from synesthete.constants import STEMS
from synesthete.music_events import DetectorConfig, EventDetector, Hit
from synesthete.music_state import CONFIDENCE_GROUPS, MusicState

TONAL_TAU = 0.3  # s: fall of the bass, chords, lead and fx envelopes between notes
MIN_TAU = 0.15  # s: no envelope falls faster (a closed hat's 60 ms would drop 40 % in one 30 fps frame)
ENERGY_TAU = 0.5  # s: extra smoothing of the section energy
TEMPO_TAU = 1.0  # s: smoothing of the tempo the oscillator runs at
PHASE_TAU = 0.5  # s: time constant of the pull towards the heard phase at confidence 1
EXACT = 0.999  # a confidence at or above this is a ground truth: passed through as is
# Accents on the heard beat: a hit's jump is scaled by how near the steadied beat phase it lands,
# in full on the beat, OFF_BEAT_ACCENT of it between beats (a Gaussian of ACCENT_WIDTH beats), the
# scaling faded in by the beat's confidence (an unsure beat accents nothing). Every hit still moves
# the picture on its frame; the big moves land on the beat, as a player accents them. On the dev
# set's rings (docs/visualizers.md) beat alignment rose 0.519 -> 0.599 on the six pieces these two
# were chosen on and 0.640 -> 0.743 on the seven it never saw; AV-Align fell 0.514 -> 0.496 and
# 0.463 -> 0.452, its margin over chance held (+0.153) and grew (+0.141 -> +0.164).
OFF_BEAT_ACCENT = 0.4
ACCENT_WIDTH = 0.1  # beats

_GROUP = {g: i for i, g in enumerate(CONFIDENCE_GROUPS)}
_STEM = {s: i for i, s in enumerate(STEMS)}


def _wrap(x: float) -> float:
    """A phase difference in turns, wrapped to [-0.5, 0.5)."""
    return (x + 0.5) % 1.0 - 0.5


class _Oscillator:
    """A phase in turns that advances at a given rate and is pulled towards a heard phase."""

    def __init__(self) -> None:
        self.phase: float | None = None

    def step(self, heard: float, turns_per_frame: float, pull: float) -> float:
        if self.phase is None or turns_per_frame <= 0.0:
            self.phase = heard  # nothing to run at yet: follow the estimate
        else:
            self.phase = (self.phase + turns_per_frame) % 1.0
            self.phase = (self.phase + pull * _wrap(heard - self.phase)) % 1.0
        return self.phase


def beat_accent(beat_phase: float, beat_confidence: float) -> float:
    """How much of a hit's strength its jump keeps at this beat phase: 1 on the beat, down to
    OFF_BEAT_ACCENT between beats, as much of that as the beat is sure (confidence 0: all of it)."""
    d = min(beat_phase % 1.0, 1.0 - beat_phase % 1.0)  # beats from the nearest beat
    on = OFF_BEAT_ACCENT + (1.0 - OFF_BEAT_ACCENT) * float(np.exp(-0.5 * (d / ACCENT_WIDTH) ** 2))
    return 1.0 - float(np.clip(beat_confidence, 0.0, 1.0)) * (1.0 - on)


class SteadyState:
    """Frame by frame: a one-frame `MusicState` (the estimate) in, the one-frame state to draw out."""

    def __init__(self, fps: float, config: DetectorConfig | None = None) -> None:
        self.fps = float(fps)
        config = config or DetectorConfig()
        self.detector = EventDetector(self.fps, config)
        tau = np.array([max(DRUM_TAU.get(s, TONAL_TAU), MIN_TAU) for s in STEMS], np.float32)
        self.decay = np.exp(-1.0 / (self.fps * tau)).astype(np.float32)  # (S,) per frame
        self.energy_alpha = 1.0 - np.exp(-1.0 / (self.fps * ENERGY_TAU))
        self.tempo_alpha = 1.0 - np.exp(-1.0 / (self.fps * TEMPO_TAU))
        self.phase_pull = 1.0 - np.exp(-1.0 / (self.fps * PHASE_TAU))
        self.reset()

    def reset(self) -> None:
        self.detector.reset()
        self.env = np.zeros(len(STEMS), np.float32)
        self.tempo: float | None = None
        self.beat = _Oscillator()
        self.bar = _Oscillator()
        self.melody: float | None = None
        self.bass: float | None = None
        self.energy: float | None = None

    def apply(self, state: MusicState) -> MusicState:
        conf = state.confidence[0]
        out = MusicState(**state.__dict__)
        hit = np.zeros(len(STEMS), np.float32)  # strength of each stem's hit on this frame, 0 if none
        onset = np.asarray(state.onset[0], np.float32)
        for event in self.detector.update(state):
            if isinstance(event, Hit):
                j = _STEM[event.stem]
                hit[j] = float(np.clip(onset[j], 0.0, 1.0))
        if conf[_GROUP["energy"]] < EXACT:
            e = float(state.energy[0])
            self.energy = e if self.energy is None else self.energy + self.energy_alpha * (e - self.energy)
            out.energy = np.full(1, self.energy, np.float32)
        if conf[_GROUP["beat"]] < EXACT or conf[_GROUP["bar"]] < EXACT:
            tempo = float(state.tempo[0])
            if tempo > 0.0:
                self.tempo = tempo if self.tempo is None else self.tempo + self.tempo_alpha * (tempo - self.tempo)
            beats_per_frame = (self.tempo or 0.0) / 60.0 / self.fps
            if conf[_GROUP["beat"]] < EXACT:
                pull = self.phase_pull * float(conf[_GROUP["beat"]])
                out.beat_phase = np.full(1, self.beat.step(float(state.beat_phase[0]), beats_per_frame, pull), np.float32)
            if conf[_GROUP["bar"]] < EXACT:
                pull = self.phase_pull * float(conf[_GROUP["bar"]])
                out.bar_phase = np.full(1, self.bar.step(float(state.bar_phase[0]), beats_per_frame / BEATS_PER_BAR, pull),
                                        np.float32)
        if conf[_GROUP["stems"]] >= EXACT:
            self.env = np.asarray(state.env[0], np.float32).copy()
        else:
            hit *= beat_accent(float(out.beat_phase[0]), float(conf[_GROUP["beat"]]))
            self.env = np.maximum(self.env * self.decay, hit)
            out.env = self.env[None].copy()
            out.onset = hit[None]  # the hits counted here, and only those (a style lifts on onsets too)
        onset_now = hit > 0.0
        if conf[_GROUP["pitch"]] < EXACT:
            out.melody = np.full(1, self._hold("melody", float(state.melody[0]), onset_now[_STEM["lead"]]), np.float32)
            out.bass = np.full(1, self._hold("bass", float(state.bass[0]), onset_now[_STEM["bass"]]), np.float32)
        return out

    def _hold(self, name: str, heard: float, hit: bool) -> float:
        held = getattr(self, name)
        if held is None or hit:
            held = heard
            setattr(self, name, held)
        return held
