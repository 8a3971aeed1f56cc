"""MicAugment: make clean engine audio sound like a microphone in a club (training only).

The live app hears a mic or a line feed in a room, not the engine's clean mix; these random
degradations teach the model to ignore the difference. Each one is applied with a probability:

* level: gain from -24 to +6 dB, sometimes a slow level change across the clip,
* crowd babble: noise modulated at syllable rate (3-7 Hz) in the speech band,
* room: a short synthetic impulse response (direct path, early reflections, 0.1-0.6 s tail),
* EQ tilt (+-6 dB/decade around 1 kHz) and mic colouration (2-3 resonant peaks or notches),
* band-limiting (phone/cheap mic: high-pass 80-300 Hz, low-pass 3-8 kHz),
* background noise: hiss, pink rumble, mains hum,
* lossy codec: coarse spectral quantisation in short frames, quiet bins dropped (warbly birdies),
* clipping: soft (tanh drive) or hard.

Room, EQ, colouration, band-limit and background noise share one FFT of the clip, so the whole
chain costs a few FFTs: well over 200x real time on one core at 24 kHz. Deterministic given the
`rng`; the output has the input's length, is finite and lies in [-1, 1].
"""

from __future__ import annotations

import numpy as np
import torch

from synesthete.audio.effects import _fast_len
from synesthete.constants import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

P = dict(gain=0.9, level_ramp=0.3, babble=0.25, room=0.5, tilt=0.5, colour=0.4, band=0.35, noise=0.5,
         codec=0.25, clip=0.25)


class MicAugment:
    """`MicAugment(sample_rate)(audio (S,), rng) -> (S,) float32`. `probs` overrides P's entries."""

    def __init__(self, sample_rate: int, probs: dict[str, float] | None = None) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not (
                MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE):
            raise ValueError(f"sample_rate must be an integer in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}], got {sample_rate!r}")
        unknown = set(probs or {}) - set(P)
        if unknown:
            raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; known: {', '.join(P)}")
        self.sample_rate = int(sample_rate)
        self.probs = {**P, **(probs or {})}

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"MicAugment expects mono audio of shape (S,), got shape {x.shape}")
        n = x.shape[0]
        if n == 0:
            return x.copy()
        sr = self.sample_rate
        on = {k: bool(rng.random() < p) for k, p in self.probs.items()}  # draw all flags: stable rng use
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        t = np.arange(n, dtype=np.float32) / sr
        if on["babble"]:
            x = x + self._babble(n, t, rng)
        x = self._spectral(x, rng, on)
        if on["codec"]:
            x = self._codec(x, rng)
        if on["level_ramp"]:
            g0, g1 = rng.uniform(-12.0, 3.0, 2)
            x = x * (10.0 ** ((g0 + (g1 - g0) * t / max(t[-1], 1e-6)) / 20.0)).astype(np.float32)
        if on["gain"]:
            x = x * np.float32(10.0 ** (rng.uniform(-24.0, 6.0) / 20.0))
        if on["clip"]:
            drive = np.float32(rng.uniform(1.5, 6.0))
            x = np.tanh(drive * x) / np.tanh(drive) if rng.random() < 0.6 else np.clip(x * drive, -1.0, 1.0)
        x = np.nan_to_num(x.astype(np.float32), nan=0.0)
        return np.clip(x, -1.0, 1.0).astype(np.float32)

    def _babble(self, n: int, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Many voices: noise in the speech band whose loudness moves at syllable rate."""
        env = np.zeros(n, np.float32)
        for f in rng.uniform(3.0, 7.0, 4):
            env += np.maximum(0.0, np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)))
        src = rng.random(n, dtype=np.float32) - 0.5
        c = np.cumsum(src, dtype=np.float32)  # band-pass from two moving averages (~300-3000 Hz)
        k1, k2 = max(1, self.sample_rate // 3000), max(2, self.sample_rate // 300)
        fast = (c[k1:] - c[:-k1]) / k1
        slow = (c[k2:] - c[:-k2]) / k2
        band = np.zeros(n, np.float32)
        band[k2:] = fast[k2 - k1 :] - slow
        return band * env * np.float32(rng.uniform(0.02, 0.3) * 4.0)

    def _spectral(self, x: np.ndarray, rng: np.random.Generator, on: dict[str, bool]) -> np.ndarray:
        """Room, tilt, colouration, band-limit and background noise in one FFT of the clip."""
        if not (on["room"] or on["tilt"] or on["colour"] or on["band"] or on["noise"]):
            return x
        sr, n = self.sample_rate, x.shape[0]
        ir = None
        if on["room"]:
            seconds = float(rng.uniform(0.1, 0.6))
            m = int(seconds * sr)
            tt = np.arange(m, dtype=np.float32) / sr
            ir = (rng.random(m, dtype=np.float32) - 0.5) * np.exp(-6.9 * tt / seconds) * float(rng.uniform(0.1, 0.5))
            ir[0] = 1.0
            for d in rng.uniform(0.002, 0.03, 3):
                ir[int(d * sr)] += float(rng.uniform(0.2, 0.6))
        size = _fast_len(n + (ir.shape[0] if ir is not None else 0))
        spec = torch.fft.rfft(torch.from_numpy(x), size)  # (bins,) complex64
        f = np.fft.rfftfreq(size, 1.0 / sr).astype(np.float32)
        gain = np.ones_like(f)
        lf = np.log10(np.maximum(f, 20.0) / 1000.0)
        if on["tilt"]:
            gain *= 10.0 ** (rng.uniform(-6.0, 6.0) * lf / 20.0)
        if on["colour"]:
            for _ in range(int(rng.integers(2, 4))):
                fc, db, width = rng.uniform(200.0, 0.4 * sr), rng.uniform(-9.0, 12.0), rng.uniform(0.05, 0.25)
                gain *= 10.0 ** (db * np.exp(-((lf - np.log10(fc / 1000.0)) / width) ** 2) / 20.0)
        if on["band"]:
            hp, lp = rng.uniform(80.0, 300.0), rng.uniform(3000.0, min(8000.0, 0.45 * sr))
            r_hp, r_lp = (f / hp) ** 4, (f / lp) ** 4
            gain *= r_hp / (1.0 + r_hp) / (1.0 + r_lp)
        spec = spec * torch.from_numpy(gain.astype(np.float32))
        if ir is not None:
            spec = spec * torch.fft.rfft(torch.from_numpy(ir), size) / float(np.sqrt(np.sum(ir * ir)))
        if on["noise"]:  # white noise's spectrum is white Gaussian: draw it directly, shaped
            kind = rng.integers(3)
            shape = {0: np.ones_like(f), 1: 1.0 / np.sqrt(np.maximum(f, 20.0) / 20.0),
                     2: np.exp(-((f - 50.0 * rng.integers(1, 3)) / 3.0) ** 2) * 30.0}[int(kind)]
            level = rng.uniform(0.002, 0.05) * np.sqrt(size / 2)
            re = rng.standard_normal(f.shape[0], dtype=np.float32)
            im = rng.standard_normal(f.shape[0], dtype=np.float32)
            spec = spec + torch.complex(torch.from_numpy(re * shape * level), torch.from_numpy(im * shape * level)).to(spec.dtype)
        return torch.fft.irfft(spec, size)[:n].numpy().astype(np.float32)

    def _codec(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Lossy-codec-like: per-frame magnitudes quantised coarsely in dB, quiet bins zeroed."""
        n_fft = 512 if self.sample_rate <= 32_000 else 1024
        hop = n_fft // 2
        n = x.shape[0]
        n_frames = (n + n_fft) // hop + 1
        xp = np.zeros(n_frames * hop + n_fft, np.float32)
        xp[n_fft : n_fft + n] = x
        w = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames] * w  # (F, n_fft)
        spec = torch.fft.rfft(torch.from_numpy(frames), dim=1)
        mag = spec.abs()
        step_db = float(rng.uniform(3.0, 9.0))
        db = 20.0 * torch.log10(mag + 1e-9)
        q = torch.round(db / step_db) * step_db
        floor = db.amax(dim=1, keepdim=True) - float(rng.uniform(25.0, 45.0))
        new_mag = torch.where(db < floor, torch.zeros_like(mag), 10.0 ** (q / 20.0))
        spec = spec * (new_mag / (mag + 1e-9))
        bins = spec.shape[1]
        spec[:, int(bins * rng.uniform(0.35, 0.8)) :] = 0  # codecs drop the top band
        out = torch.fft.irfft(spec, n_fft, dim=1).numpy() * w  # (F, n_fft)
        y = np.zeros((n_frames + 1) * hop, np.float32)
        y[: n_frames * hop] += out[:, :hop].reshape(-1)
        y[hop : hop + n_frames * hop] += out[:, hop:].reshape(-1)
        return y[n_fft : n_fft + n]
