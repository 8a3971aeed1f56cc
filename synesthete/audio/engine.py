"""The mixer and renderer: song events -> stems -> effects -> mix, and `render_clip`.

`render_span(song, bar_lo, bar_hi, ...)` renders whole bars of a song with their full tails
(release, delay, reverb), which is the one renderer behind both `render_clip` (a slice of a random
place of the piece, peak-normalised) and `MusicStream` (consecutive spans overlap-added).

Speed: notes are synthesised once per (instrument, pitch, length) and pasted with their velocity,
drums are one-shots, filters are STFT masks and the reverb runs at ~6 kHz, so a 4 s clip at 24 kHz
renders in a few milliseconds on one core (figures in docs/audio_inputs.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from synesthete.audio.composer import MAX_TEMPO, MIN_TEMPO, Event, Song
from synesthete.audio.drum_kit import check_kit
from synesthete.audio.effects import delay, pan_gains, reverb, sidechain_gain, soft_limit, spectral_filter
from synesthete.audio.envelopes import fade_out
from synesthete.audio.instruments import INSTRUMENTS, VOWELS, formant_filter, render_note
from synesthete.audio.score import Chord, Note, Score, Section
from synesthete.audio.theory import SCALE_NAMES
from synesthete.constants import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SAMPLE_RATE, STEMS

OVERRIDES = ("tempo", "key", "scale", "swing", "density", "stems", "section", "offset", "beats_per_bar", "drift",
             "drum_kit", "groove")
MAX_DRIFT = 0.1  # the largest drift override: +-10 % of the beat period
TONAL = ("bass", "chords", "lead")
# Fixed mix headroom: a loud drop peaks around 0.8, so the soft limiter (knee 0.8) only shapes
# the loudest hits. A fixed gain (not per-clip peak normalisation) keeps quiet sections quiet.
HEADROOM = 0.45


@dataclass
class Clip:
    audio: np.ndarray  # float32 (S,) mono or (2, S) stereo
    score: Score
    sample_rate: int
    stems: dict[str, np.ndarray] = field(default_factory=dict)  # stem -> float32 (S,) dry, same scale as audio


@dataclass
class Span:
    """A rendered span of bars: audio with tail, the dry stems, and the events (song times)."""
    start_sample: int
    n_body: int
    audio: np.ndarray  # (C, n_body + tail)
    stems: dict[str, np.ndarray]
    events: list[Event]


def check_sample_rate(sample_rate: object) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not (
            MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE):
        raise ValueError(f"sample_rate must be an integer in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz, got {sample_rate!r}")
    return int(sample_rate)


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def make_song(seed: int, **overrides: object) -> Song:
    """A `Song` with checked overrides (tempo, key, scale, swing, density, stems)."""
    unknown = set(overrides) - set(OVERRIDES)
    if unknown:
        raise ValueError(f"unknown override(s) {sorted(unknown)}; allowed: {', '.join(OVERRIDES)}")
    tempo = overrides.get("tempo")
    if tempo is not None:
        if not isinstance(tempo, (int, float)) or not math.isfinite(tempo) or tempo <= 0:
            raise ValueError(f"tempo must be a positive number of BPM in [{MIN_TEMPO:g}, {MAX_TEMPO:g}], got {tempo!r}")
        if not MIN_TEMPO <= tempo <= MAX_TEMPO:
            raise ValueError(f"tempo {tempo!r} BPM is out of range: allowed [{MIN_TEMPO:g}, {MAX_TEMPO:g}]")
    key = overrides.get("key")
    if key is not None and (not isinstance(key, (int, np.integer)) or not 0 <= key <= 11):
        raise ValueError(f"key must be a pitch class 0..11 (0 = C), got {key!r}")
    scale = overrides.get("scale")
    if scale is not None and scale not in SCALE_NAMES:
        raise ValueError(f"unknown scale {scale!r}; allowed: {', '.join(SCALE_NAMES)}")
    swing = overrides.get("swing")
    if swing is not None and not (isinstance(swing, (int, float)) and 0.0 <= swing < 0.5):
        raise ValueError(f"swing must be in [0, 0.5), got {swing!r}")
    density = overrides.get("density")
    if density is not None and not (isinstance(density, (int, float)) and 0.0 <= density <= 1.0):
        raise ValueError(f"density must be in [0, 1], got {density!r}")
    stems = overrides.get("stems")
    if stems is not None:
        stems = (stems,) if isinstance(stems, str) else tuple(stems)  # type: ignore[arg-type]
        bad = [s for s in stems if s not in STEMS]
        if bad or not stems:
            raise ValueError(f"stems must be a non-empty subset of {', '.join(STEMS)}; got {list(stems)}")
    beats_per_bar = overrides.get("beats_per_bar")
    if beats_per_bar is not None and (isinstance(beats_per_bar, bool) or beats_per_bar not in (3, 4)):
        raise ValueError(f"beats_per_bar must be 3 or 4, got {beats_per_bar!r}")
    drift = overrides.get("drift")
    if drift is not None and not (isinstance(drift, (int, float)) and 0.0 <= drift <= MAX_DRIFT):
        raise ValueError(f"drift must be in [0, {MAX_DRIFT:g}] (a fraction of the beat period; 0 = steady), got {drift!r}")
    kit = overrides.get("drum_kit")
    kit = check_kit(kit) if kit is not None else None
    groove = overrides.get("groove", False)
    if not isinstance(groove, (bool, np.bool_)):
        raise ValueError(f"groove must be true or false, got {groove!r}")
    song = Song(seed, tempo=tempo, key=key, scale=scale, swing=swing, density=density, stems=stems,  # type: ignore[arg-type]
                beats_per_bar=beats_per_bar, drift=drift)  # type: ignore[arg-type]
    # Neither is drawn from the seed: the composition is the seed's either way, the kit changes only
    # the drums' sound, the groove only their patterns (composer._groove).
    song.drum_kit, song.groove = kit, bool(groove)
    return song


def _section_cutoff(song: Song, pos: np.ndarray, sr: int) -> np.ndarray:
    """Section-driven low-pass for the chords: opens across a build, closes in a breakdown."""
    bar_pos = song.beat_at(pos / sr) / song.beats_per_bar  # bars (fractional) on the song's own clock
    bars = np.floor(bar_pos + 1e-9).astype(np.int64)
    cut = np.full(bar_pos.shape[0], 8000.0)
    for b in np.unique(bars):
        sec = song.section_at_bar(int(b))
        m = bars == b
        if sec.name == "build":
            cut[m] = 400.0 * 12.0 ** ((bar_pos[m] - sec.start_bar) / sec.n_bars)
        elif sec.name == "breakdown":
            cut[m] = 900.0
    return cut


def _stem_filter(song: Song, stem: str, x: np.ndarray, start: int, onsets: np.ndarray, sr: int) -> np.ndarray:
    """One resonant low-pass over a whole tonal stem. Its cutoff jumps open at every note-on and
    decays back (the patch's filter envelope, retriggered like a mono synth), and for the chords
    it also follows the section sweep. One STFT pass per stem instead of one per note."""
    patch = song.patches[{"bass": "bass", "chords": song.chord_instrument, "lead": song.lead_instrument}[stem]]
    if patch.get("cutoff") is None and stem != "chords":
        return x

    def cutoff(pos: np.ndarray) -> np.ndarray:  # pos: (F,) sample positions in this span
        if patch.get("cutoff") is None:
            cut = np.full(pos.shape[0], 8000.0)
        else:
            k = np.searchsorted(onsets, pos, side="right") - 1
            dt = np.where(k >= 0, (pos - onsets[np.maximum(k, 0)]) / sr, 10.0)
            cut = patch["cutoff"] * (1.0 + patch["env_amt"] * np.exp(-dt / patch["env_decay"]))
        if stem == "chords":
            cut = np.minimum(cut, _section_cutoff(song, pos + start, sr))
        return cut

    return spectral_filter(x, sr, cutoff, "lowpass", patch.get("resonance", 0.0))


def _sing(song: Song, x: np.ndarray, start: int, sr: int) -> np.ndarray:
    """The vox lead's formants over its whole stem (one pass, not one per note): a vowel per beat of
    the song (a function of the beat number alone, so every span of a song sings the same), gliding
    to the next beat's vowel."""
    def vowel(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = song.beat_at((pos + start) / sr)
        k = np.floor(b).astype(np.int64)
        pick = lambda k: (k * 2654435761 + song.seed * 40503) % len(VOWELS)  # noqa: E731  (a fixed scramble)
        return pick(k), pick(k + 1), b - k

    return formant_filter(x, sr, vowel)


def _master_envelope(song: Song, start_sample: int, n: int, sr: int) -> np.ndarray | None:
    """Section levels and silences as a gain curve with 10 ms ramps (no clicks), or None if flat."""
    t0, t1 = start_sample / sr, (start_sample + n) / sr
    spans = song.level_spans(max(0.0, t0 - song.bar_seconds), t1)
    if all(g == 1.0 for _, _, g in spans):
        return None
    gain = np.ones(n, np.float32)
    ramp = max(2, int(0.01 * sr))
    for a, b, g in spans:
        i0, i1 = int(round(a * sr)) - start_sample, int(round(b * sr)) - start_sample
        lo, hi = max(0, i0), min(n, i1)
        if hi <= lo:
            continue
        seg = np.full(hi - lo, g, np.float32)
        k = np.arange(lo, hi) - i0  # ramp into and out of the span
        seg = 1.0 + (seg - 1.0) * np.minimum(1.0, np.minimum(k, i1 - 1 - np.arange(lo, hi)) / ramp)
        gain[lo:hi] *= seg
    return gain


def render_span(song: Song, bar_lo: int, bar_hi: int, sample_rate: int, stereo: bool = False,
                tail_seconds: float | None = None) -> Span:
    """Render bars [bar_lo, bar_hi); sample 0 is song sample round(bar_lo * bar * sr).

    tail_seconds=None keeps every tail (notes, echoes, reverb) to the end, so consecutive spans
    overlap-add seamlessly; a number cuts the buffer that far after the last bar (clips).
    """
    sr = sample_rate
    start = int(round(song.bar_start(bar_lo) * sr))
    n_body = int(round(song.bar_start(bar_hi) * sr)) - start
    events: list[Event] = []
    placed = []
    one_shots: dict[tuple[str, int], np.ndarray] = {}  # drums and impacts: the same sample every hit
    for b in range(bar_lo, bar_hi):
        # Tonal notes: one generator and note cache per bar (oscillator phases, noise), so a bar
        # sounds the same whichever span renders it, at a fraction of seeding one per note.
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([song.seed, 8, b])))
        cache: dict[tuple[str, int, int], np.ndarray] = {}
        bar_events = song.compose_bar(b)
        events.extend(bar_events)
        for e in bar_events:
            if e.stem in TONAL or e.instrument in ("riser", "downlifter"):
                n_dur = int(e.duration * sr)
                note = cache.get((e.instrument, e.pitch, n_dur))
                if note is None:
                    patch = song.patches[e.instrument]
                    if e.stem in TONAL:  # their filter runs once over the whole stem (_stem_filter)
                        patch = dict(patch, stem_filter=True)
                    note = render_note(e.instrument, patch, e.pitch, 1.0, n_dur / sr, sr, rng)
                    cache[(e.instrument, e.pitch, n_dur)] = note
            else:
                note = one_shots.get((e.instrument, e.pitch))
                if note is None:
                    drum_rng = np.random.Generator(np.random.PCG64(
                        np.random.SeedSequence([song.seed, 9, INSTRUMENTS.index(e.instrument), e.pitch])))
                    note = render_note(e.instrument, song.patches[e.instrument], e.pitch, 1.0, 0.0, sr, drum_rng)
                    shots = song.drum_kit.get(e.instrument) if song.drum_kit else None
                    if shots:  # a recorded one-shot as loud as the synthesised one over its attack (60 ms):
                        # the mix keeps its balance where a hit is heard (a synthesised kick's long
                        # sine body would make a peak or whole-note match 3x quieter)
                        shot = shots[e.pitch % len(shots)]
                        n_att = int(0.06 * sr)
                        gain = np.sqrt(np.mean(np.square(note[:n_att])) / max(float(np.mean(np.square(shot[:n_att]))), 1e-12))
                        note = shot * np.float32(gain)
                    one_shots[(e.instrument, e.pitch)] = note
            placed.append((e, int(round(e.time * sr)) - start, note))
    if tail_seconds is None:
        notes_end = max([i + x.shape[0] for _, i, x in placed], default=n_body)
        fx_tail = song.reverb_seconds + 4 * song.delay_beats * song.beat_seconds + 0.1
        n = max(n_body, notes_end) + int(fx_tail * sr)
    else:
        n = n_body + int(tail_seconds * sr)
    stems = {s: np.zeros(n, np.float32) for s in STEMS}
    for e, i, note in placed:
        if 0 <= i < n:
            m = min(note.shape[0], n - i)
            stems[e.stem][i : i + m] += (e.velocity * song.gains[e.stem]) * note[:m]
    for stem in TONAL:
        if stem in song.stems:
            ons = np.unique(np.array([i for e, i, _ in placed if e.stem == stem], np.int64))
            if ons.shape[0]:
                stems[stem] = _stem_filter(song, stem, stems[stem], start, ons, sr)
    if song.lead_instrument == "vox" and "lead" in song.stems:
        stems["lead"] = _sing(song, stems["lead"], start, sr)
    if song.pump > 0:  # sidechain: the tonal stems duck under every kick and swell back
        # Every kick that sounds while this span's notes ring, also those of the bars after it
        # (their tails reach there): a span then ducks exactly as one long render would.
        last_bar = song.bar_at((start + n) / sr) + 1
        kicks = np.unique(np.array([int(round(e.time * sr)) - start for b in range(max(0, bar_lo - 1), last_bar + 1)
                                    for e in song.compose_bar(b) if e.stem == "kick"], np.int64))
        if kicks.shape[0]:
            gain = sidechain_gain(n, kicks, sr, song.pump, 0.6 * song.beat_seconds)
            for stem in TONAL:
                stems[stem] *= gain
    active = [s for s in STEMS if s in song.stems]
    beat = song.beat_seconds
    send = sum((song.sends[s] * stems[s] for s in song.sends if s in active), np.zeros(n, np.float32))
    echo = delay(stems["lead"] + 0.3 * stems["chords"], sr, song.delay_beats * beat, song.delay_feedback)[:n]
    echo = fade_out(echo * song.delay_send, sr, 0.2)
    wet = fade_out(reverb(send + 0.3 * echo, sr, song.reverb_seconds, song.reverb_damping, song.seed % 997)[:n], sr, 0.3)
    if stereo:
        out = np.zeros((2, n), np.float32)
        for s in active:
            gl, gr = pan_gains(song.pans[s])
            out[0] += gl * stems[s]
            out[1] += gr * stems[s]
        d = int(0.011 * sr)  # decorrelate the wash between the ears; ping-pong the echo
        out[0] += wet + echo
        out[1, d:] += wet[:-d]
        out[1, :d] += 0.0
        out[1] += np.concatenate([np.zeros(int(beat * song.delay_beats * sr / 2), np.float32), echo])[:n]
        out *= np.float32(np.sqrt(2.0))
    else:
        out = sum((stems[s] for s in active), np.zeros(n, np.float32)) + wet + echo
        out = out[None, :]
    env = _master_envelope(song, start, n, sr)
    if env is not None:
        out *= env
    out *= song.master * HEADROOM
    return Span(start, n_body, out.astype(np.float32, copy=False), stems, events)


def _clip_offset(song: Song, duration: float, rng: np.random.Generator, section: str | None) -> float:
    """Where in the piece a clip starts: a random section, often straddling a section change so
    that short clips still see builds turning into drops, fills and silences."""
    if section is not None:
        k = next(k for k in range(64) if song.section(k).name == section or k == 63)
        if song.section(k).name != section:
            raise ValueError(f"no {section!r} section in the first 64 sections of this song")
    else:
        k = int(rng.integers(0, 8))
    sec = song.section(k)
    s0 = song.bar_start(sec.start_bar)
    length = song.bar_start(sec.start_bar + sec.n_bars) - s0
    if section is None and rng.random() < 0.45:
        return max(0.0, s0 + length - float(rng.uniform(0.2, 0.8)) * duration)
    return s0 + float(rng.uniform(0.0, max(0.0, length - min(duration, length))))


def build_score(song: Song, events: list[Event], offset: float, duration: float, sr: int) -> Score:
    """The clip's `Score`: song events shifted so that 0 is the clip's first sample."""
    t1 = offset + duration
    onsets: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in STEMS}
    notes = []
    for e in events:
        t = e.time - offset
        if 0.0 <= t < duration:
            onsets[e.stem][0].append(t)
            onsets[e.stem][1].append(e.velocity)
        if e.stem in TONAL or e.stem == "fx":
            if e.time < t1 and e.time + e.duration > offset:
                notes.append(Note(e.stem, e.pitch, t, e.duration, e.velocity))
    onset_arrays = {}
    for s, (ts, vs) in onsets.items():
        order = np.argsort(ts, kind="stable")
        onset_arrays[s] = (np.asarray(ts, np.float64)[order], np.asarray(vs, np.float32)[order])
    # The beat grid on the song's own (possibly drifting) clock: beat k sounds at beat_time(k).
    bpb = song.beats_per_bar
    k = np.arange(math.floor(song.beat_at(offset)) - 1, math.ceil(song.beat_at(t1)) + 2)
    times = song.beat_time(k) - offset
    inside = (times >= 0) & (times < duration)
    beats = times[inside]
    downbeats = times[inside & (k % bpb == 0)]
    chords, sections = [], []
    b0, b1 = song.bar_at(offset), song.bar_at(t1) + 1
    for b in range(b0, b1):
        root, quality, _ = song.chord_at_bar(b)
        lo, hi = max(0.0, song.bar_start(b) - offset), min(duration, song.bar_start(b + 1) - offset)
        if chords and chords[-1].root == root and chords[-1].quality == quality and b % song.bars_per_chord:
            chords[-1].end = hi
        else:
            chords.append(Chord(lo, hi, root, quality))
    sec = song.section_at_bar(b0)
    while song.bar_start(sec.start_bar) < t1:
        sections.append(Section(max(0.0, song.bar_start(sec.start_bar) - offset),
                                min(duration, song.bar_start(sec.start_bar + sec.n_bars) - offset), sec.name, sec.energy))
        sec = song.section(sec.index + 1)
    dynamics = [(max(0.0, a - offset), min(duration, b - offset), g)
                for a, b, g in song.level_spans(offset, t1) if g < 1.0 and b > offset and a < t1]
    return Score(sample_rate=sr, duration=duration, tempo=song.tempo, swing=song.swing, key=song.key,
                 scale=song.scale, beat_times=beats, downbeat_times=downbeats, onsets=onset_arrays, notes=notes,
                 chords=chords, sections=sections, beats_per_bar=bpb, swing_unit=song.swing_unit,
                 dynamics=dynamics, offset=offset, density=song.density)


def render_clip(seed: int, duration: float, sample_rate: int = SAMPLE_RATE, stereo: bool = False,
                **overrides: object) -> Clip:
    """A clip of `duration` seconds from a random place of the piece that `seed` composes.

    The mix has a fixed headroom and goes through the soft limiter, so |audio| < 1 and quiet
    sections stay quiet (no per-clip normalisation). `clip.stems` are the dry stems (before the
    shared delay/reverb and the master level/silence envelope) at the mix's scale.

    overrides: tempo (BPM, 70..180), key (0..11), scale, swing [0, 0.5), density [0, 1],
    stems (subset of STEMS to play), section (start inside the first section of that name),
    offset (seconds into the piece), beats_per_bar (3 or 4), drift (the slow tempo drift's depth,
    a fraction of the beat period in [0, 0.1]; 0 = a steady tempo), drum_kit (recorded one-shots the
    drums play instead of their synthesis: synesthete.audio.drum_kit; the score is unchanged), groove
    (True: each section's drums play a free groove, composer._groove, instead of the seed's style).
    Same arguments -> the same bytes.
    """
    seed = check_seed(seed)
    sr = check_sample_rate(sample_rate)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    offset = overrides.pop("offset", None)
    section = overrides.pop("section", None)
    if section is not None and section not in ("intro", "build", "drop", "breakdown", "outro"):
        raise ValueError(f"section must be one of intro, build, drop, breakdown, outro; got {section!r}")
    song = make_song(seed, **overrides)
    if offset is None:
        offset = _clip_offset(song, float(duration), np.random.Generator(np.random.PCG64([seed, 9])), section)  # type: ignore[arg-type]
    elif not isinstance(offset, (int, float)) or not math.isfinite(offset) or offset < 0:
        raise ValueError(f"offset must be a non-negative number of seconds, got {offset!r}")
    offset = float(offset)
    n_out = int(round(duration * sr))
    bar_lo = song.bar_at(offset)
    bar_hi = int(math.ceil(song.beat_at(offset + duration) / song.beats_per_bar + 1e-9))
    span = render_span(song, bar_lo, bar_hi, sr, stereo, tail_seconds=0.35)
    i0 = int(round(offset * sr)) - span.start_sample
    audio = span.audio[:, i0 : i0 + n_out]
    if audio.shape[1] < n_out:
        audio = np.pad(audio, ((0, 0), (0, n_out - audio.shape[1])))
    audio = soft_limit(np.ascontiguousarray(audio, np.float32))  # peak-safe: |x| < 1, no NaN
    scale = np.float32(song.master * HEADROOM)
    stems = {s: np.ascontiguousarray(x[i0 : i0 + n_out] * scale) for s, x in span.stems.items()}
    score = build_score(song, span.events, offset, float(duration), sr)
    return Clip(audio if stereo else audio[0], score, sr, stems)
