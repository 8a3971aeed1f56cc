"""Amplitude envelopes: ADSR and percussive decays, built piecewise over whole notes at once.

Every envelope starts at 0 (a short attack, never a jump) and ends exactly at 0, so a note can be
added anywhere into a buffer without a click: the engine relies on that to overlap-add notes and
whole streamed chunks.
"""

from __future__ import annotations

import numpy as np

from synesthete.audio.oscillators import ramp

# Shortest attack anything gets: 1 ms is inaudible as a fade-in but removes the step click.
MIN_ATTACK = 0.001


def adsr(n: int, sample_rate: int, attack: float, decay: float, sustain: float, release: float,
         gate: float) -> np.ndarray:
    """ADSR over `n` samples, (n,) float32. `gate` is the note length in seconds (key held); the
    release is an exponential fall from the level at the gate time that reaches 0 at sample n."""
    sr = float(sample_rate)
    na = max(1, int(max(attack, MIN_ATTACK) * sr))
    ng = max(1, min(n, int(gate * sr)))
    env = np.empty(n, np.float32)
    t = ramp(n)
    env[: min(na, n)] = t[: min(na, n)] / na
    if n > na:
        d = t[: n - na] * (1.0 / (max(decay, 1e-4) * sr))
        env[na:] = sustain + (1.0 - sustain) * np.exp(-d)
    if ng < n:
        level = float(env[ng - 1])
        nr = n - ng
        r = t[:nr] * (1.0 / (max(release, 1e-4) * sr / 4.0))  # ~ -35 dB at the release time
        env[ng:] = level * np.exp(-r) * (1.0 - t[:nr] / nr)
    else:
        fade_out(env, sample_rate)
    return env


def percussive(n: int, sample_rate: int, tau: float, attack: float = MIN_ATTACK) -> np.ndarray:
    """Short attack then exp(-t / tau), forced to 0 at the end, (n,) float32."""
    sr = float(sample_rate)
    na = max(1, int(attack * sr))
    t = ramp(n)
    env = np.exp(t * (-1.0 / (max(tau, 1e-4) * sr))).astype(np.float32)
    k = min(na, n)
    env[:k] *= t[:k] / na
    fade_out(env, sample_rate)
    return env


def length_for(tau: float, sample_rate: int, floor_db: float = -60.0) -> int:
    """Samples for an exp(-t/tau) decay to fall to `floor_db`."""
    return max(16, int(tau * (-floor_db / 8.686) * sample_rate))


def fade_out(x: np.ndarray, sample_rate: int, seconds: float = 0.004) -> np.ndarray:
    """Linear fade over the last few ms, in place, so the buffer ends at exactly 0."""
    k = min(x.shape[-1], max(2, int(seconds * sample_rate)))
    x[..., -k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
    return x


def fade_in(x: np.ndarray, sample_rate: int, seconds: float = 0.001) -> np.ndarray:
    """Linear fade over the first ms, in place, so the buffer starts at exactly 0."""
    k = min(x.shape[-1], max(2, int(seconds * sample_rate)))
    x[..., :k] *= np.linspace(0.0, 1.0, k, dtype=np.float32)
    return x


def ramp_curve(n: int, start: float, end: float, shape: float = 1.0) -> np.ndarray:
    """A rise/fall from `start` to `end` over n samples; shape > 1 bends it late (risers)."""
    u = ramp(n) / max(1, n - 1)
    return (start + (end - start) * u**shape).astype(np.float32)
