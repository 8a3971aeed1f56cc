"""The FFT-bars baseline: the plain spectrum analyser every media player has, as a yardstick.

If the trained model does not beat a bar graph of the spectrum on synchrony, it has learned
nothing about rhythm that a Fourier transform did not already give for free. The bars follow the
project's timing convention exactly like the model: frame t is drawn from a Hann window of
`n_fft` samples ending at `(t + 1) * hop` (zeros before the clip), so it uses audio up to that
instant only, and the smoothing (instant attack, exponential release) runs forward in time.

    bars = FFTBars(24_000, 60, height=128, width=128)
    frames = bars.render(audio)        # (T, 3, H, W) float32 in [0, 1], T = len(audio) // hop

Levels: power in `n_bars` log-spaced bands from 40 Hz to Nyquist, in dB relative to a full-scale
sine, mapped linearly from [FLOOR_DB, CEIL_DB] to bar heights [0, 1].
"""

from __future__ import annotations

import colorsys

import numpy as np
import torch

FLOOR_DB = -70.0
CEIL_DB = -10.0
RELEASE_S = 0.15  # time constant of a falling bar; rising is instant
F_LO = 40.0


class FFTBars:
    """Causal spectrum bars. `render(audio (S,)) -> (T, 3, H, W)`; `levels(audio) -> (T, n_bars)`."""

    def __init__(self, sample_rate: int, fps: int, height: int, width: int, n_bars: int = 32, n_fft: int = 1024) -> None:
        if sample_rate // fps < 1:
            raise ValueError(f"need sample_rate >= fps, got {sample_rate} Hz and {fps} fps")
        if height < 1 or width < n_bars or n_bars < 1:
            raise ValueError(f"need height >= 1 and width >= n_bars >= 1, got {height}x{width} with {n_bars} bars")
        self.sample_rate, self.fps, self.hop = sample_rate, fps, sample_rate // fps
        self.height, self.width, self.n_bars, self.n_fft = height, width, n_bars, n_fft
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # (n_fft,)
        freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
        edges = np.geomspace(F_LO, sample_rate / 2, n_bars + 1)
        # Each band averages the bins inside it; a band narrower than one bin takes its nearest bin.
        self.bands = np.zeros((freqs.size, n_bars), np.float32)  # (n_freqs, n_bars)
        for b in range(n_bars):
            inside = (freqs >= edges[b]) & (freqs < edges[b + 1])
            if not inside.any():
                inside = np.arange(freqs.size) == np.argmin(np.abs(freqs - np.sqrt(edges[b] * edges[b + 1])))
            self.bands[inside, b] = 1.0 / inside.sum()
        # A full-scale sine of amplitude 1 has peak bin magnitude sum(window) / 2: that is 0 dB.
        self.ref_power = (self.window.sum() / 2) ** 2
        self.release = float(np.exp(-1.0 / (RELEASE_S * fps)))
        self.colours = self._colours()  # (W, 3), 0 in the gaps between bars

    def _colours(self) -> np.ndarray:
        bar_of_col = np.arange(self.width) * self.n_bars // self.width  # (W,)
        bar_start = np.searchsorted(bar_of_col, np.arange(self.n_bars))
        bar_width = np.bincount(bar_of_col, minlength=self.n_bars)
        # Leave the right-most fifth of each bar dark (when bars are wider than 2 px) so they read as bars.
        in_gap = (np.arange(self.width) - bar_start[bar_of_col]) >= np.maximum(bar_width[bar_of_col] * 4 // 5, 1)
        hues = np.linspace(0.62, 0.95, self.n_bars)  # blue (bass) through magenta (treble)
        palette = np.array([colorsys.hsv_to_rgb(h, 0.8, 1.0) for h in hues], np.float32)  # (n_bars, 3)
        colours = palette[bar_of_col]
        colours[in_gap & (bar_width[bar_of_col] > 2)] = 0.0
        return colours

    def levels(self, audio: np.ndarray) -> np.ndarray:
        """Smoothed bar heights in [0, 1], (T, n_bars); row t uses audio[: (t + 1) * hop] only."""
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"audio must be mono (S,), got shape {audio.shape}")
        n_frames = audio.shape[0] // self.hop
        padded = np.concatenate([np.zeros(self.n_fft, np.float32), audio[: n_frames * self.hop]])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[self.hop : self.hop * n_frames + 1 : self.hop]
        power = np.abs(np.fft.rfft(windows * self.window, axis=1)) ** 2  # (T, n_freqs)
        db = 10.0 * np.log10(np.maximum(power @ self.bands / self.ref_power, 1e-12))  # (T, n_bars)
        raw = np.clip((db - FLOOR_DB) / (CEIL_DB - FLOOR_DB), 0.0, 1.0)
        out = np.empty_like(raw)
        held = np.zeros(self.n_bars, np.float32)
        for t in range(n_frames):  # instant attack, exponential release
            held = np.maximum(raw[t], held * self.release)
            out[t] = held
        return out.astype(np.float32)

    def render(self, audio: np.ndarray) -> torch.Tensor:
        """Frames (T, 3, H, W) float32 in [0, 1]: bars rise from the bottom, brighter as they grow."""
        lv = self.levels(audio)  # (T, n_bars)
        bar_of_col = np.arange(self.width) * self.n_bars // self.width  # (W,)
        heights = lv[:, bar_of_col]  # (T, W)
        rows_from_bottom = (self.height - np.arange(self.height))[None, :, None]  # (1, H, 1): H .. 1
        lit = rows_from_bottom <= np.rint(heights * self.height)[:, None, :]  # (T, H, W)
        shade = 0.35 + 0.65 * heights  # (T, W): a louder bar glows brighter
        frames = lit[..., None] * (shade[:, None, :, None] * self.colours[None, None])  # (T, H, W, 3)
        return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32))
