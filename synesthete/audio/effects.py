"""Effects: time-varying resonant filters (STFT masks), FFT convolution reverb, tapped delay,
panning and the soft limiter.

scipy is not available and a per-sample IIR loop in Python is far too slow, so filters work in the
short-time Fourier domain: the signal is cut into sqrt-Hann frames (hop = n_fft / 2), each
frame's spectrum is multiplied by a magnitude mask for that frame's cutoff, and the frames are
overlap-added back. A cutoff that changes per frame (every ~10 ms) is a real filter sweep, and the
mask can carry a resonance peak, which is what gives acid basslines and build-up sweeps their
character. Every effect here is linear and returns the full tail, so the engine can overlap-add
rendered chunks without seams.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from synesthete.audio.oscillators import noise


def stft_size(sample_rate: int) -> int:
    """FFT size of the spectral filters: ~21 ms at any rate (47 Hz bins at 24 kHz)."""
    return 512 if sample_rate <= 32_000 else 1024


@lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    # sqrt-Hann for analysis and synthesis: their product (Hann) overlap-adds to exactly 1 at hop n/2.
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


@lru_cache(maxsize=8)
def _freqs(n_fft: int, sample_rate: int) -> np.ndarray:
    return np.fft.rfftfreq(n_fft, 1.0 / sample_rate).astype(np.float32)[None, :]  # (1, bins)


def spectral_filter(x: np.ndarray, sample_rate: int, cutoff: float | np.ndarray | Callable[[np.ndarray], np.ndarray],
                    kind: str = "lowpass", resonance: float = 0.0) -> np.ndarray:
    """Filter mono `x` (n,) with a cutoff in Hz: a constant, a per-sample (n,) array, or a function
    of sample positions (F,) returning Hz, called once per STFT frame (every ~10 ms).

    kind: "lowpass" (24 dB/oct), "highpass" (24 dB/oct) or "bandpass" (about an octave wide).
    resonance >= 0 adds a peak of (1 + resonance) at the cutoff. Returns float32 (n,).
    """
    n = x.shape[0]
    n_fft = stft_size(sample_rate)
    hop = n_fft // 2
    w = _window(n_fft)
    n_frames = (n + n_fft) // hop + 1
    xp = np.zeros(n_frames * hop + n_fft, np.float32)
    xp[n_fft : n_fft + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames] * w  # (F, n_fft)
    # torch's CPU FFT: numpy 2's float32 rfft is several times slower on batches of short frames.
    spec = torch.fft.rfft(torch.from_numpy(frames), dim=1)  # (F, bins) complex64
    centres = np.clip(np.arange(n_frames) * hop - n_fft // 2, 0, max(0, n - 1))
    if callable(cutoff):  # evaluated only at the frame centres: the cheap way to sweep
        fc = np.asarray(cutoff(centres), np.float32)[:, None]  # (F, 1)
    elif np.ndim(cutoff) == 0:
        fc = np.full((1, 1), float(cutoff), np.float32)
    else:
        fc = np.asarray(cutoff, np.float32)[centres][:, None]  # (F, 1)
    fc = np.clip(fc, 20.0, 0.49 * sample_rate)
    r = _freqs(n_fft, sample_rate) / fc  # (F or 1, bins)
    r2 = r * r
    if kind == "lowpass":
        mask = 1.0 / (1.0 + r2 * r2)
    elif kind == "highpass":
        r4 = r2 * r2
        mask = r4 / (1.0 + r4)
    elif kind == "bandpass":
        lr = np.log2(np.maximum(r, 1e-3))
        mask = np.exp(-4.0 * lr * lr)
    else:
        raise ValueError(f"unknown filter kind {kind!r}; use lowpass, highpass or bandpass")
    if resonance > 0.0:
        d = r - 1.0
        mask = mask + resonance * np.exp(-40.0 * d * d)
    spec *= torch.from_numpy(np.ascontiguousarray(mask, np.float32))
    out_frames = torch.fft.irfft(spec, n_fft, dim=1).numpy()  # (F, n_fft)
    out_frames *= w
    y = np.zeros((n_frames + 1) * hop, np.float32)
    y[: n_frames * hop] += out_frames[:, :hop].reshape(-1)  # frame f's halves land at f and f + 1 hops
    y[hop : hop + n_frames * hop] += out_frames[:, hop:].reshape(-1)
    return y[n_fft : n_fft + n]


def _fast_len(n: int) -> int:
    """Smallest 2^a * 3^b >= n (pocketfft is quick on those)."""
    best = 1 << (n - 1).bit_length()
    p3 = 1
    while p3 < best:
        p2 = p3
        while p2 < n:
            p2 *= 2
        best = min(best, p2)
        p3 *= 3
    return best


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Full linear convolution by FFT, (len(x) + len(ir) - 1,) float32."""
    m = x.shape[-1] + ir.shape[-1] - 1
    n = _fast_len(m)
    spec = torch.fft.rfft(torch.from_numpy(np.ascontiguousarray(x, np.float32)), n)
    spec *= torch.fft.rfft(torch.from_numpy(np.ascontiguousarray(ir, np.float32)), n)
    return torch.fft.irfft(spec, n)[:m].numpy()


@lru_cache(maxsize=32)
def reverb_ir(sample_rate: int, seconds: float, damping: float, seed: int) -> np.ndarray:
    """Synthetic room impulse response at `sample_rate`: a few early reflections and an
    exponentially decaying noise tail whose highs die faster (`damping` in 0..1)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = max(8, int(seconds * sample_rate))
    t = np.arange(n, dtype=np.float32) / sample_rate
    tail = noise(rng, n) * np.exp(-6.9 * t / seconds)  # -60 dB at `seconds`
    if damping > 0:  # darker late tail: blend towards a smoothed copy as time goes on
        k = max(2, int(sample_rate * 0.0005 * (1 + 6 * damping)))
        smooth = np.convolve(tail, np.ones(k, np.float32) / k, mode="same")
        mix = np.minimum(1.0, t / (0.3 * seconds)) * damping
        tail = (1 - mix) * tail + mix * smooth * np.sqrt(k)
    ir = tail * np.minimum(1.0, t / 0.004)  # no energy before the first reflection
    for delay_s, gain in zip(rng.uniform(0.004, 0.03, 4), rng.uniform(0.3, 0.7, 4)):
        ir[int(delay_s * sample_rate)] += gain
    ir /= np.sqrt(np.sum(ir * ir))
    return ir.astype(np.float32)


def reverb(x: np.ndarray, sample_rate: int, seconds: float, damping: float = 0.5, seed: int = 0) -> np.ndarray:
    """Convolution reverb (wet only), (len(x) + tail,) float32.

    The wash is computed at a quarter-ish rate (~6 kHz) and linearly interpolated back up: a
    reverb tail has little energy above 3 kHz, and this makes the FFT 4-8x cheaper.
    """
    dec = max(1, round(sample_rate / 6000))
    n = x.shape[0]
    m = -(-n // dec)
    xp = np.zeros(m * dec, np.float32)
    xp[:n] = x
    low = xp.reshape(m, dec).mean(axis=1)
    low[1:] = 0.5 * (low[1:] + low[:-1])  # second box stage: better anti-aliasing
    wet = convolve(low, reverb_ir(sample_rate // dec, round(seconds, 2), round(damping, 2), seed))
    wet = np.concatenate([wet, np.zeros(1, np.float32)])
    frac = (np.arange(dec, dtype=np.float32) / dec)[None, :]
    up = wet[:-1, None] + (wet[1:, None] - wet[:-1, None]) * frac  # (m', dec) linear interpolation
    return up.reshape(-1)


def delay(x: np.ndarray, sample_rate: int, seconds: float, feedback: float, taps: int = 4) -> np.ndarray:
    """Feedback echo as a sum of `taps` repeats (wet only), (len(x) + taps * d,) float32."""
    d = max(1, int(seconds * sample_rate))
    y = np.zeros(x.shape[0] + taps * d, np.float32)
    g = 1.0
    for k in range(1, taps + 1):
        g *= feedback
        y[k * d : k * d + x.shape[0]] += g * x
    return y


def sidechain_gain(n: int, triggers: np.ndarray, sample_rate: int, depth: float, release: float) -> np.ndarray:
    """(n,) gain of a sidechain compressor keyed by `triggers` (sorted sample positions, e.g. the
    kicks): it drops to 1 - depth at each trigger and recovers exponentially over `release` s."""
    pos = np.arange(n)
    k = np.searchsorted(triggers, pos, side="right") - 1
    dt = np.where(k >= 0, (pos - triggers[np.maximum(k, 0)]) / sample_rate, np.inf)
    return (1.0 - depth * np.exp(-dt / (release / 3.0))).astype(np.float32)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law: pan -1 (left) .. +1 (right) -> (gain_left, gain_right)."""
    a = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(a)), float(np.sin(a))


def soft_limit(x: np.ndarray, knee: float = 0.8) -> np.ndarray:
    """Identity below `knee`, tanh-compressed above it, never reaching 1 (in place, returns x)."""
    a = np.abs(x)
    over = a > knee
    if np.any(over):
        v = a[over]
        x[over] = np.sign(x[over]) * (knee + (1.0 - knee) * np.tanh((v - knee) / (1.0 - knee)))
    np.clip(x, -0.999, 0.999, out=x)  # tanh rounds to 1.0 in float32 for huge inputs
    return x
