"""A streaming polyphase resampler (windowed sinc) for converting device audio to the model rate.

Sound cards run at 44.1 or 48 kHz, JACK at whatever its server says, the model hears 24 kHz.
Capture blocks arrive in arbitrary sizes, so the converter must carry state across calls:
feeding a signal in any chunking gives the same output samples as feeding it whole (tested).
It runs on the consumer thread, never in an audio callback (it allocates). Output sample k sits
at input time k * in_rate / out_rate; it is emitted once the input reaches `half` samples past
that point, so the added latency is `half / in_rate` (about 0.7 ms at 48 kHz).
"""

from __future__ import annotations

from math import gcd

import numpy as np


class StreamingResampler:
    """Resample a mono float32 stream from `in_rate` to `out_rate`, chunk by chunk."""

    def __init__(self, in_rate: int, out_rate: int, zero_crossings: int = 16, rolloff: float = 0.94) -> None:
        if int(in_rate) <= 0 or int(out_rate) <= 0:
            raise ValueError(f"sample rates must be positive, got in={in_rate} out={out_rate}")
        self.in_rate, self.out_rate = int(in_rate), int(out_rate)
        g = gcd(self.in_rate, self.out_rate)
        self._up, self._down = self.out_rate // g, self.in_rate // g  # L, M
        self.passthrough = self._up == self._down
        # Cutoff in cycles per input sample: below the lower of the two Nyquist frequencies.
        fc = 0.5 * min(1.0, self._up / self._down) * rolloff
        self.half = int(np.ceil(zero_crossings / (2.0 * fc)))  # taps on each side, input samples
        j = np.arange(-self.half + 1, self.half + 1, dtype=np.float64)  # (2*half,)
        frac = np.arange(self._up, dtype=np.float64)[:, None] / self._up  # (L, 1)
        x = j[None, :] - frac  # (L, 2*half) distance of each tap from the output instant
        window = np.kaiser(2 * self.half + 1, 8.6)  # sampled on a grid, interpolated below
        w = np.interp(np.abs(x), np.arange(self.half + 1), window[self.half :], right=0.0)
        self._table = (2 * fc * np.sinc(2 * fc * x) * w).astype(np.float32)  # (L, 2*half)
        self._taps = j.astype(np.int64)  # (2*half,)
        self.reset()

    def reset(self) -> None:
        # History starts with `half` zeros before input sample 0 (the signal was silent before).
        self._buf = np.zeros(self.half, dtype=np.float32)
        self._buf_start = -self.half  # absolute input index of _buf[0]
        self._n_in = 0  # input samples received
        self._k = 0  # next output sample index

    @property
    def latency_s(self) -> float:
        return 0.0 if self.passthrough else self.half / self.in_rate

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed `chunk` (n,) float32 at in_rate; return every output sample now computable."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if self.passthrough:
            return chunk.copy()
        self._buf = np.concatenate([self._buf, chunk])
        self._n_in += chunk.shape[0]
        up, down = self._up, self._down
        # Output k needs input index floor(k*M/L) + half <= n_in - 1.
        last_base = self._n_in - 1 - self.half
        if last_base < 0:
            return np.zeros(0, dtype=np.float32)
        k_end = (last_base * up) // down + 1  # first k whose base exceeds last_base
        if k_end <= self._k:
            return np.zeros(0, dtype=np.float32)
        k = np.arange(self._k, k_end, dtype=np.int64)  # (n_out,)
        base = (k * down) // up
        phase = (k * down) % up
        idx = base[:, None] + self._taps[None, :] - self._buf_start  # (n_out, 2*half)
        out = np.einsum("ij,ij->i", self._buf[idx], self._table[phase]).astype(np.float32)
        self._k = k_end
        # Keep only the history the next output still needs.
        next_base = (k_end * down) // up
        keep_from = next_base - self.half + 1 - self._buf_start
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._buf_start += keep_from
        return out


def resample_all(audio: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """One-shot convenience: resample a whole mono signal, flushing the filter's tail."""
    r = StreamingResampler(in_rate, out_rate)
    head = r.process(audio)
    if r.passthrough:
        return head
    tail = r.process(np.zeros(r.half + 1, dtype=np.float32))
    n_expected = int(round(len(audio) * out_rate / in_rate))
    return np.concatenate([head, tail])[:n_expected]
