"""Instruments: one function per voice that turns (pitch, velocity, duration) into samples.

Each instrument has a *patch*, a small dict of sound parameters drawn from a random generator
(`draw_patch`), so every seed gets its own kick, bass tone or pad colour. `synth_note` is the
public one-note entry point (the live MIDI synth uses it); the engine calls `render_note` with the
patches of the song. Notes include their release tail and start and end at exactly 0.

Adding an instrument: write `_my_voice(pitch, velocity, duration, sr, patch, rng) -> (n,) float32`,
give it a patch drawer in `_PATCHES` and list it in `_VOICES`; `INSTRUMENTS` picks it up.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from synesthete.audio import oscillators as osc
from synesthete.audio.effects import spectral_filter
from synesthete.audio.envelopes import adsr, fade_in, fade_out, length_for, percussive, ramp_curve
from synesthete.audio.theory import midi_to_hz
from synesthete.constants import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

Patch = dict[str, Any]


def _ceil_hz(sr: int, hz: float) -> float:
    return min(hz, 0.45 * sr)


# ---- drums -------------------------------------------------------------------------------------
def _kick(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    n = length_for(p["decay"], sr, -45)
    t = osc.ramp(n) / sr
    f_end = p["f_end"] * 2.0 ** ((pitch - 36) / 12.0)
    freq = f_end + (p["f_start"] - f_end) * np.exp(-t / p["sweep"])
    body = osc.sine_of_freq(freq, sr)
    if p["drive"] > 1.0:
        body = np.tanh(p["drive"] * body) / np.tanh(p["drive"])
    out = body * percussive(n, sr, p["decay"])
    k = min(n, int(0.004 * sr))
    out[:k] += p["click"] * osc.noise(rng, k) * np.linspace(1, 0, k, dtype=np.float32)
    return vel * out


def _snare(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    n = length_for(max(p["noise_decay"], p["tone_decay"]), sr, -45)
    tone = osc.triangle(osc.phase(p["tone"], n, sr)) * percussive(n, sr, p["tone_decay"])
    hiss = spectral_filter(osc.noise(rng, n), sr, _ceil_hz(sr, p["band"]), "highpass")
    return vel * (p["tone_mix"] * tone + hiss * percussive(n, sr, p["noise_decay"]))


def _clap(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    n = length_for(p["noise_decay"], sr, -45) + int(0.03 * sr)
    env = np.zeros(n, np.float32)
    gap = int(p["spread"] * sr)
    for i in range(3):  # three hand claps a few ms apart, then the room tail
        burst = percussive(int(0.012 * sr), sr, 0.003)
        env[i * gap : i * gap + burst.shape[0]] += burst
    tail = percussive(n - 3 * gap, sr, p["noise_decay"])
    env[3 * gap :] += 0.7 * tail
    body = spectral_filter(osc.noise(rng, n), sr, _ceil_hz(sr, p["band"]), "bandpass")
    return vel * 2.0 * fade_out(body * env, sr)


def _hat(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    n = length_for(p["decay"], sr, -45)
    src = osc.noise(rng, n)
    if p["metal"] > 0:  # 808-style: six square waves at inharmonic ratios
        for r in (1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523):
            f = _ceil_hz(sr, p["metal_f"] * r)
            src += p["metal"] * osc.pulse(osc.phase(f, n, sr, float(rng.random())), f, sr)
    out = spectral_filter(src, sr, _ceil_hz(sr, p["cutoff"]), "highpass")
    return vel * 0.8 * out * percussive(n, sr, p["decay"])


def _perc(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    kind = p["kind"]
    if kind in ("tom", "conga"):
        n = length_for(p["decay"], sr, -45)
        f0 = midi_to_hz(pitch)
        t = osc.ramp(n) / sr
        freq = f0 * (1.0 + p["bend"] * np.exp(-t / 0.03))
        out = osc.sine_of_freq(freq, sr) * percussive(n, sr, p["decay"])
    elif kind == "cowbell":
        n = length_for(p["decay"], sr, -45)
        out = 0.5 * (osc.pulse(osc.phase(540.0, n, sr), 540.0, sr) + osc.pulse(osc.phase(800.0, n, sr), 800.0, sr))
        out = spectral_filter(out, sr, 900.0, "bandpass") * percussive(n, sr, p["decay"])
    else:  # rim / clave: a very short pitched click
        n = length_for(p["decay"], sr, -45)
        f = _ceil_hz(sr, 1700.0 if kind == "rim" else 2500.0)
        out = osc.sine(osc.phase(f, n, sr)) * percussive(n, sr, p["decay"])
        k = min(n, int(0.002 * sr))
        out[:k] += 0.5 * osc.noise(rng, k)
    return vel * out


# ---- tonal -------------------------------------------------------------------------------------
def _tone(wave: str, f: float, n: int, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    if wave == "sine":
        return osc.sine(osc.phase(f, n, sr))
    if wave == "triangle":
        return osc.triangle(osc.phase(f, n, sr))
    if wave == "saw":
        return osc.saw(osc.phase(f, n, sr, float(rng.random())), f, sr)
    if wave == "pulse":
        return osc.pulse(osc.phase(f, n, sr, float(rng.random())), f, sr, p.get("width", 0.5))
    if wave == "supersaw":
        return osc.supersaw(f, n, sr, rng, 3, p.get("detune", 12.0))
    if wave == "fm":
        env = percussive(n, sr, p.get("index_decay", 0.2))
        index = p.get("index", 2.0) * (0.25 + env)
        return osc.fm(osc.phase(f, n, sr), osc.phase(f * p.get("ratio", 1.0), n, sr), index)
    raise ValueError(f"unknown wave {wave!r}")


def _tonal(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    """The shared subtractive/FM voice behind bass, lead, pad, pluck, keys and bell patches."""
    f = float(midi_to_hz(pitch))
    dur = max(dur, 0.01)
    n = int((dur + p["release"]) * sr) + 1
    x = _tone(p["wave"], f, n, sr, p, rng)
    if p.get("sub", 0.0) > 0:  # a sine an octave down under a bass
        x = x + p["sub"] * osc.sine(osc.phase(f / 2, n, sr))
    if p.get("cutoff") is not None and not p.get("stem_filter", False):
        # Filter envelope: the cutoff opens at note-on and falls back to `cutoff` (a pluck/acid).
        t = osc.ramp(n) / sr
        cut = p["cutoff"] * (1.0 + p["env_amt"] * np.exp(-t / p["env_decay"]))
        x = spectral_filter(x, sr, np.minimum(cut, 0.45 * sr), "lowpass", p.get("resonance", 0.0))
    if p.get("drive", 0.0) > 0:
        x = np.tanh((1.0 + 3.0 * p["drive"]) * x)
    env = adsr(n, sr, p["attack"], p["decay"], p["sustain"], p["release"], dur)
    return vel * p.get("gain", 1.0) * x * env


# Vowel formants (F1, F2, F3 in Hz) of a, e, i, o, u: the vox lead glides between two of them.
VOWELS = ((800.0, 1150.0, 2900.0), (400.0, 1700.0, 2600.0), (300.0, 2200.0, 3000.0), (450.0, 800.0, 2830.0),
          (325.0, 700.0, 2530.0))


def _vox(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    """A vocal-like lead: a saw with vibrato through three band-pass formants that glide from one
    vowel to another over the note (what a sung line looks like to a spectrogram)."""
    f = float(midi_to_hz(pitch))
    dur = max(dur, 0.01)
    n = int((dur + p["release"]) * sr) + 1
    t = osc.ramp(n) / sr
    vib = 1.0 + p["vibrato"] * np.sin(2 * np.pi * p["vibrato_hz"] * t) * np.minimum(1.0, t / 0.25)  # sets in
    x = osc.saw(osc.phase(f * vib, n, sr, float(rng.random())), f, sr)
    env = adsr(n, sr, p["attack"], p["decay"], p["sustain"], p["release"], dur)
    if p.get("stem_filter", False):  # the engine sings the whole lead stem at once (formant_filter)
        return vel * p.get("gain", 1.0) * x * env
    a, b = (int(i) for i in rng.choice(len(VOWELS), 2, replace=False))
    glide = np.minimum(1.0, osc.ramp(n) / sr / max(dur, 1e-3))

    def vowel(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = glide[np.clip(pos, 0, n - 1)]
        return np.full(g.shape, a), np.full(g.shape, b), g

    return vel * p.get("gain", 1.0) * formant_filter(x, sr, vowel) * env


def formant_filter(x: np.ndarray, sr: int, vowel: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
                   ) -> np.ndarray:
    """`x` through three band-pass formants; `vowel(sample positions)` -> (vowel index from, vowel
    index to, glide 0..1) per position: the formants glide between the two vowels' (VOWELS)."""
    table = np.asarray(VOWELS)  # (5, 3)
    y = np.zeros(x.shape[0], np.float32)
    for k, gain in enumerate((1.0, 0.6, 0.25)):
        def cut(pos: np.ndarray, k: int = k) -> np.ndarray:
            a, b, g = vowel(pos)
            return table[a, k] + (table[b, k] - table[a, k]) * g

        y += gain * spectral_filter(x, sr, cut, "bandpass", 1.5)
    return y


def _riser(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    """Noise sweep: a resonant band-pass rising over `dur` (or falling: a downlifter)."""
    n = int(dur * sr) + int(0.05 * sr)
    lo, hi = 300.0, _ceil_hz(sr, 9000.0)
    cut = ramp_curve(n, lo, hi, 2.0) if p.get("direction", 1) > 0 else ramp_curve(n, hi, lo, 0.5)
    x = spectral_filter(osc.noise(rng, n), sr, cut, "bandpass", resonance=2.0)
    amp = ramp_curve(n, 0.05, 1.0, 1.5) if p.get("direction", 1) > 0 else ramp_curve(n, 1.0, 0.0, 1.0)
    return vel * 0.7 * fade_out(x * amp, sr, 0.03)


def _impact(pitch: int, vel: float, dur: float, sr: int, p: Patch, rng: np.random.Generator) -> np.ndarray:
    """Downbeat hit: a falling sub boom plus a dark noise crash."""
    n = length_for(p["decay"], sr, -45)
    t = osc.ramp(n) / sr
    freq = 35.0 + 60.0 * np.exp(-t / 0.08)
    boom = osc.sine_of_freq(freq, sr) * percussive(n, sr, p["decay"])
    crash = spectral_filter(osc.noise(rng, n), sr, _ceil_hz(sr, 5000.0), "lowpass") * percussive(n, sr, p["decay"] * 0.6)
    return vel * (0.8 * boom + 0.5 * crash)


# ---- patches -------------------------------------------------------------------------------------
def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _tonal_patch(rng: np.random.Generator, role: str) -> Patch:
    u = lambda lo, hi: _u(rng, lo, hi)  # noqa: E731
    if role == "bass":
        wave = ["sine", "saw", "pulse", "fm", "supersaw"][int(rng.integers(5))]
        return dict(wave=wave, attack=0.003, decay=u(0.1, 0.4), sustain=u(0.5, 0.9), release=u(0.03, 0.1),
                    cutoff=None if wave == "sine" else u(150, 600), env_amt=u(0.5, 6), env_decay=u(0.04, 0.2),
                    resonance=u(0, 2.5), sub=u(0, 0.6) if wave != "sine" else 0.0, drive=u(0, 0.6),
                    ratio=float(rng.choice([0.5, 1.0, 2.0])), index=u(1, 4), index_decay=u(0.05, 0.3),
                    width=u(0.2, 0.5), detune=u(8, 25), gain=0.9)
    if role == "pad":
        wave = ["supersaw", "saw", "triangle", "pulse", "fm"][int(rng.integers(5))]
        return dict(wave=wave, attack=u(0.05, 0.6), decay=u(0.3, 1.0), sustain=u(0.6, 0.95), release=u(0.2, 0.8),
                    cutoff=u(800, 3000) if wave != "triangle" else None, env_amt=u(0, 0.5), env_decay=0.5,
                    resonance=u(0, 0.8), ratio=float(rng.choice([1.0, 2.0])), index=u(0.5, 1.5),
                    index_decay=u(0.5, 2.0), width=u(0.2, 0.5), detune=u(10, 30), gain=0.5)
    if role in ("pluck", "keys", "bell"):
        wave = {"pluck": "saw", "keys": "fm", "bell": "fm"}[role]
        return dict(wave=wave, attack=0.002, decay=u(0.08, 0.4), sustain=u(0.0, 0.3), release=u(0.1, 0.4),
                    cutoff=u(400, 1500) if role == "pluck" else None, env_amt=u(3, 10), env_decay=u(0.03, 0.15),
                    resonance=u(0, 1.5), ratio={"keys": 1.0, "bell": float(rng.choice([3.5, 1.4, 2.76]))}.get(role, 1.0),
                    index=u(1.5, 5), index_decay=u(0.05, 0.4), gain=0.7)
    # lead
    wave = ["saw", "pulse", "supersaw", "fm", "triangle"][int(rng.integers(5))]
    return dict(wave=wave, attack=u(0.003, 0.03), decay=u(0.1, 0.5), sustain=u(0.4, 0.9), release=u(0.05, 0.25),
                cutoff=u(1200, 5000) if wave in ("saw", "pulse", "supersaw") else None, env_amt=u(0, 2),
                env_decay=u(0.05, 0.3), resonance=u(0, 1.2), ratio=float(rng.choice([1.0, 2.0, 3.0])),
                index=u(0.5, 3), index_decay=u(0.1, 0.6), width=u(0.15, 0.5), detune=u(6, 20), gain=0.6)


_PATCHES: dict[str, Callable[[np.random.Generator], Patch]] = {
    "kick": lambda r: dict(f_start=_u(r, 120, 260), f_end=_u(r, 40, 62), sweep=_u(r, 0.015, 0.06),
                           decay=_u(r, 0.12, 0.45), drive=_u(r, 1, 4), click=_u(r, 0, 0.5)),
    "snare": lambda r: dict(tone=_u(r, 150, 260), tone_decay=_u(r, 0.03, 0.1), noise_decay=_u(r, 0.06, 0.2),
                            band=_u(r, 900, 3000), tone_mix=_u(r, 0.2, 0.8)),
    "clap": lambda r: dict(noise_decay=_u(r, 0.06, 0.2), spread=_u(r, 0.006, 0.012), band=_u(r, 900, 2200)),
    "hat": lambda r: dict(decay=_u(r, 0.02, 0.06), cutoff=_u(r, 6000, 10000), metal=float(r.choice([0.0, 0.3])),
                          metal_f=_u(r, 300, 420)),
    "open_hat": lambda r: dict(decay=_u(r, 0.15, 0.4), cutoff=_u(r, 6000, 9000), metal=float(r.choice([0.0, 0.3])),
                               metal_f=_u(r, 300, 420)),
    "perc": lambda r: dict(kind=str(r.choice(["tom", "conga", "cowbell", "rim", "clave"])), decay=_u(r, 0.04, 0.25),
                           bend=_u(r, 0.1, 0.8)),
    "bass": lambda r: _tonal_patch(r, "bass"),
    "pad": lambda r: _tonal_patch(r, "pad"),
    "lead": lambda r: _tonal_patch(r, "lead"),
    "pluck": lambda r: _tonal_patch(r, "pluck"),
    "keys": lambda r: _tonal_patch(r, "keys"),
    "bell": lambda r: _tonal_patch(r, "bell"),
    "vox": lambda r: dict(attack=_u(r, 0.02, 0.08), decay=_u(r, 0.1, 0.3), sustain=_u(r, 0.7, 0.95),
                          release=_u(r, 0.08, 0.25), vibrato=_u(r, 0.004, 0.012), vibrato_hz=_u(r, 4.5, 6.5),
                          gain=0.8),
    "riser": lambda r: dict(direction=1),
    "downlifter": lambda r: dict(direction=-1),
    "impact": lambda r: dict(decay=_u(r, 0.3, 0.9)),
}
_VOICES = {"kick": _kick, "snare": _snare, "clap": _clap, "hat": _hat, "open_hat": _hat, "perc": _perc,
           "bass": _tonal, "pad": _tonal, "lead": _tonal, "pluck": _tonal, "keys": _tonal, "bell": _tonal,
           "vox": _vox, "riser": _riser, "downlifter": _riser, "impact": _impact}
INSTRUMENTS: tuple[str, ...] = tuple(_VOICES)


def _check_instrument(name: str) -> None:
    if name not in _VOICES:
        raise ValueError(f"unknown instrument {name!r}; known instruments: {', '.join(INSTRUMENTS)}")


def draw_patch(instrument: str, rng: np.random.Generator) -> Patch:
    _check_instrument(instrument)
    return _PATCHES[instrument](rng)


def render_note(instrument: str, patch: Patch, pitch: int, velocity: float, duration: float, sample_rate: int,
                rng: np.random.Generator) -> np.ndarray:
    """One note with a given patch, float32 (n,) including its release tail."""
    out = _VOICES[instrument](int(pitch), float(velocity), float(duration), int(sample_rate), patch, rng)
    return fade_in(np.asarray(out, dtype=np.float32), sample_rate, 0.0005)


def synth_note(instrument: str, pitch: int, velocity: float, duration: float, sample_rate: int,
               seed: int = 0) -> np.ndarray:
    """One note of a named instrument, float32 (n,), release tail included; deterministic in `seed`
    (which also picks the patch: seed 0 always gives the same kick, bass, pad...)."""
    _check_instrument(instrument)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not (
            MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE):
        raise ValueError(f"sample_rate must be an integer in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}], got {sample_rate!r}")
    if not 0 <= pitch <= 127:
        raise ValueError(f"pitch must be a MIDI note number in [0, 127], got {pitch!r}")
    if not 0.0 <= velocity <= 1.0:
        raise ValueError(f"velocity must be in [0, 1], got {velocity!r}")
    if not (np.isfinite(duration) and 0.0 < duration <= 60.0):
        raise ValueError(f"duration must be in (0, 60] seconds, got {duration!r}")
    rng = np.random.Generator(np.random.PCG64(seed))
    patch = draw_patch(instrument, rng)
    out = render_note(instrument, patch, pitch, velocity, duration, sample_rate, rng)
    return np.clip(out, -1.0, 1.0)
