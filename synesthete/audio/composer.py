"""The composer: a seed becomes an endless song (tempo, groove, key, sounds, section plan), and any
bar of it becomes note events on demand.

Everything is drawn from `numpy.random.Generator(PCG64(...))` seeded by `SeedSequence([seed,
purpose, index])`, never from global state, and each bar is composed from its own generator. So
bar 137 is the same whether a clip starts there, a stream reaches it block by block, or a test asks
for it alone; that is what lets `render_clip` jump to a random point of the piece and `MusicStream`
render a few bars at a time.

Section plan: intro -> build -> drop -> breakdown/build/drop ... (a small Markov chain), each with
its own energy, active stems, drum/bass/chord/lead patterns, fills in its last bar, occasional
silences (a beat or two of nothing, e.g. before a drop) and occasional very quiet passages.

Range, so that a model trained on it meets real music's variety (drawn from their own generator,
`_gen(seed, 11)`, so the draws above are those of every seed before they existed):

* meter: 3/4 in ~15 % of songs (`beats_per_bar`; a bar is 4 sixteenths per beat);
* tempo drift and rubato: in ~35 % / ~20 % of songs the beat period wanders (a slow sinusoid of
  +-1-5 % over 16-64 beats, a fast one of +-0.5-3 % over 3-8 beats). Time is a closed-form
  warp of beat position (`beat_time` / `beat_at`), so every event, bar and the score's beat grid
  follow the same drifting clock and bar 137 is still the same wherever a render starts;
* half-time sections (the drums play the half-time pattern over the same beat) beside the
  breakdowns that always did;
* sparse ambient passages (only a pad, sometimes a lead) and dense ones (every stem);
* sidechain pumping (bass, chords and lead duck under each kick; the engine applies it);
* a vocal-like lead ("vox": a saw through moving vowel formants, instruments.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from synesthete.audio import theory
from synesthete.audio.instruments import Patch, draw_patch
from synesthete.constants import STEMS

MIN_TEMPO, MAX_TEMPO = 70.0, 180.0
BEATS_PER_BAR = 4
STEPS = 16  # sixteenth-note grid per bar

_NEXT = {"intro": (("build", 0.8), ("drop", 0.2)),
         "build": (("drop", 1.0),),
         "drop": (("breakdown", 0.55), ("build", 0.2), ("drop", 0.1), ("outro", 0.15)),
         "breakdown": (("build", 0.7), ("drop", 0.3)),
         "outro": (("intro", 1.0),)}
_ENERGY = {"intro": (0.15, 0.4), "build": (0.4, 0.7), "drop": (0.75, 1.0), "breakdown": (0.1, 0.35), "outro": (0.2, 0.4)}
# Probability that a stem plays in a section (the composer then makes sure something plays).
_ACTIVE = {
    "intro": dict(kick=0.5, snare=0.2, hat_closed=0.6, hat_open=0.1, perc=0.4, bass=0.4, chords=0.9, lead=0.3, fx=0.0),
    "build": dict(kick=0.8, snare=0.7, hat_closed=0.9, hat_open=0.3, perc=0.5, bass=0.7, chords=0.8, lead=0.5, fx=1.0),
    "drop": dict(kick=1.0, snare=0.95, hat_closed=0.95, hat_open=0.7, perc=0.6, bass=1.0, chords=0.7, lead=0.8, fx=1.0),
    "breakdown": dict(kick=0.1, snare=0.1, hat_closed=0.3, hat_open=0.0, perc=0.3, bass=0.3, chords=1.0, lead=0.6, fx=0.6),
    "outro": dict(kick=0.7, snare=0.3, hat_closed=0.6, hat_open=0.2, perc=0.3, bass=0.5, chords=0.8, lead=0.2, fx=0.3),
}


class Event(NamedTuple):
    stem: str
    instrument: str
    time: float  # seconds from the start of the song
    velocity: float
    pitch: int
    duration: float


@dataclass
class SectionPlan:
    index: int
    name: str
    start_bar: int
    n_bars: int
    energy: float
    level: float  # master level of the section: < 0.25 is a "very quiet passage"
    stems: frozenset[str]
    gaps: list[tuple[float, float]]  # silent spans, in beats from the section start
    fill: bool  # drum fill in the last bar
    half: bool = False  # half-time drums over the same beat (breakdowns always are)
    _patterns: dict | None = None  # drawn on first use (most sections of a plan are never played)


def _gen(seed: int, *path: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *path])))


def _pick(rng: np.random.Generator, table: tuple[tuple[str, float], ...]) -> str:
    p = np.array([w for _, w in table])
    return table[int(rng.choice(len(table), p=p / p.sum()))][0]


def _groove(rng: np.random.Generator, n: int, density: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A free groove on n sixteenths (a bar of n / 4 beats): (kick, snare, ghosts, hats, open_hat).

    The four drum styles put the beat where a listener of club music expects it; people write
    more: a kick on the bar's last sixteenth, a snare on every beat, no hats, hats only on the
    off-beat, a kick that skips beat 3 (docs/training.md "Free grooves"). What stays is what
    tells the beat in most written music: a kick on the bar's first beat, and hits on the beats
    more often than between them. Each position's chance is drawn per section."""
    pos = np.arange(n)
    on_beat, off8, off16 = pos % 4 == 0, pos % 4 == 2, pos % 2 == 1
    kick = (on_beat & (rng.random(n) < rng.uniform(0.2, 0.9))) | (off8 & (rng.random(n) < rng.uniform(0.0, 0.4))) \
        | (off16 & (rng.random(n) < rng.uniform(0.0, 0.2) * (0.5 + density)))
    kick[0] = True
    beats = pos[on_beat]
    back = {"backbeat": beats[1::2] if n % 8 == 0 else beats[1:], "three": beats[len(beats) // 2:len(beats) // 2 + 1],
            "every": beats[1:], "none": beats[:0]}[str(rng.choice(["backbeat", "three", "every", "none"],
                                                                 p=[0.6, 0.15, 0.1, 0.15]))]
    snare = np.zeros(n, bool)
    snare[back] = True
    snare |= (off8 | off16) & (rng.random(n) < rng.uniform(0.0, 0.15))  # syncopated hits
    ghosts = (rng.random(n) < 0.12 * density) & ~snare
    hats = {"8ths": pos % 2 == 0, "16ths": np.ones(n, bool), "quarters": on_beat, "offbeat": off8,
            "none": np.zeros(n, bool)}[str(rng.choice(["8ths", "16ths", "quarters", "offbeat", "none"],
                                                       p=[0.4, 0.2, 0.15, 0.1, 0.15]))]
    open_hat = {"none": np.zeros(n, bool), "offbeat": off8, "end": pos == n - 2,
                "sparse": (off8 | off16) & (rng.random(n) < 0.15)}[str(rng.choice(["none", "offbeat", "end", "sparse"],
                                                                                   p=[0.4, 0.2, 0.2, 0.2]))]
    return kick, snare, ghosts, hats & ~open_hat, open_hat


def euclid(k: int, n: int = STEPS, rot: int = 0) -> np.ndarray:
    """Euclidean rhythm: k hits spread as evenly as possible over n steps (bool (n,))."""
    idx = (np.arange(n) * k) % n < k
    return np.roll(idx, rot)


class Song:
    """Everything a seed decides, plus lazily drawn sections and per-bar events."""

    def __init__(self, seed: int, tempo: float | None = None, key: int | None = None, scale: str | None = None,
                 swing: float | None = None, density: float | None = None, stems: tuple[str, ...] | None = None,
                 beats_per_bar: int | None = None, drift: float | None = None):
        self.seed = int(seed)
        # A sampled kit (synesthete.audio.drum_kit) the drums play instead of their synthesis; set
        # by make_song's drum_kit override, never drawn from the seed.
        self.drum_kit: dict[str, tuple[np.ndarray, ...]] | None = None
        # Free grooves (`_groove`): each section's kick, snare and hat patterns drawn from a wide,
        # human-like space instead of the four styles; set by make_song's groove override, never
        # drawn from the seed, so a song without it is the same bytes as before.
        self.groove = False
        rng = _gen(self.seed, 0)
        self.tempo = float(tempo) if tempo is not None else float(rng.uniform(MIN_TEMPO, MAX_TEMPO))
        self.key = int(key) % 12 if key is not None else int(rng.integers(12))
        self.scale = scale if scale is not None else str(rng.choice(theory.SCALE_NAMES, p=theory.SCALE_WEIGHTS / theory.SCALE_WEIGHTS.sum()))
        theory.check_scale(self.scale)
        slow = self.tempo < 110
        self.swing_unit = 0.5 if slow else 0.25
        drawn_swing = float(rng.uniform(0.0, 0.33 if slow else 0.2)) if rng.random() < 0.6 else 0.0
        self.swing = float(swing) if swing is not None else drawn_swing
        self.density = float(density) if density is not None else float(rng.uniform(0.2, 1.0))
        self.progression = theory.draw_progression(rng, self.scale)
        self.bars_per_chord = int(rng.choice([1, 2]))
        self.drum_style = str(rng.choice(["four", "break", "half", "trap"] if self.tempo >= 120 else ["four", "break", "half"]))
        self.chord_style = str(rng.choice(["pad", "stab", "pulse"]))
        self.chord_instrument = {"pad": "pad", "stab": str(rng.choice(["pluck", "keys"])), "pulse": str(rng.choice(["pad", "keys"]))}[self.chord_style]
        self.lead_style = str(rng.choice(["arp", "melody"]))
        self.lead_instrument = str(rng.choice(["lead", "pluck", "bell"]))
        # The wider range (module docstring), from a generator of its own.
        wrng = _gen(self.seed, 11)
        self.beats_per_bar = int(beats_per_bar) if beats_per_bar is not None else (3 if wrng.random() < 0.15 else 4)
        self.steps = 4 * self.beats_per_bar  # sixteenths per bar
        drift_amp = float(wrng.uniform(0.01, 0.05)) if wrng.random() < 0.35 else 0.0
        rubato_amp = float(wrng.uniform(0.005, 0.03)) if wrng.random() < 0.2 else 0.0
        if drift is not None:  # an override sets the slow drift's depth and turns rubato off
            drift_amp, rubato_amp = float(drift), 0.0
        # (amplitude, period in beats, phase) of the beat period's two sinusoids
        self.warp = ((drift_amp, float(wrng.uniform(16.0, 64.0)), float(wrng.uniform(0, 2 * np.pi))),
                     (rubato_amp, float(wrng.uniform(3.0, 8.0)), float(wrng.uniform(0, 2 * np.pi))))
        self.pump = float(wrng.uniform(0.3, 0.7)) if wrng.random() < 0.3 else 0.0  # sidechain depth
        if wrng.random() < 0.2:
            self.lead_instrument = "vox"
        self.snare_instrument = str(rng.choice(["snare", "clap"]))
        self.stems = frozenset(stems) if stems is not None else frozenset(STEMS)
        prng = _gen(self.seed, 1)
        names = ["kick", self.snare_instrument, "hat", "open_hat", "perc", "bass", self.chord_instrument,
                 self.lead_instrument, "riser", "downlifter", "impact"]
        if self.lead_instrument == "vox":  # drawn from its own generator: the other patches stay
            names.remove("vox")
        self.patches: dict[str, Patch] = {}
        for name in dict.fromkeys(names):
            self.patches[name] = draw_patch(name, prng)
        if self.lead_instrument == "vox":
            self.patches["vox"] = draw_patch("vox", _gen(self.seed, 12))
        # Mix: levels, pans and sends (the engine reads these).
        mrng = _gen(self.seed, 2)
        self.gains = {s: float(mrng.uniform(0.6, 1.0)) for s in STEMS}
        self.gains.update(kick=float(mrng.uniform(0.8, 1.0)), hat_closed=float(mrng.uniform(0.3, 0.6)),
                          hat_open=float(mrng.uniform(0.25, 0.5)), fx=float(mrng.uniform(0.3, 0.6)))
        self.pans = {s: float(mrng.uniform(-0.5, 0.5)) for s in STEMS}
        self.pans.update(kick=0.0, bass=0.0, snare=0.0)
        self.reverb_seconds = float(mrng.uniform(0.6, 2.0))
        self.reverb_damping = float(mrng.uniform(0.2, 0.8))
        self.sends = {s: float(mrng.uniform(0.0, 0.5)) for s in ("snare", "perc", "chords", "lead", "fx")}
        self.delay_beats = float(mrng.choice([0.5, 0.75, 1.0 / 3.0]))
        self.delay_feedback = float(mrng.uniform(0.2, 0.5))
        self.delay_send = float(mrng.uniform(0.0, 0.4))
        self.master = float(mrng.uniform(0.5, 0.9))
        self._sections: list[SectionPlan] = []

    # ---- time grid --------------------------------------------------------------------------
    @property
    def beat_seconds(self) -> float:
        """The nominal beat period (the tempo's); with drift the actual one wanders around it."""
        return 60.0 / self.tempo

    @property
    def bar_seconds(self) -> float:
        """The nominal bar length; `bar_start` gives where a bar actually starts."""
        return self.beats_per_bar * self.beat_seconds

    def beat_time(self, beat: float | np.ndarray) -> float | np.ndarray:
        """Song seconds at a beat position. The period is P0 (1 + sum a sin(2 pi b / L + phi)), whose
        integral is closed-form: t(b) = P0 (b + sum a L / 2 pi (cos phi - cos(2 pi b / L + phi)))."""
        t = np.asarray(beat, np.float64)
        out = t.copy()
        for a, period, phi in self.warp:
            if a:
                out = out + a * period / (2 * np.pi) * (np.cos(phi) - np.cos(2 * np.pi * t / period + phi))
        out = out * self.beat_seconds
        return float(out) if np.ndim(beat) == 0 else out

    def beat_at(self, seconds: float | np.ndarray) -> float | np.ndarray:
        """The beat position at song seconds (the inverse of `beat_time`, by Newton's method)."""
        t = np.asarray(seconds, np.float64)
        b = t / self.beat_seconds
        if any(a for a, _, _ in self.warp):
            for _ in range(6):  # the warp is within a few % of linear: converges to float precision
                rate = 1.0 + sum(a * np.sin(2 * np.pi * b / period + phi) for a, period, phi in self.warp)
                b = b - (self.beat_time(b) - t) / (rate * self.beat_seconds)
        return float(b) if np.ndim(seconds) == 0 else b

    def bar_start(self, bar: float) -> float:
        return self.beat_time(bar * self.beats_per_bar)  # type: ignore[return-value]

    def bar_at(self, seconds: float) -> int:
        """The bar sounding at song seconds."""
        return int(np.floor(self.beat_at(seconds) / self.beats_per_bar + 1e-9))

    def step_time(self, bar: int, step: float) -> float:
        """Song time of a 16th step in a bar, with swing: the off-beat of each swing unit is late."""
        beat = step / 4.0
        u = self.swing_unit
        pos = (beat % (2 * u)) / u  # 0..2 within a pair of units
        warped = pos * (1 + self.swing) if pos < 1 else (1 + self.swing) + (pos - 1) * (1 - self.swing)
        beat = beat - beat % (2 * u) + warped * u
        return self.beat_time(bar * self.beats_per_bar + beat)  # type: ignore[return-value]

    # ---- sections ---------------------------------------------------------------------------
    def section(self, k: int) -> SectionPlan:
        while len(self._sections) <= k:
            self._sections.append(self._draw_section(len(self._sections)))
        return self._sections[k]

    def section_at_bar(self, bar: int) -> SectionPlan:
        k = 0
        while self.section(k).start_bar + self.section(k).n_bars <= bar:
            k += 1
        return self.section(k)

    def _draw_section(self, k: int) -> SectionPlan:
        rng = _gen(self.seed, 3, k)
        if k == 0:
            name, start = ("intro" if rng.random() < 0.7 else str(rng.choice(["build", "breakdown", "drop"]))), 0
        else:
            prev = self._sections[k - 1]
            name, start = _pick(rng, _NEXT[prev.name]), prev.start_bar + prev.n_bars
        n_bars = int(rng.choice({"drop": [4, 8, 8, 16]}.get(name, [2, 4, 4, 8])))
        energy = float(rng.uniform(*_ENERGY[name]))
        quiet = name in ("intro", "breakdown", "outro") and rng.random() < 0.15
        level = float(rng.uniform(0.05, 0.2)) if quiet else 1.0
        probs = _ACTIVE[name]
        stems = {s for s in STEMS if rng.random() < probs[s]}
        if not stems & {"chords", "lead", "bass"}:
            stems.add("chords")
        gaps: list[tuple[float, float]] = []
        if rng.random() < 0.06:  # an occasional dropout somewhere inside the section
            b = float(rng.integers(n_bars * self.beats_per_bar - 2))
            gaps.append((b, b + float(rng.choice([1.0, 2.0]))))
        wrng = _gen(self.seed, 13, k)  # the wider range: its own draws (module docstring)
        texture = wrng.random()
        if name in ("intro", "breakdown", "outro") and texture < 0.25:  # a sparse ambient passage
            stems = {"chords", "lead"} if wrng.random() < 0.4 else {"chords"}
            energy = min(energy, 0.3)
        elif name in ("drop", "build") and texture < 0.2:  # a dense one: everything plays
            stems = set(STEMS)
        half = name != "breakdown" and wrng.random() < 0.15
        return SectionPlan(k, name, start, n_bars, energy, level, frozenset(stems), gaps, bool(rng.random() < 0.8),
                           half)

    def patterns(self, sec: SectionPlan) -> dict:
        if sec._patterns is None:
            sec._patterns = self._draw_patterns(_gen(self.seed, 10, sec.index), sec.name, sec.energy, sec.half, sec.index)
        return sec._patterns

    def gaps_before_drop(self, sec: SectionPlan) -> list[tuple[float, float]]:
        """Silences of a section, plus the classic silent beat(s) just before a drop."""
        nxt = self.section(sec.index + 1)
        gaps = list(sec.gaps)
        if nxt.name == "drop" and _gen(self.seed, 4, sec.index).random() < 0.5:
            end = float(sec.n_bars * self.beats_per_bar)
            gaps.append((end - float(_gen(self.seed, 5, sec.index).choice([1.0, 2.0])), end))
        return gaps

    def _draw_patterns(self, rng: np.random.Generator, name: str, energy: float, half: bool = False,
                       index: int = 0) -> dict:
        d = self.density
        n = self.steps
        style = self.drum_style if name != "breakdown" and not half else "half"
        kick = np.zeros(n, bool)
        hits = {"four": range(0, n, 4), "half": [0, 10], "trap": [0, 7, 10], "break": [0, 6, 10]}[style]
        kick[[h for h in hits if h < n - 1 or h == 0]] = True  # 3/4: the patterns' hits that fit its 12 steps
        kick |= (rng.random(n) < 0.08 * d) & ~euclid(self.beats_per_bar, n)
        snare = np.zeros(n, bool)
        # the backbeat: beats 2 and 4 (3/4: 2 and 3); half-time: beat 3 only
        snare[[8] if style in ("half", "trap") else list(range(4, n, 8)) if n == STEPS else [4, 8]] = True
        ghosts = (rng.random(n) < 0.12 * d) & ~snare
        hat_rate = 1 if (d * energy > 0.35 or style == "trap") else 2
        hats = np.zeros(n, bool)
        hats[::hat_rate] = True
        open_hat = np.zeros(n, bool)
        open_hat[2::4] = True
        if hat_rate == 1:
            hats &= ~open_hat
        # after the styles' patterns, not instead of them: their draws from rng come before the
        # perc's and the bass's, which must stay the seed's
        if self.groove and not half and name != "breakdown":
            kick, snare, ghosts, hats, open_hat = _groove(_gen(self.seed, 13, index), n, d)
        perc = euclid(int(rng.integers(3, 8)), n, int(rng.integers(n)))
        bass_style = str(rng.choice(["root8", "offbeat", "syncop", "long", "octave"]))
        bass = {"root8": np.arange(n) % 2 == 0, "offbeat": np.arange(n) % 4 == 2,
                "long": np.arange(n) % 8 == 0, "octave": np.arange(n) % 2 == 0,
                "syncop": euclid(int(rng.integers(4, 8)), n, int(rng.integers(4)))}[bass_style]
        motif_len = int(rng.choice([8, 16]))
        lead_rhythm = rng.random(motif_len) < 0.3 + 0.5 * d
        lead_rhythm[0] = True
        lead_degrees = np.cumsum(rng.integers(-2, 3, motif_len))
        arp_order = str(rng.choice(["up", "down", "updown", "random"]))
        arp_rate = int(rng.choice([1, 2])) if self.tempo < 150 else 2
        return dict(kick=kick, snare=snare, ghosts=ghosts, hats=hats, open_hat=open_hat, perc=perc,
                    bass=bass, bass_style=bass_style, lead_rhythm=lead_rhythm, lead_degrees=lead_degrees,
                    arp_order=arp_order, arp_rate=arp_rate, arp_perm=rng.permutation(8))

    # ---- harmony ----------------------------------------------------------------------------
    def chord_at_bar(self, bar: int) -> tuple[int, str, tuple[int, int, int]]:
        degree = self.progression[(bar // self.bars_per_chord) % len(self.progression)]
        sus = _gen(self.seed, 6, bar // self.bars_per_chord).random() < 0.12
        return theory.triad(self.key, self.scale, degree, sus)

    # ---- events -----------------------------------------------------------------------------
    def compose_bar(self, bar: int) -> list[Event]:
        """All note events of one bar (song times), deterministic in (seed, bar)."""
        sec = self.section_at_bar(bar)
        rng = _gen(self.seed, 7, bar)
        p = self.patterns(sec)
        local = bar - sec.start_bar
        last = local == sec.n_bars - 1
        nxt = self.section(sec.index + 1) if last else sec
        e = sec.energy
        d = self.density
        ev: list[Event] = []
        on = sec.stems & self.stems
        bt = self.beat_seconds

        def add(stem: str, inst: str, step: float, vel: float, pitch: int = 60, dur: float = 0.1) -> None:
            if stem in on:
                ev.append(Event(stem, inst, self.step_time(bar, step), min(1.0, max(0.05, float(vel))), int(pitch), dur))

        fill = last and sec.fill
        n_steps = self.steps
        fill_from = n_steps - (4 if rng.random() < 0.6 else 8)
        vel_base = 0.55 + 0.45 * e
        for s in range(n_steps):
            in_fill = fill and s >= fill_from
            if p["kick"][s] and not (in_fill and s >= n_steps - 2):
                add("kick", "kick", s, vel_base * (1.0 if s % 4 == 0 else 0.85))
            if in_fill:  # snare roll rising to the section change
                if s % (1 if fill_from == n_steps - 4 else 2) == 0 or rng.random() < d:
                    add("snare", self.snare_instrument, s, 0.4 + 0.6 * (s - fill_from) / (n_steps - fill_from))
                if rng.random() < 0.35:
                    add("perc", "perc", s, 0.7, 48 + 3 * (n_steps - s))
                continue
            if p["snare"][s]:
                add("snare", self.snare_instrument, s, vel_base)
            elif p["ghosts"][s]:
                add("snare", self.snare_instrument, s, 0.25 + 0.15 * rng.random())
            if p["hats"][s]:
                accent = 1.0 if s % 4 == 2 else (0.8 if s % 2 == 0 else 0.6)
                add("hat_closed", "hat", s, (0.5 + 0.4 * e) * accent * (0.85 + 0.15 * rng.random()))
                if self.drum_style == "trap" and rng.random() < 0.1 * d:  # trap hat roll
                    add("hat_closed", "hat", s + 0.5, 0.5)
            if p["open_hat"][s]:
                add("hat_open", "open_hat", s, 0.6 + 0.3 * e)
            if p["perc"][s] and rng.random() < 0.5 + 0.5 * d:
                add("perc", "perc", s, 0.5 + 0.4 * rng.random(), 50 + 7 * (s % 3))

        root_pc, quality, intervals = self.chord_at_bar(bar)
        # Bass: the chord root in the low register, rhythm from the section's pattern.
        bass_root = 28 + (root_pc - 28) % 12
        step_s = bt / 4
        bass_steps = np.flatnonzero(p["bass"])
        for i, s in enumerate(bass_steps):
            nxt_step = bass_steps[i + 1] if i + 1 < len(bass_steps) else n_steps
            pitch = bass_root + (12 if p["bass_style"] == "octave" and (s // 2) % 2 else 0)
            if p["bass_style"] == "syncop" and rng.random() < 0.25:
                pitch += intervals[int(rng.integers(1, 3))]
            add("bass", "bass", s, 0.7 + 0.3 * e * (1.0 if s % 4 == 0 else 0.8), pitch, 0.9 * (nxt_step - s) * step_s)
        # Chords: a sustained pad, off-beat stabs or 8th pulses.
        seventh = None if rng.random() < 0.6 else (10 if quality != "major" else 11)
        notes = theory.voicing(root_pc, intervals, 52, 4 if self.chord_style == "pad" else 3, seventh)
        if self.chord_style == "pad":
            hits = [(0, 0.97 * self.bar_seconds)]
        elif self.chord_style == "stab":
            hits = [(s, 1.5 * step_s) for s in range(2, n_steps, 4) if rng.random() < 0.6 + 0.4 * d] or [(2, 1.5 * step_s)]
        else:
            hits = [(s, 1.6 * step_s) for s in range(0, n_steps, 2)]
        for s, dur in hits:
            for pitch in notes:
                add("chords", self.chord_instrument, s, 0.5 + 0.3 * e, pitch, dur)
        # Lead: an arpeggio of the chord or a section motif bent onto the scale.
        if self.lead_style == "arp":
            tones = theory.voicing(root_pc, intervals, 62, 6)
            order = {"up": tones, "down": tones[::-1], "updown": tones + tones[-2:0:-1],
                     "random": [tones[i % len(tones)] for i in p["arp_perm"]]}[p["arp_order"]]
            rate = p["arp_rate"]
            for j, s in enumerate(range(0, n_steps, rate)):
                add("lead", self.lead_instrument, s, 0.45 + 0.35 * e * (1.0 if s % 4 == 0 else 0.75),
                    order[j % len(order)], 0.8 * rate * step_s)
        else:
            scale = theory.scale_pitches(self.key, self.scale, 60, 88)
            rhythm, degrees = p["lead_rhythm"], p["lead_degrees"]
            hits_l = [s for s in range(n_steps) if rhythm[s % len(rhythm)]]
            anchor = int(np.searchsorted(scale, 60 + (root_pc - 60) % 12 + 12))
            for i, s in enumerate(hits_l):
                nxt_s = hits_l[i + 1] if i + 1 < len(hits_l) else n_steps
                idx = int(np.clip(anchor + degrees[s % len(degrees)], 0, len(scale) - 1))
                add("lead", self.lead_instrument, s, 0.5 + 0.4 * e, int(scale[idx]), 0.9 * (nxt_s - s) * step_s)
        # FX: riser over the last bar before a drop/build, impact on a drop's downbeat, downlifter.
        if last and nxt.name in ("drop", "build") and sec.name != "drop":
            add("fx", "riser", 0, 0.8, 72, self.bar_seconds)
        if local == 0 and (sec.name == "drop" or (sec.index > 0 and rng.random() < 0.3)):
            add("fx", "impact", 0, 0.9, 36, 0.5)
        if local == 0 and sec.name == "breakdown":
            add("fx", "downlifter", 0, 0.7, 60, self.bar_seconds)

        gaps = self.gaps_before_drop(sec)
        if gaps:
            b0 = sec.start_bar * self.beats_per_bar
            spans = [(self.beat_time(b0 + a), self.beat_time(b0 + b)) for a, b in gaps]
            ev = [x for x in ev if not any(t_a <= x.time < t_b for t_a, t_b in spans)]
        return ev

    def level_spans(self, t0: float, t1: float) -> list[tuple[float, float, float]]:
        """(start, end, gain) spans of the master level between song times t0 and t1: section
        levels (quiet passages) and silences (gain 0)."""
        out = []
        sec = self.section_at_bar(self.bar_at(t0))
        while self.bar_start(sec.start_bar) < t1:
            s0, s1 = self.bar_start(sec.start_bar), self.bar_start(sec.start_bar + sec.n_bars)
            out.append((s0, s1, sec.level))
            b0 = sec.start_bar * self.beats_per_bar
            out.extend((self.beat_time(b0 + a), self.beat_time(b0 + b), 0.0) for a, b in self.gaps_before_drop(sec))
            sec = self.section(sec.index + 1)
        return out
