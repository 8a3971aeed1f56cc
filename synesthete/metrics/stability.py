"""Temporal stability: how much the picture flickers where the music is quiet.

A visualizer may change as fast as it likes on a drop; on a quiet passage it should calm down.
Per frame t the audio level is the RMS over a window centred on the frame's instant
`(t + 1) * hop` (`QUIET_WINDOW_S` = 0.25 s wide, so the gap between two drum hits is not a
"quiet passage"), in dBFS (full scale = 1.0). Frames below `threshold_db` (default -40 dBFS) are
quiet. Over the quiet frames:

    flicker_quiet    = mean |f_t - f_{t-1}|                       (frames in [0, 1], t >= 1)
    flicker_hf_quiet = mean |f_{t+1} - 2 f_t + f_{t-1}| / 2        (1 <= t <= T-2)

The second is the high-frequency part: a steady fade or drift has a near-zero second difference,
while a frame-to-frame strobe of amplitude a scores a on both. `flicker_all` is the first figure
over every frame, for scale. No quiet frames -> the quiet figures are NaN (reported, not guessed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synesthete.metrics.motion import to_float_frames

THRESHOLD_DB = -40.0
QUIET_WINDOW_S = 0.25


@dataclass(frozen=True)
class StabilityResult:
    flicker_quiet: float
    flicker_hf_quiet: float
    n_quiet: int
    flicker_all: float
    threshold_db: float


def frame_rms_db(audio: np.ndarray, sample_rate: int, fps: float, n_frames: int, window_s: float = QUIET_WINDOW_S) -> np.ndarray:
    """Audio level (T,) in dBFS around each frame's instant, over a centred `window_s` window."""
    audio = np.asarray(audio, dtype=np.float64).ravel()
    hop = int(sample_rate // fps)
    half = max(1, int(window_s * sample_rate / 2))
    csum = np.concatenate([[0.0], np.cumsum(audio**2)])
    centre = (np.arange(n_frames) + 1) * hop
    lo = np.clip(centre - half, 0, audio.size)
    hi = np.clip(centre + half, 0, audio.size)
    mean_sq = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(np.maximum(mean_sq, 1e-12))


def flicker(
    frames: np.ndarray | torch.Tensor,
    audio: np.ndarray,
    sample_rate: int,
    fps: float,
    threshold_db: float = THRESHOLD_DB,
) -> StabilityResult:
    """Flicker figures of a clip (see module docstring). `audio` is the mono clip the frames belong to."""
    f = to_float_frames(frames)  # (T, H, W, 3)
    n = f.shape[0]
    quiet = frame_rms_db(audio, sample_rate, fps, n) < threshold_db  # (T,)
    diff1 = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3)) if n > 1 else np.zeros(0)  # (T-1,) change into t=1..T-1
    diff2 = np.abs(f[2:] - 2 * f[1:-1] + f[:-2]).mean(axis=(1, 2, 3)) / 2 if n > 2 else np.zeros(0)  # (T-2,) at t=1..T-2
    q1 = quiet[1:]
    q2 = quiet[1:-1] if n > 2 else np.zeros(0, dtype=bool)
    return StabilityResult(
        flicker_quiet=float(diff1[q1].mean()) if q1.any() else float("nan"),
        flicker_hf_quiet=float(diff2[q2].mean()) if q2.any() else float("nan"),
        n_quiet=int(quiet.sum()),
        flicker_all=float(diff1.mean()) if diff1.size else float("nan"),
        threshold_db=threshold_db,
    )
