"""Audio onset strength at the video frame rate, and librosa-style peak picking.

The audio side of every synchrony metric: how much "new sound" starts in each video frame, and
which frames hold an onset. The envelope follows `librosa.onset.onset_strength` (log-power mel
spectrogram, first-order positive difference, aggregated over bands) with two deliberate changes:

* the hop is the video frame hop (`sample_rate // fps`), so onset frame t and video frame t are the
  same instant and no resampling of either curve is needed;
* the analysis window of frame t ends half a hop *after* that frame's instant `(t + 1) * hop`
  (librosa centres it on the frame). Frame t is the first that may show an event in
  `(t * hop, (t + 1) * hop]`; a Hann window ending exactly at the instant barely sees an event
  near its end, so the onset would land a frame late. Measured on held-out procedural songs
  (seeds 10000-10005, 8 s each, 258 peaks): with the half-hop look-ahead 81% of onset peaks fall
  on the frame of the nearest score event and 99.6% within ±1 (without it: 39% exact, +0.6
  frames late on average).
  Metrics run offline, so the look-ahead costs nothing.

`peak_pick` is `librosa.util.peak_pick` re-implemented in numpy (same windows, same boundary
truncation, same greedy `wait`), and `onset_peaks` applies it with librosa's `onset_detect`
defaults (normalised envelope; 30 ms pre-max, 100 ms pre-avg, 100 ms + 1 frame post-avg,
delta 0.07, 30 ms wait) converted to frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torchaudio

# Analysis parameters of the onset envelope (see `onset_strength`).
N_FFT = 1024  # 42.7 ms at 24 kHz: short enough that an onset lands within a frame or two
N_MELS = 64
TOP_DB = 80.0  # librosa.power_to_db's floor below the clip's loudest bin
AMIN = 1e-10


@dataclass(frozen=True)
class PeakParams:
    """Peak-picking windows in seconds (converted to frames at the curve's fps) plus threshold.

    Defaults are librosa.onset.onset_detect's: pre_max 30 ms, post_max 0 ms (+1 frame),
    pre_avg 100 ms, post_avg 100 ms (+1 frame), wait 30 ms, delta 0.07 on a [0, 1]-normalised curve.
    """

    pre_max: float = 0.03
    post_max: float = 0.0
    pre_avg: float = 0.10
    post_avg: float = 0.10
    delta: float = 0.07
    wait: float = 0.03

    def frames(self, fps: float) -> dict[str, int | float]:
        """Window lengths in frames exactly as onset_detect converts them (floor, +1 on post)."""
        return {
            "pre_max": int(self.pre_max * fps),
            "post_max": int(self.post_max * fps) + 1,
            "pre_avg": int(self.pre_avg * fps),
            "post_avg": int(self.post_avg * fps) + 1,
            "delta": self.delta,
            "wait": int(self.wait * fps),
        }


def _frame_hop(sample_rate: int, fps: float) -> int:
    hop = int(sample_rate // fps)
    if hop < 1:
        raise ValueError(f"fps {fps} is above the sample rate {sample_rate}: a video frame must span >= 1 sample")
    return hop


def log_mel_frames(audio: np.ndarray, sample_rate: int, fps: float, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Log-power mel spectrogram, one column per video frame. Returns (T, n_mels) in dB.

    Column t is a Hann window of `n_fft` samples ending at `(t + 1) * hop + hop // 2` (zeros
    outside the clip); `T = len(audio) // hop`. dB as librosa.power_to_db(ref=1, amin=1e-10, top_db=80).
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio must be mono (S,), got shape {audio.shape}; downmix first")
    hop = _frame_hop(sample_rate, fps)
    n_frames = audio.shape[0] // hop
    if n_frames == 0:
        return np.zeros((0, n_mels), dtype=np.float32)
    ahead = hop // 2
    tail = audio[n_frames * hop : n_frames * hop + ahead]
    padded = np.concatenate([np.zeros(n_fft, np.float32), audio[: n_frames * hop], tail,
                             np.zeros(ahead - tail.size, np.float32)])
    # Window t is padded[s : s + n_fft] with s = (t + 1) * hop + ahead: audio[s - n_fft : s].
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[hop + ahead : hop * n_frames + ahead + 1 : hop]  # (T, n_fft)
    spec = np.abs(np.fft.rfft(windows * np.hanning(n_fft + 1)[:-1].astype(np.float32), axis=1)) ** 2  # (T, n_fft//2+1)
    fbank = torchaudio.functional.melscale_fbanks(
        n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate, norm="slaney", mel_scale="slaney"
    ).numpy()  # (n_freqs, n_mels)
    mel = spec @ fbank  # (T, n_mels)
    db = 10.0 * np.log10(np.maximum(mel, AMIN))
    return np.maximum(db, db.max() - TOP_DB).astype(np.float32)


def onset_strength(audio: np.ndarray, sample_rate: int, fps: float, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Onset strength per video frame: mean over mel bands of max(0, dB_t - dB_{t-1}). Returns (T,).

    The first ceil(n_fft / hop) frames are 0 (3 frames, 50 ms, at 24 kHz / 60 fps): their windows
    (or their predecessor's) still hold the zeros before the clip, and the rise out of that padding
    would read as an onset at every clip start, whatever the music does.
    """
    db = log_mel_frames(audio, sample_rate, fps, n_fft, n_mels)  # (T, n_mels)
    env = np.zeros(db.shape[0], dtype=np.float32)
    warmup = -(-n_fft // _frame_hop(sample_rate, fps))
    if db.shape[0] > warmup:
        env[warmup:] = np.maximum(0.0, db[warmup:] - db[warmup - 1 : -1]).mean(axis=1)
    return env


def normalize(curve: np.ndarray) -> np.ndarray:
    """Shift and scale to [0, 1] (onset_detect's normalize=True); a flat curve becomes all zeros."""
    curve = np.asarray(curve, dtype=np.float64)
    if curve.size == 0:
        return curve
    span = curve.max() - curve.min()
    return (curve - curve.min()) / span if span > 0 else np.zeros_like(curve)


def peak_pick(x: np.ndarray, pre_max: int, post_max: int, pre_avg: int, post_avg: int, delta: float, wait: int) -> np.ndarray:
    """Indices n where x[n] == max(x[n-pre_max : n+post_max]) and x[n] >= mean(x[n-pre_avg : n+post_avg]) + delta.

    Windows are truncated at both ends of x (librosa.util.peak_pick); entries equal to 0 are never
    peaks; scanning left to right, a peak is kept only if it is more than `wait` frames after the
    last kept one. Returns an int64 array of frame indices, ascending.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"peak_pick needs a 1-D curve, got shape {x.shape}")
    if pre_max < 0 or post_max < 1 or pre_avg < 0 or post_avg < 1 or wait < 0:
        raise ValueError("peak_pick windows: pre_max, pre_avg, wait >= 0 and post_max, post_avg >= 1 are required")
    n = x.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.arange(n)
    # Sliding max over the truncated window [n - pre_max, n + post_max): pad with -inf.
    padded = np.concatenate([np.full(pre_max, -np.inf), x, np.full(post_max - 1, -np.inf)])
    mov_max = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max).max(axis=1)  # (n,)
    # Sliding mean over the truncated window [n - pre_avg, n + post_avg) through a cumulative sum.
    csum = np.concatenate([[0.0], np.cumsum(x)])
    lo = np.clip(idx - pre_avg, 0, n)
    hi = np.clip(idx + post_avg, 0, n)
    mov_avg = (csum[hi] - csum[lo]) / (hi - lo)
    candidates = np.nonzero((x == mov_max) & (x >= mov_avg + delta) & (x != 0))[0]
    peaks: list[int] = []
    last = -np.inf
    for i in candidates:
        if i > last + wait:
            peaks.append(int(i))
            last = i
    return np.asarray(peaks, dtype=np.int64)


def pick_curve_peaks(curve: np.ndarray, fps: float, params: PeakParams = PeakParams()) -> np.ndarray:
    """Normalise a per-frame curve to [0, 1] and peak-pick it with `params` at `fps`."""
    return peak_pick(normalize(curve), **params.frames(fps))


def onset_peaks(audio: np.ndarray, sample_rate: int, fps: float, params: PeakParams = PeakParams()) -> np.ndarray:
    """Frame indices of audio onsets (onset_strength then pick_curve_peaks)."""
    return pick_curve_peaks(onset_strength(audio, sample_rate, fps), fps, params)


def times_to_frames(times: np.ndarray, fps: float, n_frames: int | None = None) -> np.ndarray:
    """Map event times (s) to the first video frame that may show them: ceil(time * fps) - 1, >= 0.

    Frame t stands for the instant (t + 1) / fps, so an event at time b is first visible in the
    frame whose instant is the first one at or after b. Events past `n_frames` are dropped.
    """
    frames = np.maximum(np.ceil(np.asarray(times, dtype=np.float64) * fps - 1e-9).astype(np.int64) - 1, 0)
    if n_frames is not None:
        frames = frames[frames < n_frames]
    return np.unique(frames)

