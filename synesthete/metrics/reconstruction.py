"""Reconstruction quality against the teacher: PSNR and L1 on frames in [0, 1].

Both take any frame layout (`(T, 3, H, W)` float or `(T, H, W, 3)` uint8, numpy or torch) and
compare over every pixel, channel and frame of the clip at once (not a mean of per-frame
PSNRs), which is what the training loss sees.

    L1   = mean |pred - target|
    PSNR = 10 * log10(1 / mean (pred - target)^2)   dB; identical frames -> +inf
"""

from __future__ import annotations

import math

import numpy as np
import torch

from synesthete.metrics.motion import to_float_frames


def _pair(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    p, t = to_float_frames(pred), to_float_frames(target)  # (T, H, W, 3) each
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and target {t.shape} must have the same (T, H, W, 3) shape")
    return p, t


def l1_error(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Mean absolute error over all pixels, frames in [0, 1]."""
    p, t = _pair(pred, target)
    return float(np.abs(p.astype(np.float64) - t).mean())


def psnr(pred: np.ndarray | torch.Tensor, target: np.ndarray | torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB with peak 1.0; +inf when the frames are identical."""
    p, t = _pair(pred, target)
    mse = float(((p.astype(np.float64) - t) ** 2).mean())
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)
